// glm5 generate: greedy decoding, from token ids (--tokens) or from text (--prompt, rendered as a
// user turn through the checkpoint's chat template unless --raw). Prefill once, then one token per
// step through the cache; text is streamed through the incremental decoder (never half a character).

import type { Command } from '../main.js';
import { UsageError } from '../main.js';
import { intArg, parse, tokenList } from '../args.js';
import { loadModel, MODEL_OPTIONS } from '../load-model.js';
import { argmax } from '../../model/sampling.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { ChatTemplate } from '../../text/chat-template.js';

const USAGE =
  'glm5 generate DIR (--tokens 1,2,3 | --prompt TEXT [--raw] [--thinking on|off]) [-n 20] [--ignore-eos] [--json] [--backend auto|native|ref] [--quantize int8]';

export const command: Command = {
  summary: 'greedy-decode from token ids or a text prompt and report speed',
  async run(argv) {
    const { values, positionals } = parse(argv, {
      tokens: { type: 'string' },
      prompt: { type: 'string' },
      raw: { type: 'boolean', default: false },
      thinking: { type: 'string' },
      n: { type: 'string', short: 'n', default: '20' },
      'ignore-eos': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...MODEL_OPTIONS,
    }, USAGE);
    const dir = positionals[0];
    if (!dir) throw new UsageError(`expected a model folder\nusage: ${USAGE}`);
    if ((values.tokens === undefined) === (values.prompt === undefined)) throw new UsageError(`give exactly one of --tokens and --prompt\nusage: ${USAGE}`);
    if (values.thinking !== undefined && !['on', 'off'].includes(values.thinking)) throw new UsageError('--thinking must be on or off');
    const n = intArg(values.n, 'n');
    if (n < 0) throw new UsageError('-n must be ≥ 0');

    const tokenizer = values.prompt !== undefined ? Tokenizer.fromDir(dir) : null;
    let prompt: number[];
    if (values.prompt === undefined) prompt = tokenList(values.tokens);
    else if (values.raw) prompt = tokenizer!.encode(values.prompt, { special: false });
    else {
      prompt = ChatTemplate.fromDir(dir).encodeChat(
        { messages: [{ role: 'user', content: values.prompt }], thinking: values.thinking === undefined ? undefined : values.thinking === 'on' },
        tokenizer!,
      ).ids;
    }

    const model = loadModel(dir, values);
    const V = model.cfg.vocabSize;
    for (const id of prompt) if (id >= V) throw new UsageError(`token id ${id} is outside the vocabulary (size ${V})`);
    if (prompt.length === 0) throw new UsageError('the prompt is empty');
    if (prompt.length + n > model.cfg.maxPositionEmbeddings) throw new UsageError(`prompt (${prompt.length}) + n (${n}) exceeds the context of ${model.cfg.maxPositionEmbeddings}`);
    const eos = new Set(values['ignore-eos'] ? [] : model.cfg.eosTokenIds);
    const decoder = tokenizer?.createDecoder();
    const streamText = decoder && !values.json;

    const cache = model.newCache(prompt.length + n);
    const t0 = performance.now();
    let r = model.forward(prompt, cache, { logits: 'last' });
    const t1 = performance.now();
    const out: number[] = [];
    let text = '';
    while (out.length < n) {
      const next = argmax(r.logits, 0, V);
      out.push(next);
      if (decoder) {
        const piece = decoder.push(next);
        text += piece;
        if (streamText) process.stdout.write(piece);
      }
      if (eos.has(next) || out.length === n) break;
      r = model.forward([next], cache, { logits: 'last' });
    }
    const t2 = performance.now();
    if (decoder) {
      const rest = decoder.flush();
      text += rest;
      if (streamText) process.stdout.write(rest + '\n');
    }
    const decodeSteps = Math.max(out.length - 1, 0);
    const tokensPerS = decodeSteps > 0 ? (decodeSteps * 1000) / (t2 - t1) : 0;
    if (values.json) {
      console.log(JSON.stringify(tokenizer ? { ids: out, text, tokens_per_s: tokensPerS } : { ids: out, tokens_per_s: tokensPerS }));
    } else {
      if (!decoder) console.log(out.join(','));
      console.error(`prefill ${prompt.length} tokens in ${(t1 - t0).toFixed(1)} ms (${((prompt.length * 1000) / (t1 - t0)).toFixed(1)} tok/s); decode ${decodeSteps} tokens at ${tokensPerS.toFixed(2)} tok/s [${model.ops.name}]`);
    }
  },
};
