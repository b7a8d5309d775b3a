// llama.cpp side of the benchmark: runs a GGUF made by `glm5 export-gguf` through node-llama-cpp on the CPU
// (prebuilt binaries, never a GPU, never a source build). Opt-in: node-llama-cpp lives in bench/llamacpp/
// (`npm run bench:setup`), outside the project's default install; without it every entry point returns null
// and prints why. Measured the way bench/run.ts measures glm5: prefill tok/s = prompt tokens ÷ wall time of
// evaluating the prompt up to the first greedy token; decode tok/s = generated tokens after the first ÷ their
// wall time (one token per step through the cache).
//
// Standalone: node --import tsx bench/llamacpp.ts MODEL.gguf [--prompt 128] [--decode 16] [--threads N]

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(HERE, 'llamacpp', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');

// The few node-llama-cpp shapes used here (its types are not installed with the project).
interface LlamaSequence {
  // biome-ignore lint/suspicious/noConfusingVoidType: node-llama-cpp's own signature (next() may pass nothing)
  evaluate(tokens: number[], options?: { temperature?: number }): AsyncGenerator<number, void, void | number | number[]>;
  controlledEvaluate(
    input: (number | [number, { generateNext?: { logits?: boolean } }])[],
  ): Promise<({ next: { logits?: Map<number, number> } } | undefined)[]>;
}
interface LlamaContext {
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}
interface LlamaModel {
  readonly tokens: { readonly bos: number | null };
  readonly fileInfo: { readonly metadata: Record<string, unknown> };
  createContext(o: {
    contextSize: number;
    batchSize: number;
    threads: number;
    sequences?: number;
    experimentalKvCacheKeyType?: string;
    experimentalKvCacheValueType?: string;
  }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface Llama {
  readonly gpu: string | false;
  readonly cpuMathCores: number;
  loadModel(o: { modelPath: string; gpuLayers: number; useMmap?: boolean }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(o: { gpu: false; build: 'never'; logLevel?: string; maxThreads?: number }): Promise<Llama>;
  LlamaLogLevel: Record<string, string>;
}

let cached: Promise<NodeLlamaCpp | null> | null = null;

/** node-llama-cpp from bench/llamacpp/node_modules, or null (with the reason printed) when it is not installed. */
export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp | null> {
  cached ??= (async () => {
    if (!existsSync(ENTRY)) {
      console.error(`llama.cpp bench skipped: node-llama-cpp is not installed (run \`npm run bench:setup\`; looked for ${ENTRY})`);
      return null;
    }
    try {
      return (await import(pathToFileURL(ENTRY).href)) as NodeLlamaCpp;
    } catch (e) {
      console.error(`llama.cpp bench skipped: node-llama-cpp failed to load (${(e as Error).message})`);
      return null;
    }
  })();
  return cached;
}

/** Opens a CPU-only llama.cpp with a model and one context sized for `tokens` tokens, runs `fn`, frees it all. */
export async function withLlamaCpp<T>(
  gguf: string,
  opts: { tokens: number; batch: number; threads: number; kvCache?: 'F16' | 'F32' },
  fn: (seq: LlamaSequence, model: LlamaModel) => Promise<T>,
): Promise<T | null> {
  const lib = await loadNodeLlamaCpp();
  if (!lib) return null;
  const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error ?? 'error', maxThreads: opts.threads });
  try {
    const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
    try {
      const kv = opts.kvCache ? { experimentalKvCacheKeyType: opts.kvCache, experimentalKvCacheValueType: opts.kvCache } : {};
      const ctx = await model.createContext({ contextSize: opts.tokens, batchSize: opts.batch, threads: opts.threads, sequences: 1, ...kv });
      try {
        return await fn(ctx.getSequence(), model);
      } finally {
        await ctx.dispose();
      }
    } finally {
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
}

export async function benchLlamaCpp(
  gguf: string,
  opts: { promptTokens: number[]; decodeTokens: number; threads: number },
): Promise<{ prefill_tok_s: number; decode_tok_s: number } | null> {
  const T = opts.promptTokens.length,
    N = opts.decodeTokens;
  if (T < 1) throw new Error('benchLlamaCpp: promptTokens is empty');
  // Context rounded up: llama.cpp pads the KV cache to 256 cells anyway.
  const size = Math.ceil((T + N + 8) / 256) * 256;
  return withLlamaCpp(gguf, { tokens: size, batch: T, threads: opts.threads }, async (seq) => {
    // evaluate() runs the whole prompt as one batch, samples greedily (temperature 0), then one token per step.
    const t0 = performance.now();
    const gen = seq.evaluate(opts.promptTokens, { temperature: 0 });
    let first = await gen.next();
    if (first.done) throw new Error('llama.cpp produced no token');
    const t1 = performance.now();
    let steps = 0;
    while (steps < N) {
      first = await gen.next();
      if (first.done) break;
      steps++;
    }
    const t2 = performance.now();
    await gen.return();
    return {
      prefill_tok_s: (T * 1000) / (t1 - t0),
      decode_tok_s: steps > 0 ? (steps * 1000) / (t2 - t1) : NaN,
    };
  });
}

/** Raw llama.cpp logits for every position of `tokens` (one forward over the whole sequence): [T][V]. */
export async function llamaCppLogits(
  gguf: string,
  tokens: number[],
  opts: { threads: number; vocabSize: number; kvCache?: 'F16' | 'F32' },
): Promise<Float32Array[] | null> {
  const size = Math.ceil((tokens.length + 8) / 256) * 256;
  return withLlamaCpp(gguf, { tokens: size, batch: tokens.length, threads: opts.threads, kvCache: opts.kvCache }, async (seq) => {
    const out = await seq.controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }] as [number, { generateNext: { logits: boolean } }]));
    return tokens.map((_, i) => {
      const m = out[i]?.next.logits;
      if (!m) throw new Error(`llama.cpp returned no logits for position ${i}`);
      const row = new Float32Array(opts.vocabSize).fill(NaN);
      for (const [id, v] of m) row[id] = v;
      return row;
    });
  });
}

async function cli(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { prompt: { type: 'string', default: '128' }, decode: { type: 'string', default: '16' }, threads: { type: 'string' } },
  });
  const gguf = positionals[0];
  if (!gguf) {
    console.error('usage: node --import tsx bench/llamacpp.ts MODEL.gguf [--prompt 128] [--decode 16] [--threads N]');
    process.exitCode = 2;
    return;
  }
  const T = Number(values.prompt),
    N = Number(values.decode);
  const threads = values.threads ? Number(values.threads) : availableParallelism();
  // Prompt: deterministic ids spread over the vocabulary's low range (every GGUF vocabulary has > 256 tokens).
  const prompt = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % 256);
  const r = await benchLlamaCpp(gguf, { promptTokens: prompt, decodeTokens: N, threads });
  if (!r) {
    process.exitCode = 1;
    return;
  }
  console.log(JSON.stringify({ gguf, prompt_tokens: T, decode_tokens: N, threads, ...r }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
