// glm5 generate: one request through the serving engine, from token ids (--tokens) or from text
// (--prompt, rendered as a user turn through the checkpoint's chat template unless --raw). Sampling
// defaults come from the checkpoint's generation_config.json; the flags override them. Text is streamed
// as the engine emits it (never half a character; stop strings trimmed).

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { intArg, parse, tokenList } from '../args.js';
import { MODEL_OPTIONS, modelFlags } from '../model-flags.js';
import { MODEL_SOURCE_FLAGS, resolveModelSource } from '../model-source.js';
import { MEMORY_FLAGS, tellMemory } from '../memory-check.js';
import { loadConfig } from '../../model/config.js';
import { DEFAULT_SPECULATIVE } from '../../engine/engine.js';
import { loadEngine } from '../load-engine.js';
import { kvCacheDtypeFlag } from '../serving.js';
import type { SamplingParams } from '../../engine/types.js';
import { RequestError } from '../../engine/types.js';

const USAGE = `glm5 generate [DIR | ORG/NAME] (--prompt TEXT [--raw] [--thinking on|off] | --tokens 1,2,3) [options]

DIR defaults to the bundled model (models/glm5-nano); ORG/NAME is a Hugging Face id (e.g. zai-org/GLM-4.7-Flash),
read from the local Hugging Face cache or downloaded there first (--revision R picks a branch, tag or commit).

  -n, --max-tokens N        tokens to generate at most (default 64)
  --temperature X           0 = greedy; default from generation_config.json
  --top-p X  --top-k N  --min-p X
  --repetition-penalty X  --presence-penalty X  --frequency-penalty X
  --seed N                  reproducible sampling
  --stop TEXT               stop string (repeatable); trimmed from the output
  --stop-token ID           stop token id (repeatable)
  --ignore-eos              keep going past the end-of-sequence tokens
  --logprobs N              print each token's log-probability and N alternatives (with --json)
  --json                    one JSON object: ids, text, finish_reason, usage, tokens_per_s
  --speculative K           draft K tokens per step with the checkpoint's MTP layer (0 = off;
                            default ${DEFAULT_SPECULATIVE} when the checkpoint has one)
  --kv-cache-dtype f32|bf16|fp8  cache element types (default bf16; fp8 = bf16 latent + fp8 indexer keys)
  --backend auto|native|ref  --quantize int8|int4  --kv-cache-gb X  --skip-memory-check`;

const FLAGS = {
  tokens: { type: 'string' },
  prompt: { type: 'string' },
  raw: { type: 'boolean', default: false },
  thinking: { type: 'string' },
  n: { type: 'string', short: 'n' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  'min-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  'presence-penalty': { type: 'string' },
  'frequency-penalty': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'stop-token': { type: 'string', multiple: true },
  logprobs: { type: 'string' },
  'ignore-eos': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'kv-cache-gb': { type: 'string' },
  'kv-cache-dtype': { type: 'string' },
  speculative: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  ...MODEL_OPTIONS,
  ...MODEL_SOURCE_FLAGS,
  ...MEMORY_FLAGS,
} as const;

export const command: Command = {
  summary: 'generate from a text prompt or token ids through the engine (sampling flags, streaming)',
  async run(argv) {
    const { values, positionals } = parse(argv, FLAGS, USAGE);
    if (values.help) {
      console.log(USAGE);
      return;
    }
    if ((values.tokens === undefined) === (values.prompt === undefined)) throw new UsageError(`give exactly one of --tokens and --prompt\nusage: ${USAGE}`);
    if (values.thinking !== undefined && !['on', 'off'].includes(values.thinking)) throw new UsageError('--thinking must be on or off');
    const n = intArg(values['max-tokens'] ?? values.n, 'max-tokens', 64);
    if (n < 1) throw new UsageError('-n must be ≥ 1');
    const num = (k: keyof typeof values) => {
      const v = values[k];
      if (v === undefined) return undefined;
      const x = Number(v);
      if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${String(k)} must be a number, got '${String(v)}'`);
      return x;
    };
    const sampling: Partial<SamplingParams> = {
      maxTokens: n,
      temperature: num('temperature'),
      topP: num('top-p'),
      topK: num('top-k'),
      minP: num('min-p'),
      repetitionPenalty: num('repetition-penalty'),
      presencePenalty: num('presence-penalty'),
      frequencyPenalty: num('frequency-penalty'),
      seed: num('seed'),
      stop: values.stop ?? [],
      stopTokenIds: (values['stop-token'] ?? []).map((s) => intArg(s, 'stop-token')),
      ignoreEos: values['ignore-eos'],
      logprobs: num('logprobs'),
    };
    const flags = modelFlags(values);

    const ids = values.tokens !== undefined ? tokenList(values.tokens) : undefined;
    // Flags are checked first: the model argument may be a Hub id that downloads.
    const { dir } = await resolveModelSource(positionals[0], { revision: values.revision });
    const kvCacheDtype = kvCacheDtypeFlag(values['kv-cache-dtype']);
    const sized = { ...flags, kvCacheGb: num('kv-cache-gb') ?? 1, maxRunning: 1, speculative: num('speculative'), ...(kvCacheDtype ? { kvCacheDtype } : {}) };
    tellMemory(loadConfig(dir), { ...sized, skip: values['skip-memory-check'], log: (l) => console.error(`glm5 generate: ${l}`) });
    const engine = loadEngine(dir, sized);
    let prompt: number[];
    if (ids) prompt = ids;
    else {
      if (!engine.tokenizer || !engine.template) throw new UsageError(`${dir} has no tokenizer.json: use --tokens`);
      prompt = values.raw
        ? engine.tokenizer.encode(values.prompt!, { special: false })
        : engine.template.encodeChat(
            { messages: [{ role: 'user', content: values.prompt! }], thinking: values.thinking === undefined ? undefined : values.thinking === 'on' },
            engine.tokenizer,
          ).ids;
    }
    if (prompt.length === 0) throw new UsageError('the prompt is empty');

    let stream;
    try {
      stream = engine.submit({ prompt, sampling });
    } catch (e) {
      if (e instanceof RequestError) throw new UsageError(e.message);
      throw e;
    }
    const streamText = engine.tokenizer !== null && !values.json;
    const t0 = performance.now();
    let tFirst = 0;
    for await (const ev of stream) {
      if (ev.type === 'token' && ev.ids.length > 0 && tFirst === 0) tFirst = performance.now();
      if (ev.type === 'token' && streamText) process.stdout.write(ev.text);
    }
    const t1 = performance.now();
    const r = await stream.result;
    if (r.finishReason === 'error') throw new Error(r.error ?? 'generation failed');
    const decodeSteps = Math.max(r.ids.length - 1, 0);
    const tokensPerS = decodeSteps > 0 ? (decodeSteps * 1000) / (t1 - tFirst) : 0;
    if (values.json) {
      const out: Record<string, unknown> = { ids: r.ids, finish_reason: r.finishReason, usage: r.usage, tokens_per_s: tokensPerS };
      const sp = engine.speculation();
      if (sp.k > 0) out.speculative = { k: sp.k, drafted: sp.drafted, accepted: sp.accepted, steps: sp.steps };
      if (engine.tokenizer) out.text = r.text;
      if (r.logprobs) out.logprobs = r.logprobs;
      console.log(JSON.stringify(out));
    } else {
      if (streamText) process.stdout.write('\n');
      else console.log(r.ids.join(','));
      const sp = engine.speculation();
      const specNote = sp.k > 0 ? `; MTP drafts ${sp.accepted}/${sp.drafted} accepted (k=${sp.k})` : '';
      console.error(
        `prompt ${prompt.length} tokens, first token after ${(tFirst - t0).toFixed(1)} ms; ${r.ids.length} tokens at ${tokensPerS.toFixed(2)} tok/s (${r.finishReason})${specNote} [${engine.model.ops.name}]`,
      );
    }
    await engine.close();
  },
};
