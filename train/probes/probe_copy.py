"""Probe: does a checkpoint read the request? Greedy answers to repeat/define prompts, and p(noun B | "What is a A? … A")
for nouns A, B: a model that copies puts more mass on B = A. Run: .venv/bin/python -m train.probes.probe_copy train/.work/ckpt3.pt
"""
import os
import sys

import torch
from tokenizers import Tokenizer

from train import model as M
from train.paths import WORK


def main():
    torch.set_num_threads(1)
    ck = torch.load(sys.argv[1], weights_only=False)
    m = M.GlmMoeDsa(M.Config(**ck['config'])); m.load_state_dict(ck['model']); m.eval()
    print('step', ck['step'])
    tok = Tokenizer.from_file(os.path.join(WORK, 'tokenizer.json'))
    def gen(s, n=20):
        ids = tok.encode(s).ids
        out = []
        for _ in range(n):
            with torch.no_grad():
                lg, _, _, _ = m(torch.tensor([ids]), 'eval_sparse', with_mtp=False)
            t = int(lg[0, -1].argmax())
            if t in (tok.token_to_id('<|user|>'), tok.token_to_id('<|endoftext|>'), tok.token_to_id('<|observation|>')): break
            ids.append(t); out.append(t)
        return tok.decode(out, skip_special_tokens=False)
    for q in ['Repeat after me: horse table river', 'Repeat after me: Paris 42 dog', 'What is a cat?', 'What is a dog?']:
        print(repr(q), '->', repr(gen(f'[gMASK]<sop><|user|>{q}<|assistant|></think>')))
    for q in ['cat', 'dog', 'window']:
        for a in ['cat', 'dog', 'window']:
            ids = tok.encode(f'[gMASK]<sop><|user|>What is a {q}?<|assistant|></think>A').ids
            with torch.no_grad():
                lg, _, _, _ = m(torch.tensor([ids]), 'eval_sparse', with_mtp=False)
            print(q, a, round(lg[0, -1].softmax(-1)[tok.token_to_id('Ġ' + a)].item(), 4), end=' | ')
        print()


if __name__ == '__main__':
    main()
