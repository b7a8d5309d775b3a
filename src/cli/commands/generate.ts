// glm5 generate: greedy decoding from token ids (prefill once, then one token per step through the cache).

import type { Command } from '../main.js';
import { UsageError } from '../main.js';
import { intArg, parse, tokenList } from '../args.js';
import { loadModel, MODEL_OPTIONS } from '../load-model.js';
import { argmax } from '../../model/sampling.js';

const USAGE = 'glm5 generate DIR --tokens 1,2,3 [-n 20] [--ignore-eos] [--json] [--backend auto|native|ref] [--quantize int8]';

export const command: Command = {
  summary: 'greedy-decode from token ids and report speed',
  async run(argv) {
    const { values, positionals } = parse(argv, {
      tokens: { type: 'string' },
      n: { type: 'string', short: 'n', default: '20' },
      'ignore-eos': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...MODEL_OPTIONS,
    }, USAGE);
    const dir = positionals[0];
    if (!dir) throw new UsageError(`expected a model folder\nusage: ${USAGE}`);
    const prompt = tokenList(values.tokens);
    const n = intArg(values.n, 'n');
    if (n < 0) throw new UsageError('-n must be ≥ 0');
    const model = loadModel(dir, values);
    const V = model.cfg.vocabSize;
    for (const id of prompt) if (id >= V) throw new UsageError(`token id ${id} is outside the vocabulary (size ${V})`);
    const eos = new Set(values['ignore-eos'] ? [] : model.cfg.eosTokenIds);
    const cache = model.newCache(prompt.length + n);
    const t0 = performance.now();
    let r = model.forward(prompt, cache, { logits: 'last' });
    const t1 = performance.now();
    const out: number[] = [];
    while (out.length < n) {
      const next = argmax(r.logits, 0, V);
      out.push(next);
      if (eos.has(next) || out.length === n) break;
      r = model.forward([next], cache, { logits: 'last' });
    }
    const t2 = performance.now();
    const decodeSteps = Math.max(out.length - 1, 0);
    const tokensPerS = decodeSteps > 0 ? (decodeSteps * 1000) / (t2 - t1) : 0;
    if (values.json) {
      console.log(JSON.stringify({ ids: out, tokens_per_s: tokensPerS }));
    } else {
      console.log(out.join(','));
      console.error(`prefill ${prompt.length} tokens in ${(t1 - t0).toFixed(1)} ms (${((prompt.length * 1000) / (t1 - t0)).toFixed(1)} tok/s); decode ${decodeSteps} tokens at ${tokensPerS.toFixed(2)} tok/s [${model.ops.name}]`);
    }
  },
};
