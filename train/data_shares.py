"""Replays the training batch stream (same seed, same steps) and counts tokens per source: all tokens seen and
tokens with a loss. Prints the table used in DATA.md.
Run: .venv/bin/python train/data_shares.py --steps 1768   (phase 1)
     .venv/bin/python train/data_shares.py --steps 512 --prose-frac 0.1 --data tokens_focus.pt --chats chats_focus.jsonl
     .venv/bin/python train/data_shares.py --steps 1300 --prose-frac 0.1 --data tokens_copy.pt --chats chats_copy.jsonl
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from train import Data, WORK  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=2400)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--seq', type=int, default=512)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--prose-frac', type=float, default=0.15)
    ap.add_argument('--data', default='tokens.pt')
    ap.add_argument('--chats', default='chats.jsonl')
    args = ap.parse_args()
    data = Data(os.path.join(WORK, args.data), args.seq, args.prose_frac)
    kinds = []
    for line in open(os.path.join(WORK, args.chats)):
        c = json.loads(line)
        text = ''.join(t for t, _ in c['segments'])
        if any('<tool_call>' in t for t, tr in c['segments'] if tr):
            kinds.append('tool-use chats')
        elif any(q in text for q in ('<|user|>Repeat after me:', '<|user|>Say "', '<|user|>Copy this:', '<|user|>Please repeat:', '<|user|>Echo ', '<|user|>Write back exactly:')):
            kinds.append('repeat-after-me chats')
        else:
            kinds.append('WordNet / small-talk chats')
    seen, trained = {}, {}
    names = list(data.prose)
    L = args.seq + 1
    for k in range(args.steps):  # mirrors Data.batch draw by draw
        rng = np.random.default_rng([args.seed, k])
        for _ in range(args.batch):
            if rng.random() < data.prose_frac:
                src = names[rng.choice(len(names), p=[data.prose_w[n] for n in names])]
                rng.integers(0, len(data.prose[src]) - L)
                seen[src] = seen.get(src, 0) + L
                trained[src] = trained.get(src, 0) + L
            else:
                n = 0
                while n < L:
                    c = int(rng.integers(0, len(data.chat_off) - 1))
                    a, e = data.chat_off[c], data.chat_off[c + 1]
                    take = min(e - a, L - n)
                    seen[kinds[c]] = seen.get(kinds[c], 0) + take
                    trained[kinds[c]] = trained.get(kinds[c], 0) + int(data.chat_mask[a:a + take].sum())
                    n += take
    ts, tt = sum(seen.values()), sum(trained.values())
    print('| source | tokens seen | share | tokens with loss | share |')
    print('| --- | --- | --- | --- | --- |')
    for k in sorted(seen, key=lambda x: -seen[x]):
        print(f'| {k} | {seen[k]:,} | {seen[k] / ts * 100:.1f}% | {trained[k]:,} | {trained[k] / tt * 100:.1f}% |')
    print(f'| total | {ts:,} | | {tt:,} | |')


if __name__ == '__main__':
    main()
