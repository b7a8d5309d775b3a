"""Copy-task check of the architecture (docs/default-model.md): a fresh model (vocab 512) learns to repeat 16 random
tokens; prints the loss on the repeated half every 50 steps. Run: .venv/bin/python -m train.probes.copy_task
"""
import time

import torch
import torch.nn.functional as F

from train.model import Config, GlmMoeDsa


def main():
    torch.set_num_threads(1); torch.manual_seed(0)
    cfg = Config(index_topk=128, vocab_size=512)
    m = GlmMoeDsa(cfg)
    opt = torch.optim.AdamW(m.parameters(), lr=2e-3, betas=(0.9, 0.95))
    t0 = time.time()
    for step in range(400):
        x = torch.randint(10, 500, (16, 16))
        ids = torch.cat([torch.full((16, 1), 1), x, torch.full((16, 1), 2), x], 1)  # BOS x SEP x
        with torch.autocast('cpu', dtype=torch.bfloat16):
            hn, _, il = m.hidden(ids[:, :-1], 'dense', with_mtp=False)
            lg = m.lm_head(hn).float()
        loss = F.cross_entropy(lg[:, 17:].reshape(-1, cfg.vocab_size), ids[:, 18:].reshape(-1))
        (loss + il).backward(); opt.step(); opt.zero_grad()
        for mm in m.moe_layers(): mm.update_bias(1e-3)
        if step % 50 == 0: print(step, round(loss.item(), 3), round(time.time() - t0, 1), flush=True)


if __name__ == '__main__':
    main()
