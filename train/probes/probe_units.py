"""Teacher-forced probe of tool-call argument reading (phase 5): 40 convert_units requests in the training phrasings,
rendered as the eval declares them (the three demo tools and two training tools, thinking off) with the right call;
at the first token of `from_unit` and of `to_unit` it compares the model's probability of each unit's first token.
Counts the requests where the right unit is the most likely. `to_unit` follows the true `from_unit` (teacher
forcing), so `from_unit` is the one that shows whether the call reads the request.
Run: .venv/bin/python -m train.probes.probe_units train/.work/ckpt8.pt
"""

import os
import random
import sys

import torch
from tokenizers import Tokenizer

from train.data import tools as T
from train.data.make_data import msg, tool_call
from train.data.render import render
from train.model import Config, GlmMoeDsa
from train.paths import MODEL


def main():
    ck = torch.load(sys.argv[1], weights_only=False)
    m = GlmMoeDsa(Config(**ck['config']))
    m.load_state_dict(ck['model'])
    m.eval()
    tok = Tokenizer.from_file(os.path.join(MODEL, 'tokenizer.json'))
    rng = random.Random(7)
    first = {u: tok.encode(u).ids[0] for u in T.UNITS}
    right = {'from_unit': 0, 'to_unit': 0}
    for _ in range(40):
        while True:
            text, name, args, *_ = T.demo_example(rng, held=False)
            if name == 'convert_units':
                break
        decl = list(T.DEMO_SCHEMAS) + rng.sample([T.schema(t) for t in T.TRAIN_TOOLS], 2)
        s = ''.join(t for t, _ in render([msg('user', text), msg('assistant', '', tool_calls=[tool_call(name, args)])],
                                         decl, False))
        ids = tok.encode(s).ids
        with torch.no_grad():
            hn, _, _ = m.hidden(torch.tensor([ids]), mode='sparse', with_mtp=False)
            lp = torch.log_softmax(m.lm_head(hn)[0].float(), -1)
        for key in right:
            head = f'<arg_key>{key}</arg_key><arg_value>'
            n = len(tok.encode(s[: s.index(head) + len(head)]).ids)  # the value's first token is ids[n]
            best = max(T.UNITS, key=lambda u: lp[n - 1, first[u]].item())
            right[key] += best == args[key]
    print(f"from_unit right {right['from_unit']}/40, to_unit right {right['to_unit']}/40")


if __name__ == '__main__':
    main()
