"""Tokenizes train/.work/{prose,chats}.jsonl with the trained tokenizer into train/.work/tokens.pt and writes
train/.work/data_stats.json (token counts per source, for DATA.md).

Chat segments are encoded one by one (every segment boundary sits next to an added token, so this equals encoding
the whole rendered string) to carry the trained/context flag per token.
Run: .venv/bin/python -m train.tokenize_data [CHATS.jsonl TOKENS.pt]   (default chats.jsonl tokens.pt, in train/.work)
"""

import json
import os
import sys

import numpy as np
import torch
from tokenizers import Tokenizer

from train.paths import WORK

PROSE_WEIGHTS = {'austen': 0.4, 'web_bible': 0.25, 'sotu': 0.35}


def main():
    chats_in = sys.argv[1] if len(sys.argv) > 1 else 'chats.jsonl'
    out_name = sys.argv[2] if len(sys.argv) > 2 else 'tokens.pt'
    tok = Tokenizer.from_file(os.path.join(WORK, 'tokenizer.json'))
    eot = tok.token_to_id('<|endoftext|>')
    stats = {}
    prose = {}
    for line in open(os.path.join(WORK, 'prose.jsonl')):
        d = json.loads(line)
        enc = tok.encode_batch([p + '\n' for p in d['paras']])
        ids = [i for e in enc for i in e.ids] + [eot]
        prose.setdefault(d['src'], []).extend(ids)
    for k, v in prose.items():
        stats[k] = len(v)
        prose[k] = torch.tensor(np.array(v, dtype=np.int16))

    chat_ids, chat_mask, off = [], [], [0]
    n_by_kind = {}
    chats = [json.loads(line) for line in open(os.path.join(WORK, chats_in))]
    flat = [s for c in chats for s in c['segments']]
    enc = tok.encode_batch([t for t, _ in flat])
    k = 0
    for c in chats:
        n = 0
        for text, trained in c['segments']:
            ids = enc[k].ids
            k += 1
            chat_ids.extend(ids)
            chat_mask.extend([1 if trained else 0] * len(ids))
            n += len(ids)
        off.append(off[-1] + n)
        kind = 'tool_chats' if any('<tool_call>' in t for t, tr in c['segments'] if tr) else 'other_chats'
        n_by_kind[kind] = n_by_kind.get(kind, 0) + n
    stats.update(n_by_kind)
    stats['chat_trained_tokens'] = int(sum(chat_mask))
    torch.save({'prose': prose, 'prose_weights': PROSE_WEIGHTS,
                'chat_ids': torch.tensor(np.array(chat_ids, dtype=np.int16)),
                'chat_mask': torch.tensor(np.array(chat_mask, dtype=np.uint8)),
                'chat_off': torch.tensor(np.array(off, dtype=np.int64))}, os.path.join(WORK, out_name))
    json.dump(stats, open(os.path.join(WORK, out_name.replace('.pt', '_stats.json')), 'w'), indent=1)
    print(json.dumps(stats))


if __name__ == '__main__':
    main()
