"""Where the pipeline reads and writes, from the repository root: train/.work (data, tokenizer, checkpoints; not
committed), eval/ (held-out files, committed), models/glm5-nano (the exported model, committed when it ships)."""

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
WORK = os.path.join(ROOT, 'train', '.work')
EVAL = os.path.join(ROOT, 'eval')
MODEL = os.path.join(ROOT, 'models', 'glm5-nano')
