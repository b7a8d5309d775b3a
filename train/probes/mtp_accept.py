"""MTP draft acceptance of a training checkpoint, as greedy speculative decoding would see it.

For held-out prompts (eval/heldout_texts.json chats, eval/tool_requests.json requests, prose openings), the main model
greedily continues each prompt; then, at every generated position i, the MTP layer drafts recursively:
step 1 pairs the final-normed hidden h_i with token i+1 and drafts token i+2; step k feeds the MTP layer's own output
hidden back with the token drafted at step k-1 (vLLM's recursion). Acceptance at draft position k = share of drafts
equal to the main model's greedy token, among chains whose first k-1 drafts were accepted.
Step 1 is exact. Steps ≥ 2 are run as one pass over the whole sequence, so their rows attend to other step-k rows
instead of the step-1 cache an engine would hold: an approximation, stated in docs/default-model.md.

Run: .venv/bin/python -m train.probes.mtp_accept [--ckpt train/.work/ckpt.pt] [--depth 3]
"""

import argparse
import json
import os

import torch
from tokenizers import Tokenizer

from train.data.render import render, plain
from train.model import Config, GlmMoeDsa, rope_tables
from train.paths import EVAL, WORK


def prompts(tok):
    held = json.load(open(os.path.join(EVAL, 'heldout_texts.json')))
    reqs = json.load(open(os.path.join(EVAL, 'tool_requests.json')))
    out = []
    for c in held['chats'][:8]:
        text = c['text']
        cut = text.index('<|assistant|>') + len('<|assistant|>')
        out.append(text[:cut] + ('<think>' if '<think>' in text else '</think>'))
    for r in reqs[::15]:
        out.append(plain(render(r['messages'], r['tools'], r['thinking'], generation_prompt=True)))
    for p in held['prose'][:4]:
        out.append(p['text'][:300])
    return [tok.encode(p).ids for p in out]


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', default=os.path.join(WORK, 'ckpt.pt'))
    ap.add_argument('--depth', type=int, default=3)
    ap.add_argument('--new', type=int, default=48)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(args.ckpt, weights_only=False)
    model = GlmMoeDsa(Config(**ck['config']))
    model.load_state_dict(ck['model'])
    model.eval()
    tok = Tokenizer.from_file(os.path.join(WORK, 'tokenizer.json'))
    stops = {tok.token_to_id(t) for t in ('<|endoftext|>', '<|user|>', '<|observation|>')}
    acc = [[0, 0] for _ in range(args.depth)]
    m = model.mtp[0]
    for ids in prompts(tok):
        n0 = len(ids)
        for _ in range(args.new):  # greedy continuation by the main model
            logits, _, _, _ = model(torch.tensor([ids]), 'eval_sparse', with_mtp=False)
            nxt = int(logits[0, -1].argmax())
            ids.append(nxt)
            if nxt in stops:
                break
        x = torch.tensor([ids])
        T = x.shape[1]
        hn, _, _ = model.hidden(x, 'eval_sparse', with_mtp=False)
        cos, sin = rope_tables(model.cfg, T)
        alive = torch.ones(T, dtype=torch.bool)
        h = hn[:, :-1]  # step 1: row i pairs h_i with token i+1, drafts token i+2
        e_ids = x[:, 1:]
        for k in range(args.depth):
            n = h.shape[1]
            y, _ = m.step(model.embed_tokens(e_ids), h, cos[k:k + n], sin[k:k + n], 'eval_sparse')
            draft = model.lm_head(m.shared_head.norm(y))[0].argmax(-1)  # [n], row i drafts token i+2+k
            for i in range(max(n0 - 1, 0), n):
                target = i + 2 + k
                if target >= T or not alive[i]:
                    continue
                ok = bool(draft[i] == x[0, target])
                acc[k][0] += ok
                acc[k][1] += 1
                alive[i] = ok
            # step k+1 at position i+1+k: the MTP output hidden and the token just drafted
            h, e_ids = y[:, :-1], draft[:-1].unsqueeze(0)
    res = {f'draft_{k + 1}': {'accepted': a, 'tried': n, 'rate': a / max(n, 1)} for k, (a, n) in enumerate(acc)}
    print(json.dumps(res, indent=1))
    json.dump(res, open(os.path.join(WORK, 'mtp_accept.json'), 'w'), indent=1)


if __name__ == '__main__':
    main()
