"""One-off check: the shipped checkpoint gives the same logits in Hugging Face transformers (GlmMoeDsaForCausalLM,
float32 compute over the BF16 weights) as in glm5 (`glm5 logits DIR --tokens ... --json`).

Two inputs: a short chat prompt (dense: context ≤ index_topk) and a held-out text longer than index_topk (the DSA
indexer drops keys). Prints max |Δlogit| and argmax agreement for each.
Run from the repo root: .venv/bin/python train/check_hf.py [models/glm5-nano]
"""

import json
import os
import subprocess
import sys

import torch
from tokenizers import Tokenizer
from transformers import GlmMoeDsaForCausalLM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def glm5_logits(d, ids):
    out = subprocess.run(['node', os.path.join(ROOT, 'bin', 'glm5.js'), 'logits', d, '--tokens', ','.join(map(str, ids)),
                          '--json'], capture_output=True, text=True, check=True)
    return torch.tensor(json.loads(out.stdout)['logits'], dtype=torch.float32)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'models', 'glm5-nano')
    tok = Tokenizer.from_file(os.path.join(d, 'tokenizer.json'))
    cfg = json.load(open(os.path.join(d, 'config.json')))
    model = GlmMoeDsaForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation='eager').eval()
    held = json.load(open(os.path.join(ROOT, 'eval', 'heldout_texts.json')))
    inputs = {
        'chat prompt': tok.encode('[gMASK]<sop><|user|>What is a cat?<|assistant|><think>').ids,
        'held-out prose (> index_topk)': tok.encode(held['prose'][0]['text']).ids[: 2 * cfg['index_topk'] + 44],
    }
    worst = 0.0
    for name, ids in inputs.items():
        with torch.no_grad():
            ref = model(torch.tensor([ids])).logits[0].float()
        ours = glm5_logits(d, ids)
        diff = (ref - ours).abs().max().item()
        agree = (ref.argmax(-1) == ours.argmax(-1)).float().mean().item()
        worst = max(worst, diff)
        print(f'{name}: {len(ids)} tokens, max |Δlogit| {diff:.3g} (max |logit| {ref.abs().max().item():.3g}), '
              f'argmax agreement {agree * 100:.1f}%')
    print(f'worst max |Δlogit| {worst:.3g} ({"PASS" if worst <= 1e-4 else "FAIL"} at 1e-4)')


if __name__ == '__main__':
    main()
