// npm run bench [-- --json] [--quick] [--long-131k]: speed of the small preset at batch 1 against this machine's
// measured limits (memory bandwidth, FMA peak), sparse-vs-dense decode at long context on the `long`
// preset, long prefill of 8K / 16K / 32K-token prompts on it (bench/long-prefill.ts; 128K with --long-131k;
// `--only long` runs just that), the serving engine at 1 / 4 / 16 streams and its prefix cache
// (bench/serving.ts; `--only serving` runs just that), the tokenizer, `--quantize int4` against bf16 (decode speed,
// held-out perplexity, peak RSS while loading: bench/int4.ts; `--only int4` runs just that), and llama.cpp on the
// same weights when it is set up (npm run bench:setup).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GlmModel } from '../src/model/model.js';
import { presetConfig, type PresetName } from '../src/model/presets.js';
import { writeSyntheticCheckpoint } from '../src/model/synthetic.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { selectOps } from '../src/kernels/select.js';
import { measureMachineLimits, type MachineLimits } from '../src/kernels/native.js';
import { Rng } from '../src/tensor/random.js';
import { decodeBytesPerToken, paramCounts, prefillFlops } from './model-cost.js';
import type { ServingResult } from './serving.js';
import { minOf } from '../src/tensor/arrays.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'long-131k': { type: 'boolean', default: false },
  },
});
const log = (s: string) => {
  if (!args.json) console.log(s);
};
const MODELS = join(fileURLToPath(new URL('.', import.meta.url)), '.models');

function presetDir(preset: PresetName, dtype: 'bf16' | 'f32' = 'bf16', overrides: Record<string, unknown> = {}): string {
  const tag = Object.keys(overrides).length
    ? `-${Object.entries(overrides)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`
    : '';
  const dir = join(MODELS, `${preset}-${dtype}${tag}`);
  if (!existsSync(join(dir, 'config.json'))) {
    log(`(creating ${preset} ${dtype} checkpoint in ${dir} …)`);
    const vocab = writePresetTextFiles(dir);
    writeSyntheticCheckpoint(dir, { ...presetConfig(preset, vocab), ...overrides }, { seed: 0, dtype });
  }
  return dir;
}

function randomIds(n: number, V: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.int(V));
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
}

async function main() {
  const ops = selectOps('auto');
  // The machine's limits are probed at the start and again at the end, and the fractions use the better of
  // the two readings (a shared VM's limits drift over minutes; a slow probe would flatter every fraction).
  const start = measureMachineLimits();
  log(`backend: ${ops.name}${start ? ` (${start.isa}, ${start.threads} threads)` : ''}`);
  if (start) log(`machine (start): memory bandwidth ${start.bandwidthGBs.toFixed(1)} GB/s, FMA peak ${start.fmaPeakGflops.toFixed(0)} GFLOP/s`);

  // --- small preset, batch 1 ---
  const small = GlmModel.load(presetDir('small'), { ops });
  const V = small.cfg.vocabSize;
  if (args.only === 'speculative') {
    const spec = await import('./speculative.js');
    const small2 = GlmModel.load(presetDir('small', 'bf16', { num_nextn_predict_layers: 1 }), { ops });
    const forced = await spec.benchForcedAcceptance(small2, log);
    const real = await spec.benchDefaultModel(log);
    const eos = await spec.benchDefaultVsPlain(log);
    if (args.json) console.log(JSON.stringify({ backend: ops.name, speculative: { forced, default_model: real, default_k_to_eos: eos } }));
    return;
  }
  if (args.only === 'interference') {
    const { benchPrefillInterference } = await import('./interference.js');
    const r = await benchPrefillInterference(GlmModel.load(presetDir('long'), { ops }), log);
    if (args.json) console.log(JSON.stringify({ backend: ops.name, prefill_interference_itl_ratio: r.paced.prefill_interference_itl_ratio, interference: r }));
    return;
  }
  if (args.only === 'long') {
    const { benchLongPrefillKeys } = await import('./long-prefill.js');
    const r = await benchLongPrefillKeys({ full: args['long-131k'], threads: start?.threads ?? 2, log });
    const end = measureMachineLimits();
    const peak = Math.max(start?.fmaPeakGflops ?? 0, end?.fmaPeakGflops ?? 0);
    if (args.json) console.log(JSON.stringify({ backend: ops.name, fma_peak_gflop_s: peak || null, ...longKeys(r, peak || null) }));
    return;
  }
  if (args.only === 'serving') {
    const { benchServing } = await import('./serving.js');
    const serving = await benchServing(small, log, start);
    const comparison = await compareServingHere(serving, V, start?.threads ?? 2);
    if (args.json) {
      console.log(
        JSON.stringify({
          backend: ops.name,
          isa: start?.isa ?? null,
          threads: start?.threads ?? null,
          serving,
          ...comparison,
        }),
      );
    }
    return;
  }
  if (args.only === 'int4') {
    const { benchInt4, int4Keys, flashDir } = await import('./int4.js');
    const b = benchInt4({ small: presetDir('small'), flash: flashDir(), ops, quick: args.quick, log });
    if (args.json) console.log(JSON.stringify({ backend: ops.name, isa: start?.isa ?? null, threads: start?.threads ?? null, ...int4Keys(b) }));
    return;
  }
  const p = paramCounts(small);
  log(`small preset: ${(p.total / 1e6).toFixed(0)}M params total, ${(p.active / 1e6).toFixed(0)}M active per token, bf16`);
  const prefill: Record<string, number> = {};
  const prefillGflops: Record<string, number> = {};
  for (const T of args.quick ? [512] : [128, 512, 2048]) {
    const ids = randomIds(T, V, T);
    // Warm-up at the same length (workspace buffers reach their size), then the best of two runs; each
    // run starts a new sequence cache, as a new request would.
    small.forward(ids, small.newCache(T), { logits: 'last' });
    const s = minOf([0, 1].map(() => time(() => small.forward(ids, small.newCache(T), { logits: 'last' }))[1]));
    prefill[T] = T / s;
    prefillGflops[T] = prefillFlops(small, T) / s / 1e9;
    log(`prefill ${T} tokens: ${(T / s).toFixed(1)} tok/s (${prefillGflops[T]!.toFixed(1)} GFLOP/s)`);
  }
  const decode: Record<string, number> = {};
  const decodeBytes: Record<string, number> = {};
  for (const ctx of args.quick ? [128] : [128, 4096]) {
    const cache = small.newCache(ctx + 64);
    const first = small.forward(randomIds(ctx, V, ctx + 1), cache, { logits: 'last' });
    const steps = 24;
    // Best of five runs of `steps` greedy tokens from the same context (truncate() rewinds the cache):
    // single runs on a shared VM vary by up to 1.5x within a minute.
    const s = minOf(
      [0, 1, 2, 3, 4].map(() => {
        cache.truncate(ctx);
        let r = first;
        return time(() => {
          for (let i = 0; i < steps; i++) r = small.forward([argmaxOf(r.logits)], cache, { logits: 'last' });
        })[1];
      }),
    );
    decode[ctx] = steps / s;
    decodeBytes[ctx] = decodeBytesPerToken(small, ctx);
    log(`decode at ${ctx} context: ${(steps / s).toFixed(2)} tok/s (${(decodeBytes[ctx]! / 1e6).toFixed(0)} MB read per token)`);
  }

  // --- long context: sparse vs forced-dense decode on the `long` preset (index_topk 2048) ---
  const dsa: Record<string, { sparse_ms: number; dense_ms: number }> = {};
  if (!args.quick) {
    const long = GlmModel.load(presetDir('long'), { ops });
    const maxCtx = 65536;
    const cache = long.newCache(maxCtx + 8);
    const ids = randomIds(maxCtx, long.cfg.vocabSize, 99);
    log(`long preset: filling a ${maxCtx}-token cache by prefill (chunks of 8192) …`);
    const [, fill] = time(() => {
      // Absorbed form: chunks attend over the latent cache directly instead of re-expanding 64K keys per chunk.
      for (let i = 0; i < maxCtx; i += 8192) long.forward(ids.slice(i, i + 8192), cache, { logits: 'none', attention: 'absorbed' });
    });
    log(`  prefill of ${maxCtx} tokens took ${fill.toFixed(1)} s`);
    // Longest first: truncate() drops the positions beyond ctx, exactly as if only ctx had been prefilled.
    for (const ctx of [65536, 16384, 4096]) {
      cache.truncate(ctx);
      const per = (forceDense: boolean) => {
        const n = 8;
        const [, s] = time(() => {
          for (let i = 0; i < n; i++) {
            long.forward([i + 1], cache, { logits: 'last', forceDense });
            cache.truncate(ctx);
          }
        });
        return (s / n) * 1000;
      };
      per(false);
      dsa[ctx] = { sparse_ms: per(false), dense_ms: per(true) };
      log(
        `decode at ${ctx}: sparse ${dsa[ctx]!.sparse_ms.toFixed(2)} ms/token, dense ${dsa[ctx]!.dense_ms.toFixed(2)} ms/token (dense/sparse ${(dsa[ctx]!.dense_ms / dsa[ctx]!.sparse_ms).toFixed(2)}×)`,
      );
    }
  }

  // --- long prefill: 8K / 16K / 32K-token prompts on the `long` preset (128K with --long-131k: minutes), llama-server at 16K ---
  const longPrefill = args.quick
    ? null
    : await (await import('./long-prefill.js')).benchLongPrefillKeys({ full: args['long-131k'], threads: start?.threads ?? 2, log });

  // --- serving: the engine with many requests at once ---
  const { benchServing } = await import('./serving.js');
  const serving = await benchServing(small, log, start);

  // --- prefill interference: streams decoding while a 32K prompt prefills (long preset) ---
  const { benchPrefillInterference } = await import('./interference.js');
  const interference = args.quick ? null : await benchPrefillInterference(GlmModel.load(presetDir('long'), { ops }), log);

  // --- speculative decoding (MTP drafts) ---
  const specBench = await import('./speculative.js');
  const forced = await specBench.benchForcedAcceptance(GlmModel.load(presetDir('small', 'bf16', { num_nextn_predict_layers: 1 }), { ops }), log);
  const specReal = await specBench.benchDefaultModel(log);
  const specEos = await specBench.benchDefaultVsPlain(log);

  // --- tokenizer ---
  let tokenizer: Record<string, number> | null = null;
  try {
    const { benchTokenizer } = await import('./tokenizer.js');
    tokenizer = await benchTokenizer();
    log(`tokenizer: ${tokenizer.encode_tok_s!.toFixed(0)} tokens/s encoding ${tokenizer.mb} MB`);
  } catch (e) {
    log(`tokenizer bench unavailable: ${(e as Error).message}`);
  }

  // --- llama.cpp on the same weights (opt-in) ---
  // Same weights (bf16 GGUF export), same thread count, same prompt lengths and decode context as ours.
  let llama: { prefill_tok_s: number; decode_tok_s: number } | null = null;
  try {
    const { benchLlamaCpp } = await import('./llamacpp.js');
    const { exportGguf } = await import('../src/gguf/export.js');
    const gguf = join(MODELS, 'small-bf16.gguf');
    if (!existsSync(gguf)) exportGguf(presetDir('small'), gguf, { dtype: 'bf16' });
    const threads = start?.threads ?? 2;
    // Best of runs, as for ours (prefill: 2, decode: 5).
    let best: { prefill_tok_s: number; decode_tok_s: number } | null = null;
    for (let i = 0; i < 5; i++) {
      const dec = await benchLlamaCpp(gguf, { promptTokens: randomIds(128, V, 129), decodeTokens: 25, threads });
      const pre = i < 2 ? await benchLlamaCpp(gguf, { promptTokens: randomIds(512, V, 512), decodeTokens: 2, threads }) : null;
      if (!dec) break;
      best = {
        prefill_tok_s: Math.max(best?.prefill_tok_s ?? 0, pre?.prefill_tok_s ?? 0),
        decode_tok_s: Math.max(best?.decode_tok_s ?? 0, dec.decode_tok_s),
      };
    }
    if (best && best.prefill_tok_s > 0) llama = best;
  } catch (e) {
    log(`llama.cpp comparison unavailable: ${(e as Error).message}`);
  }
  if (llama)
    log(
      `llama.cpp (same bf16 weights, ${start?.threads ?? 2} threads): prefill 512 ${llama.prefill_tok_s.toFixed(1)} tok/s (ours/theirs ${(prefill[512]! / llama.prefill_tok_s).toFixed(2)}), decode at 128 ${llama.decode_tok_s.toFixed(2)} tok/s (ours/theirs ${(decode[128]! / llama.decode_tok_s).toFixed(2)})`,
    );

  // --- llama.cpp's HTTP server and glm5 serve on the serving workload (llama-server opt-in) ---
  const comparison = await compareServingHere(serving, V, start?.threads ?? 2);

  // --- --quantize int4: decode speed against bf16 / int8, held-out perplexity change, peak RSS while loading ---
  const int4Bench = await import('./int4.js');
  const int4 = int4Bench.benchInt4({ small: presetDir('small'), flash: int4Bench.flashDir(), ops, quick: args.quick, log });

  const end = measureMachineLimits();
  const limits: MachineLimits | null =
    start && end
      ? { ...start, bandwidthGBs: Math.max(start.bandwidthGBs, end.bandwidthGBs), fmaPeakGflops: Math.max(start.fmaPeakGflops, end.fmaPeakGflops) }
      : start;
  if (end) log(`machine (end): memory bandwidth ${end.bandwidthGBs.toFixed(1)} GB/s, FMA peak ${end.fmaPeakGflops.toFixed(0)} GFLOP/s`);
  const prefillFrac: Record<string, number> = {};
  const roofline: Record<string, number> = {};
  if (limits) {
    log(`against the better readings (${limits.bandwidthGBs.toFixed(1)} GB/s, ${limits.fmaPeakGflops.toFixed(0)} GFLOP/s):`);
    for (const [T, g] of Object.entries(prefillGflops)) {
      prefillFrac[T] = g / limits.fmaPeakGflops;
      log(`  prefill ${T}: ${(prefillFrac[T]! * 100).toFixed(1)}% of FMA peak`);
    }
    for (const [ctx, bytes] of Object.entries(decodeBytes)) {
      roofline[ctx] = (limits.bandwidthGBs * 1e9) / bytes;
      log(`  decode at ${ctx}: roofline ${roofline[ctx]!.toFixed(1)} tok/s → ${((decode[ctx]! / roofline[ctx]!) * 100).toFixed(1)}% of roofline`);
    }
  }

  const rss = process.resourceUsage().maxRSS / 1024;
  log(`peak RSS: ${rss.toFixed(0)} MB`);
  const result = {
    backend: ops.name,
    isa: limits?.isa ?? null,
    threads: limits?.threads ?? null,
    bandwidth_gb_s: limits?.bandwidthGBs ?? null,
    fma_peak_gflop_s: limits?.fmaPeakGflops ?? null,
    prefill_tok_s: prefill,
    decode_tok_s: decode,
    decode_roofline_tok_s: roofline,
    decode_roofline_fraction: Object.fromEntries(Object.entries(decode).map(([k, v]) => [k, v / roofline[k]!])),
    prefill_peak_fraction: prefillFrac,
    dsa_decode_ms: dsa,
    dsa_speedup_64k: dsa[65536] ? dsa[65536].dense_ms / dsa[65536].sparse_ms : null,
    ...(longPrefill ? longKeys(longPrefill, limits?.fmaPeakGflops ?? null) : {}),
    llamacpp_prefill_ratio: llama && prefill[512] ? prefill[512] / llama.prefill_tok_s : null,
    llamacpp_decode_ratio: llama && decode[128] ? decode[128] / llama.decode_tok_s : null,
    serving,
    speculative: { forced_acceptance: forced, default_model: specReal, default_k_to_eos: specEos },
    batch16_vs_batch1_throughput: serving.batch16_vs_batch1_throughput,
    serving_roofline_tok_s: serving.serving_roofline_tok_s,
    serving_roofline_fraction: serving.serving_roofline_fraction,
    itl_p90_ms: serving.itl_p90_ms[16],
    prefix_hit_ttft_speedup: serving.prefix_hit_ttft_speedup,
    engine_overhead_fraction: serving.engine_overhead_fraction,
    prefill_interference_itl_ratio: interference?.paced.prefill_interference_itl_ratio ?? null,
    interference,
    ...comparison,
    tokenizer,
    ...int4Bench.int4Keys(int4),
    peak_rss_mb: rss,
  };
  if (args.json) console.log(JSON.stringify(result));
}

/** The llama-server / glm5 serve comparison on the `small` preset (bench/serving-compare.ts). */
async function compareServingHere(serving: ServingResult, V: number, threads: number) {
  const { compareServing } = await import('./serving-compare.js');
  const gguf = join(MODELS, 'small-bf16.gguf');
  const exportGguf = async () => (await import('../src/gguf/export.js')).exportGguf(presetDir('small'), gguf, { dtype: 'bf16' });
  return compareServing({ serving, dir: presetDir('small'), gguf, exportGguf, V, threads, log });
}

/** long_prefill_* keys: tok/s per length, the fraction of the FMA peak at 32768, ours ÷ llama-server at 16384. */
function longKeys(r: { tok_s: Record<string, number>; gflop_s: Record<string, number>; llamaserver_tok_s: number | null }, peak: number | null) {
  return {
    long_prefill_tok_s: r.tok_s,
    long_prefill_gflop_s: r.gflop_s,
    long_prefill_peak_fraction: peak && r.gflop_s[32768] ? r.gflop_s[32768] / peak : null,
    llamaserver_long_prefill_tok_s: r.llamaserver_tok_s,
    llamaserver_long_prefill_ratio: r.llamaserver_tok_s && r.tok_s[16384] ? r.tok_s[16384] / r.llamaserver_tok_s : null,
  };
}

function argmaxOf(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

await main();
