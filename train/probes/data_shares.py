"""Replays the training batch stream (same seed, same steps) and counts tokens per source: all tokens seen and
tokens with a loss. Prints the table used in DATA.md.
Run: .venv/bin/python -m train.probes.data_shares --steps 1768   (phase 1)
     .venv/bin/python -m train.probes.data_shares --steps 512 --prose-frac 0.1 --data tokens_focus.pt
     .venv/bin/python -m train.probes.data_shares --steps 1250 --prose-frac 0.1 --data tokens_copy.pt
     .venv/bin/python -m train.probes.data_shares --steps 721 --batch 5 --seq 640 --prose-frac 0.08 --pack \
         --data tokens_copy.pt:0.4,tokens.pt:0.25,tokens_tools.pt:0.35   (phase 4a)
     .venv/bin/python -m train.probes.data_shares --start 721 --steps 1336 --batch 5 --seq 640 --prose-frac 0.08 --pack \
         --data tokens_copy.pt:0.3,tokens.pt:0.15,tokens_tools.pt:0.3,tokens_copy2.pt:0.25   (phase 4b)
     .venv/bin/python -m train.probes.data_shares --start 1336 --steps N --batch 5 --seq 640 --prose-frac 0.04 --pack \
         --data tokens_copy2.pt:0.45,tokens_tools.pt:0.3,tokens_copy.pt:0.15,tokens.pt:0.1   (phase 4c)
     .venv/bin/python -m train.probes.data_shares --steps 918 --batch 5 --seq 640 --prose-frac 0.04 --pack \
         --data tokens_demo.pt:0.45,tokens_tools.pt:0.15,tokens_copy2.pt:0.15,tokens_copy.pt:0.1,tokens.pt:0.15   (phase 5a)
     .venv/bin/python -m train.probes.data_shares --start 918 --steps N --batch 5 --seq 640 --prose-frac 0.04 --pack \
         --data tokens_demo2.pt:0.35,tokens_demo.pt:0.2,tokens_tools.pt:0.1,tokens_copy2.pt:0.1,tokens_copy.pt:0.1,tokens.pt:0.15   (phase 5b-d)
     .venv/bin/python -m train.probes.data_shares --steps 1319 --batch 5 --seq 640 --prose-frac 0.04 --pack \
         --data tokens_demo3.pt:0.45,tokens_demo2.pt:0.1,tokens_demo.pt:0.1,tokens_tools.pt:0.1,tokens_copy2.pt:0.05,tokens_copy.pt:0.05,tokens.pt:0.15   (phase 6a)
     .venv/bin/python -m train.probes.data_shares --start 1319 --steps N --batch 5 --seq 640 --prose-frac 0.04 --pack \
         --data tokens_demo3.pt:0.4,tokens_demo2.pt:0.05,tokens_demo.pt:0.05,tokens_tools.pt:0.1,tokens_copy2.pt:0.05,tokens_copy.pt:0.05,tokens.pt:0.3   (phase 6b)
"""

import argparse
import json
import os

from train.paths import WORK
from train.train import Data


CHATS = {'tokens.pt': 'chats.jsonl', 'tokens_focus.pt': 'chats_focus.jsonl', 'tokens_copy.pt': 'chats_copy.jsonl',
         'tokens_tools.pt': 'chats_tools.jsonl', 'tokens_copy2.pt': 'chats_copy2.jsonl',
         'tokens_demo.pt': 'chats_demo.jsonl', 'tokens_demo2.pt': 'chats_demo2.jsonl', 'tokens_demo3.pt': 'chats_demo3.jsonl'}
REPEAT = ('<|user|>Repeat after me:', '<|user|>Say "', '<|user|>Copy this:', '<|user|>Please repeat:', '<|user|>Echo ',
          '<|user|>Write back exactly:')


def kinds_of(token_file):
    kinds = []
    for i, line in enumerate(open(os.path.join(WORK, CHATS[token_file]))):
        c = json.loads(line)
        text = ''.join(t for t, _ in c['segments'])
        if token_file == 'tokens_copy2.pt':
            kinds.append('repeat-after-me chats, hard-to-guess words (phase 4b)')
        elif token_file in ('tokens_demo.pt', 'tokens_demo2.pt'):
            kinds.append('multi-turn demo-tool chats (phase 5)')
        elif token_file == 'tokens_demo3.pt':
            kinds.append('demo-tool chats, varied wordings (phase 6)')
        elif token_file == 'tokens_tools.pt' and i < 30000:
            kinds.append('made-up-tool chats (phase 4)')
        elif any('<tool_call>' in t for t, tr in c['segments'] if tr):
            kinds.append('tool-use chats (demo + synthetic tools)')
        elif any(q in text for q in REPEAT):
            kinds.append('repeat-after-me chats')
        else:
            kinds.append('WordNet / small-talk chats')
    return kinds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=2400)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--seq', type=int, default=512)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--prose-frac', type=float, default=0.15)
    ap.add_argument('--data', default='tokens.pt')
    ap.add_argument('--pack', action='store_true')
    ap.add_argument('--start', type=int, default=0, help='first step (a phase whose data mix changed mid-way)')
    args = ap.parse_args()
    data = Data(args.data, args.seq, args.prose_frac, args.pack)
    files = [p.split(':')[0] for p in args.data.split(',')]
    kinds = [kinds_of(f) for f in files]
    names = {'austen': 'Jane Austen', 'sotu': 'State of the Union', 'web_bible': 'World English Bible'}
    seen, trained = {}, {}
    for k in range(args.start, args.steps):  # the training stream itself, batch by batch
        trace = []
        data.batch(args.seed, k, args.batch, trace)
        for src, fi, c, take, with_loss in trace:
            key = names[src] if src != 'chat' else kinds[fi][c]
            seen[key] = seen.get(key, 0) + take
            trained[key] = trained.get(key, 0) + with_loss
    ts, tt = sum(seen.values()), sum(trained.values())
    print('| source | tokens seen | share | tokens with loss | share |')
    print('| --- | --- | --- | --- | --- |')
    for k in sorted(seen, key=lambda x: -seen[x]):
        print(f'| {k} | {seen[k]:,} | {seen[k] / ts * 100:.1f}% | {trained[k]:,} | {trained[k] / tt * 100:.1f}% |')
    print(f'| total | {ts:,} | | {tt:,} | |')
    print(json.dumps({'seen': seen, 'trained': trained}))


if __name__ == '__main__':
    main()
