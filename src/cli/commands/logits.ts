// glm5 logits: raw f32 logits for checking the model against another implementation.
// Without --prefill: one full forward, a row per position. With --prefill N: the row of position N−1
// after prefilling N tokens, then a row per remaining token fed one at a time through the cache.

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { intArg, parse, tokenList } from '../args.js';
import { loadModel } from '../load-model.js';
import { MODEL_OPTIONS } from '../model-flags.js';

const USAGE = 'glm5 logits DIR --tokens 1,2,3 [--prefill N] --json [--backend auto|native|ref]';

export const command: Command = {
  summary: 'print f32 logits for token ids (full forward, or prefill + cached decode)',
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        tokens: { type: 'string' },
        prefill: { type: 'string' },
        json: { type: 'boolean', default: false },
        ...MODEL_OPTIONS,
      },
      USAGE,
    );
    const dir = positionals[0];
    if (!dir) throw new UsageError(`expected a model folder\nusage: ${USAGE}`);
    if (!values.json) throw new UsageError(`logits prints JSON only: pass --json\nusage: ${USAGE}`);
    const ids = tokenList(values.tokens);
    const model = loadModel(dir, { backend: values.backend });
    const V = model.cfg.vocabSize;
    for (const id of ids) if (id >= V) throw new UsageError(`token id ${id} is outside the vocabulary (size ${V})`);
    const rows: number[][] = [];
    const push = (x: Float32Array, n: number) => {
      for (let r = 0; r < n; r++) rows.push(Array.from(x.subarray(r * V, (r + 1) * V)));
    };
    const cache = model.newCache(ids.length);
    if (values.prefill === undefined) {
      push(model.forward(ids, cache).logits, ids.length);
    } else {
      const N = intArg(values.prefill, 'prefill');
      if (N < 1 || N > ids.length) throw new UsageError(`--prefill must be in [1, ${ids.length}]`);
      push(model.forward(ids.slice(0, N), cache, { logits: 'last' }).logits, 1);
      for (let p = N; p < ids.length; p++) push(model.forward([ids[p]!], cache).logits, 1);
    }
    process.stdout.write(JSON.stringify({ logits: rows }) + '\n');
  },
};
