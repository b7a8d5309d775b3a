"""Loss curves of both training phases in one PNG (train/loss.png), from the logs stored in the checkpoints.
Run: .venv/bin/python -m train.plot_loss [CKPT ...]   (default: the three phases' final checkpoints)
"""

import os
import sys

import torch

from train.paths import ROOT, WORK
from train.train import plot


def main():
    paths = sys.argv[1:] or [os.path.join(WORK, f) for f in ('ckpt_phase1.pt', 'ckpt_phase2.pt', 'ckpt3.pt')]
    log, offset, starts = [], 0, []
    for p in paths:
        ck = torch.load(p, weights_only=False)
        if offset:
            starts.append(offset)
        for r in ck['log']:
            if r['step'] <= ck['step']:
                log.append(dict(r, step=r['step'] + offset))
        offset += ck['step']
    plot(log, os.path.join(ROOT, 'train', 'loss.png'), phase_starts=starts)
    print(f'{len(log)} log records, {offset} steps → train/loss.png')


if __name__ == '__main__':
    main()
