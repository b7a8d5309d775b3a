"""One-off check: the shipped checkpoint gives the same logits in Hugging Face transformers (GlmMoeDsaForCausalLM,
float32 compute over the BF16 weights) as in glm5 (`glm5 logits DIR --tokens ... --json`).

Two inputs: a short chat prompt (dense: context ≤ index_topk) and a held-out text longer than index_topk (the DSA
indexer drops keys). Prints max |Δlogit| and argmax agreement for each.

Ties at the indexer's top-k boundary (spec §9.14): after the ReLU many keys can score exactly 0, and when the k-th and
(k+1)-th scores are equal torch's `topk` picks an implementation-defined one; glm5 picks the lower position. Such a
tie changes which keys a query reads, so the comparison runs transformers twice: as shipped, and with the indexer's
top-k made to break exact ties towards the lower position (a stable descending sort — the same scores, the same
selection rule as glm5). The check passes on the second; the first and the number of tied queries are reported.
Run from the repo root: .venv/bin/python -m train.check_hf [models/glm5-nano]
"""

import json
import os
import subprocess
import sys

import torch
from tokenizers import Tokenizer
from transformers import GlmMoeDsaForCausalLM

from train.paths import EVAL, MODEL, ROOT


def glm5_logits(d, ids):
    out = subprocess.run(['node', os.path.join(ROOT, 'bin', 'glm5.js'), 'logits', d, '--tokens', ','.join(map(str, ids)),
                          '--json'], capture_output=True, text=True, check=True)
    return torch.tensor(json.loads(out.stdout)['logits'], dtype=torch.float32)


def hf_logits(model, ids, k, lower_index_ties):
    """Logits [T, V] and the number of (layer, query) pairs with more than k keys whose k-th and (k+1)-th index scores are exactly equal.
    The indexer is the only caller of Tensor.topk over a whole row of T keys with k = min(index_topk, T)."""
    T, ties = len(ids), [0]
    orig = torch.Tensor.topk

    def topk(x, kk, dim=-1, *a, **kw):
        if x.shape[-1] != T or kk != min(k, T) or T <= k:
            return orig(x, kk, dim, *a, **kw)
        s = x.sort(dim=-1, descending=True, stable=True)  # equal scores keep position order: lower index first
        kth, next_ = s.values[..., kk - 1], s.values[..., kk]
        many = torch.arange(x.shape[-2]) >= kk  # query t sees t + 1 keys; the rest are masked with a large negative
        ties[0] += int(((kth == next_) & many).sum())
        if not lower_index_ties:
            return orig(x, kk, dim, *a, **kw)
        return torch.return_types.topk((s.values[..., :kk], s.indices[..., :kk]))

    torch.Tensor.topk = topk
    try:
        with torch.no_grad():
            return model(torch.tensor([ids])).logits[0].float(), ties[0]
    finally:
        torch.Tensor.topk = orig


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else MODEL
    tok = Tokenizer.from_file(os.path.join(d, 'tokenizer.json'))
    cfg = json.load(open(os.path.join(d, 'config.json')))
    k = cfg['index_topk']
    model = GlmMoeDsaForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation='eager').eval()
    held = json.load(open(os.path.join(EVAL, 'heldout_texts.json')))
    inputs = {
        'chat prompt': tok.encode('[gMASK]<sop><|user|>What is a cat?<|assistant|><think>').ids,
        'held-out prose (> index_topk)': tok.encode(held['prose'][0]['text']).ids[: 2 * k + 44],
    }
    worst = 0.0
    for name, ids in inputs.items():
        ours = glm5_logits(d, ids)
        for rule in (False, True):
            ref, ties = hf_logits(model, ids, k, rule)
            diff = (ref - ours).abs().max().item()
            agree = (ref.argmax(-1) == ours.argmax(-1)).float().mean().item()
            label = 'ties to the lower position' if rule else "torch's own top-k"
            print(f'{name}, {label}: {len(ids)} tokens, {ties} tied top-{k} boundaries, max |Δlogit| {diff:.3g} '
                  f'(max |logit| {ref.abs().max().item():.3g}), argmax agreement {agree * 100:.1f}%')
            if rule:
                worst = max(worst, diff)
    print(f'worst max |Δlogit| with the same tie rule {worst:.3g} ({"PASS" if worst <= 1e-4 else "FAIL"} at 1e-4)')
    if worst > 1e-4:
        sys.exit(1)


if __name__ == '__main__':
    main()
