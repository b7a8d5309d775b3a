"""Checks render.py against the project's chat template (`glm5 template`) on generated samples: byte-identical
prompts. Run from the repo root: .venv/bin/python -m train.data.check_template [DIR] (needs `npm run build` and a
preset folder written by `npx glm5 init --preset tiny /tmp/glm5-tiny`, the default DIR)."""

import json
import os
import random
import subprocess
import sys
import tempfile

from train.data import make_data as MD
from train.data import tools as T
from train.data.render import render, plain
from train.paths import ROOT

DIR = sys.argv[1] if len(sys.argv) > 1 else '/tmp/glm5-tiny'


def glm5_template(messages, tools, thinking, gen):
    with tempfile.TemporaryDirectory() as d:
        json.dump(messages, open(os.path.join(d, 'm.json'), 'w'))
        cmd = ['node', os.path.join(ROOT, 'bin', 'glm5.js'), 'template', DIR, '--messages', os.path.join(d, 'm.json'), '--thinking', 'on' if thinking else 'off', '--json']
        if tools:
            json.dump(tools, open(os.path.join(d, 't.json'), 'w'))
            cmd += ['--tools', os.path.join(d, 't.json')]
        if not gen:
            cmd.append('--no-generation-prompt')
        return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)['prompt']


def main():
    rng = random.Random(7)
    ok = 0
    cases = []
    for i in range(6):
        th = i % 2 == 0
        text, name, args, res, ans, reas = T.demo_example(rng, held=False)
        t = rng.choice(T.TRAIN_TOOLS)
        tools = T.DEMO_SCHEMAS + [T.schema(t)]
        call = {'type': 'function', 'function': {'name': name, 'arguments': args}}
        full = [MD.msg('user', text), MD.msg('assistant', '', reasoning_content=reas if th else None, tool_calls=[call]),
                MD.msg('tool', res), MD.msg('assistant', ans, reasoning_content='Done.' if th else None),
                MD.msg('user', 'What is a cat?')]
        cases.append((full, tools, th))
        cases.append(([MD.msg('user', text)], tools, th))
        cases.append(([MD.msg('user', 'Hi'), MD.msg('assistant', 'Hello!', reasoning_content='greet' if th else None), MD.msg('user', 'What is a dog?')], None, th))
    for msgs, tools, th in cases:
        mine = plain(render(msgs, tools, th, generation_prompt=True, stops=False))
        theirs = glm5_template(msgs, tools, th, True)
        if mine == theirs:
            ok += 1
        else:
            print('MISMATCH\n', repr(mine[-400:]), '\n', repr(theirs[-400:]))
    print(f'{ok}/{len(cases)} byte-identical')
    if ok != len(cases):
        sys.exit(1)


if __name__ == '__main__':
    main()
