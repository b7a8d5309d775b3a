// Long prefill on the `long` preset (one layer, GLM-5's attention shape, indexer 8×128, top-k 2048): one prompt
// of T random ids from an empty cache, in calls of ≤ 16384 tokens (the model's buffers stay bounded; the work
// is the same as one call), tokens per second, GFLOP/s by the cost model (model-cost.ts longPrefillCost) and
// where the time goes per op. llama-server on the same weights (GGUF export) when it is built.
//
//   node --import tsx bench/long-prefill.ts [--tokens 8192,32768] [--dtype bf16] [--profile] [--llama-server]
//   node --import tsx bench/long-prefill.ts --kernels 512x8192     (indexer and sparse attention alone)

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Ops } from '../src/kernels/interface.js';
import { measureMachineLimits } from '../src/kernels/native.js';
import { selectOps } from '../src/kernels/select.js';
import { DEFAULT_KV_CACHE_DTYPE, isKvCacheDtype, type KvCacheDtype } from '../src/model/cache-rows.js';
import { GlmModel } from '../src/model/model.js';
import { presetConfig } from '../src/model/presets.js';
import { writeSyntheticCheckpoint } from '../src/model/synthetic.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { Rng } from '../src/tensor/random.js';
import { longPrefillCost } from './model-cost.js';

const MODELS = join(fileURLToPath(new URL('.', import.meta.url)), '.models');
/** Tokens per forward call (the engine would use smaller chunks; the work per token is the same). */
export const LONG_CHUNK = 16384;

/** The `long` preset's bf16 checkpoint (written once under bench/.models). */
export function longPresetDir(): string {
  const dir = join(MODELS, 'long-bf16');
  if (!existsSync(join(dir, 'config.json'))) {
    const vocab = writePresetTextFiles(dir);
    writeSyntheticCheckpoint(dir, presetConfig('long', vocab), { seed: 0, dtype: 'bf16' });
  }
  return dir;
}

/** Wraps every op of `ops` to add its wall time (ms) into `acc` by op name. */
export function profiled(ops: Ops, acc: Map<string, number>): Ops {
  const wrapped: Record<string, unknown> = { name: ops.name };
  for (const key of Object.keys(ops) as (keyof Ops)[]) {
    const f = ops[key];
    if (typeof f !== 'function') continue;
    wrapped[key] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = (f as (...a: unknown[]) => unknown).apply(ops, args);
      acc.set(key, (acc.get(key) ?? 0) + performance.now() - t0);
      return r;
    };
  }
  return wrapped as unknown as Ops;
}

export function randomIds(n: number, V: number, seed: number): Int32Array {
  const r = new Rng(seed);
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = r.int(V);
  return ids;
}

/** Seconds for one prefill of T random tokens from an empty cache (logits for the last row only). */
export function timeLongPrefill(model: GlmModel, T: number, dtype: KvCacheDtype): number {
  const ids = randomIds(T, model.cfg.vocabSize, T);
  const cache = model.newCache(T, dtype);
  const t0 = performance.now();
  for (let i = 0; i < T; i += LONG_CHUNK) {
    const end = Math.min(T, i + LONG_CHUNK);
    model.forward(ids.subarray(i, end), cache, { logits: end === T ? 'last' : 'none' });
  }
  return (performance.now() - t0) / 1000;
}

export interface LongPrefillResult {
  readonly tok_s: Record<string, number>;
  readonly gflop_s: Record<string, number>;
}

/** Tokens/s and GFLOP/s (cost model) of long prefills at each length, one run each (a run is minutes long). */
export function benchLongPrefill(
  lengths: readonly number[],
  log: (s: string) => void,
  dtype: KvCacheDtype = DEFAULT_KV_CACHE_DTYPE,
  ops = selectOps('auto'),
): LongPrefillResult {
  const model = GlmModel.load(longPresetDir(), { ops });
  const tok_s: Record<string, number> = {},
    gflop_s: Record<string, number> = {};
  for (const T of lengths) {
    const s = timeLongPrefill(model, T, dtype);
    const cost = longPrefillCost(model, T, LONG_CHUNK, dtype === 'f32' ? 4 : 2);
    tok_s[T] = T / s;
    gflop_s[T] = cost.flops.total / s / 1e9;
    const f = cost.flops;
    log(
      `long prefill ${T} tokens (${dtype} cache): ${s.toFixed(1)} s, ${tok_s[T]!.toFixed(0)} tok/s, ${gflop_s[T]!.toFixed(1)} GFLOP/s ` +
        `(indexer ${(f.indexer / 1e9).toFixed(0)} + attention ${(f.attention / 1e9).toFixed(0)} + projections ${(f.projections / 1e9).toFixed(0)} GFLOP)`,
    );
  }
  return { tok_s, gflop_s };
}

/** GFLOP/s of the long-prefill kernels alone (the preset's shapes), T rows at context L. */
export function benchLongKernels(T: number, L: number, dtype: 'f32' | 'bf16'): Record<string, number> {
  const ops = selectOps('auto');
  const r = new Rng(1);
  const fill = (n: number, s = 1) => Float32Array.from({ length: n }, () => (r.uniform() * 2 - 1) * s);
  const H = 16,
    C = 512,
    R = 64,
    Hi = 8,
    Di = 128,
    K = 2048;
  const keyLimit = Int32Array.from({ length: T }, (_, t) => L - T + t + 1);
  const keysF = fill(L * Di);
  const keys = dtype === 'f32' ? keysF : bf16Array(keysF);
  const q = fill(T * Hi * Di),
    weights = fill(T * Hi, 0.3);
  const t0 = performance.now();
  const indices = ops.indexerTopk({ q, weights, keys, T, L, heads: Hi, dim: Di, scale: Di ** -0.5, keyLimit, topk: K });
  const idxS = (performance.now() - t0) / 1000;
  let pairs = 0;
  for (let t = 0; t < T; t++) pairs += keyLimit[t]!;
  const latF = fill(L * (C + R));
  const latent = dtype === 'f32' ? latF : bf16Array(latF);
  const qa = fill(T * H * (C + R), 0.05),
    out = new Float32Array(T * H * C);
  const t1 = performance.now();
  ops.attention({
    q: qa,
    k: latent,
    kStride: C + R,
    kOffset: 0,
    v: latent,
    vStride: C + R,
    vOffset: 0,
    T,
    L,
    heads: H,
    kvHeads: 1,
    dk: C + R,
    dv: C,
    scale: 0.07,
    mask: { keyLimit, indices, k: K },
    out,
  });
  const attS = (performance.now() - t1) / 1000;
  return {
    indexer_s: idxS,
    indexer_gflop_s: (2 * pairs * Hi * Di) / idxS / 1e9,
    attention_s: attS,
    attention_gflop_s: (2 * T * K * H * (2 * C + R)) / attS / 1e9,
  };
}

function bf16Array(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length),
    out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
  return out;
}

/** llama-server's prefill of the same T random ids on the `long` preset's GGUF export, tok/s (null: not built). */
export async function llamaServerLongPrefill(T: number, threads: number, log: (s: string) => void): Promise<number | null> {
  const { llamaServerPrefill } = await import('./llamaserver.js');
  const gguf = join(MODELS, 'long-bf16.gguf');
  if (!existsSync(gguf)) {
    const { LLAMA_SERVER } = await import('./llamaserver.js');
    if (!existsSync(LLAMA_SERVER)) return null;
    (await import('../src/gguf/export.js')).exportGguf(longPresetDir(), gguf, { dtype: 'bf16' });
  }
  const V = GlmModel.load(longPresetDir(), { ops: selectOps('auto') }).cfg.vocabSize;
  try {
    return await llamaServerPrefill(gguf, Array.from(randomIds(T, V, T)), threads, log);
  } catch (e) {
    log(`llama-server long prefill failed: ${(e as Error).message}`);
    return null;
  }
}

/** What bench/run.ts reports: long_prefill_tok_s and GFLOP/s at 8K / 16K / 32K (and 128K when `full`), llama-server at 16K. */
export async function benchLongPrefillKeys(opts: {
  full: boolean;
  threads: number;
  log: (s: string) => void;
}): Promise<LongPrefillResult & { llamaserver_tok_s: number | null }> {
  const lengths = opts.full ? [8192, 16384, 32768, 131072] : [8192, 16384, 32768];
  const r = benchLongPrefill(lengths, opts.log);
  const theirs = await llamaServerLongPrefill(16384, opts.threads, opts.log);
  if (theirs) opts.log(`  long prefill 16384: ours / llama-server ${(r.tok_s[16384]! / theirs).toFixed(2)}x`);
  return { ...r, llamaserver_tok_s: theirs };
}

async function main() {
  const { values } = parseArgs({
    options: {
      tokens: { type: 'string', default: '8192' },
      profile: { type: 'boolean', default: false },
      kernels: { type: 'string' },
      dtype: { type: 'string', default: DEFAULT_KV_CACHE_DTYPE },
      'llama-server': { type: 'boolean', default: false },
    },
  });
  const peak = measureMachineLimits()?.fmaPeakGflops ?? NaN;
  console.log(`FMA peak (probe) ${peak.toFixed(0)} GFLOP/s`);
  if (values.kernels) {
    const [T, L] = values.kernels.split('x').map(Number) as [number, number];
    for (const dtype of ['f32', 'bf16'] as const) {
      const k = benchLongKernels(T, L, dtype);
      console.log(
        `${dtype} T=${T} L=${L}: indexer ${k.indexer_s!.toFixed(2)} s ${k.indexer_gflop_s!.toFixed(1)} GFLOP/s (${(k.indexer_gflop_s! / peak).toFixed(2)} of peak), ` +
          `attention ${k.attention_s!.toFixed(2)} s ${k.attention_gflop_s!.toFixed(1)} GFLOP/s (${(k.attention_gflop_s! / peak).toFixed(2)})`,
      );
    }
    return;
  }
  if (!isKvCacheDtype(values.dtype)) throw new Error(`--dtype must be f32, bf16 or fp8`);
  const lengths = values.tokens.split(',').map(Number);
  const acc = new Map<string, number>();
  const base = selectOps('auto');
  const ops = values.profile ? profiled(base, acc) : base;
  for (const T of lengths) {
    acc.clear();
    const r = benchLongPrefill([T], console.log, values.dtype, ops);
    const parts = [...acc.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`)
      .join(', ');
    console.log(`  ${(r.gflop_s[T]! / peak).toFixed(2)} of the probe's peak${values.profile ? ` | s per op: ${parts}` : ''}`);
    if (values['llama-server']) {
      const theirs = await llamaServerLongPrefill(T, measureMachineLimits()?.threads ?? 2, console.log);
      if (theirs) console.log(`  llama-server ${theirs.toFixed(0)} tok/s: ours / theirs ${(r.tok_s[T]! / theirs).toFixed(2)}`);
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main();
