"""The training pipeline of the bundled default model, models/glm5-nano (docs/default-model.md; development only,
not part of the glm5 package).

A Python package run from the repository root with `python -m`, so modules import each other as `train.model`,
`train.data.tools`, ... with no sys.path edits:
  .venv/bin/python -m train.pipeline --list        every step, data → tokenizer → training → export → HF check
  .venv/bin/python -m train.train --steps N        one module on its own
Layout: data/ (sources → chats and prose), tokenizer/ (the BPE trainer, TypeScript), model.py + train.py (PyTorch),
export.py + check_hf.py (Hugging Face folder and its check), probes/ (measurements of a checkpoint or of the data,
not needed to build the weights), paths.py (where everything lives).
"""
