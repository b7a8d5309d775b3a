// Serving benchmark (engine): aggregate throughput at 1 / 4 / 16 concurrent requests (128-token prompts,
// 64 generated tokens each, greedy, EOS ignored), time to first token for a 2048-token shared prefix cold
// vs cached, the engine's own share of step time, and the cost of sampling over a 154,880-token vocabulary.
// Optionally the same throughput workload against llama.cpp's HTTP server (see llamaserver.ts).

import { GlmModel } from '../src/model/model.js';
import type { Ops } from '../src/kernels/interface.js';
import { Engine } from '../src/engine/engine.js';
import { chooseToken, processLogits, Rng as SampleRng } from '../src/engine/sampler.js';
import { resolveSampling, samplingDefaults } from '../src/engine/sampling-params.js';
import { Rng } from '../src/tensor/random.js';
import { maxOf } from '../src/tensor/arrays.js';
import type { LinearWeight } from '../src/tensor/weight.js';
import { paramCounts } from './model-cost.js';

export interface ServingResult {
  /** streams → generated tokens per second of wall time (prefill included), and decode-only rate. */
  throughput_tok_s: Record<string, number>;
  decode_tok_s: Record<string, number>;
  batch16_vs_batch1_throughput: number;
  prefix_ttft_cold_ms: number;
  prefix_ttft_cached_ms: number;
  prefix_hit_ttft_speedup: number;
  /** Share of engine step time outside the op kernels (scheduling, sampling, events, model JS glue). */
  engine_overhead_fraction: number;
  /** Share of step time outside model.step (scheduler, sampling, events only). */
  engine_only_overhead_fraction: number;
  sampling_ms_150k: { greedy: number; top_p: number; top_k: number };
  /** streams → 90th percentile of the gaps between a stream's successive tokens (ms). */
  itl_p90_ms: Record<string, number>;
  /** The 16-stream decode bound (servingRoofline) and the measured decode rate's share of it. */
  serving_roofline_tok_s: number | null;
  serving_roofline_fraction: number | null;
}

const bytesOf = (w: LinearWeight) => w.data.byteLength + (w.scales ? w.scales.byteLength : 0);

/**
 * Decode tok/s bound at `streams` concurrent streams, each at context `ctx`: one step reads every non-expert
 * weight once, the experts its streams' tokens route to (expected distinct count under uniform routing,
 * E·(1 − (1 − k/E)^S)) and each stream's cached latent rows, and does 2 FLOPs per active parameter per token
 * plus attention over the context; the step takes the longer of bytes ÷ bandwidth and FLOPs ÷ FMA peak.
 */
export function servingRoofline(model: GlmModel, streams: number, ctx: number, limits: { bandwidthGBs: number; fmaPeakGflops: number }): number {
  const c = model.cfg,
    w = model.weights;
  let bytes = bytesOf(w.lmHead) + streams * (w.embed.data.byteLength / c.vocabSize);
  let flops = 2 * streams * paramCounts(model).active;
  for (const l of w.layers) {
    const a = l.attn;
    bytes += bytesOf(a.qA) + bytesOf(a.qB) + bytesOf(a.kvA) + bytesOf(a.kvB) + bytesOf(a.o);
    if (a.indexer) bytes += bytesOf(a.indexer.wk);
    bytes += streams * ctx * (c.kvLoraRank + c.qkRopeHeadDim) * 4;
    flops += 2 * streams * ctx * c.numHeads * (c.qkHeadDim + c.vHeadDim);
    const mlps = l.mlp.kind === 'dense' ? [l.mlp.dense] : [];
    if (l.mlp.kind === 'moe') {
      const m = l.mlp.moe,
        E = m.experts.length,
        share = 1 - (1 - c.numExpertsPerTok / E) ** streams;
      bytes += bytesOf(m.router) + E * share * (bytesOf(m.experts[0]!.gate) + bytesOf(m.experts[0]!.up) + bytesOf(m.experts[0]!.down));
      if (m.shared) mlps.push(m.shared);
    }
    for (const m of mlps) bytes += bytesOf(m.gate) + bytesOf(m.up) + bytesOf(m.down);
  }
  const seconds = Math.max(bytes / (limits.bandwidthGBs * 1e9), flops / (limits.fmaPeakGflops * 1e9));
  return streams / seconds;
}

function p90(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(0.9 * s.length))]!;
}

function ids(n: number, V: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => 2 + r.int(V - 2));
}

/** N concurrent greedy requests; returns [generated tok/s over wall, tok/s after the last prefill, wall ms, p90 inter-token ms]. */
async function run(engine: Engine, streams: number, V: number, seed: number): Promise<[number, number, number, number]> {
  const t0 = performance.now();
  let lastFirst = 0,
    afterFirst = 0;
  const firsts: number[] = [],
    gaps: number[] = [];
  const jobs = Array.from({ length: streams }, async (_, i) => {
    const s = engine.submit({ prompt: ids(128, V, seed + i), sampling: { temperature: 0, ignoreEos: true, maxTokens: 64 } });
    let n = 0,
      last = 0;
    for await (const ev of s) {
      if (ev.type !== 'token' || ev.ids.length === 0) continue;
      n++;
      const now = performance.now();
      if (n === 1) firsts.push(now);
      else gaps.push(now - last);
      last = now;
    }
    return n;
  });
  const counts = await Promise.all(jobs);
  const t1 = performance.now();
  lastFirst = maxOf(firsts);
  // Tokens generated after every request had its first token: pure decode at full concurrency.
  afterFirst = counts.reduce((a, b) => a + b, 0) - streams;
  const total = counts.reduce((a, b) => a + b, 0);
  return [(total * 1000) / (t1 - t0), (afterFirst * 1000) / Math.max(1, t1 - lastFirst), t1 - t0, p90(gaps)];
}

/** The same ops, timing every call (kernel time = the sum). */
function timedOps(ops: Ops): { ops: Ops; ms: () => number } {
  let total = 0;
  const o: Record<string, unknown> = { name: ops.name };
  for (const [k, f] of Object.entries(ops)) {
    if (typeof f !== 'function') continue;
    o[k] = (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return (f as (...a: unknown[]) => unknown).apply(ops, args);
      } finally {
        total += performance.now() - t0;
      }
    };
  }
  return { ops: o as unknown as Ops, ms: () => total };
}

export async function benchServing(
  base: GlmModel,
  log: (s: string) => void,
  limits?: { bandwidthGBs: number; fmaPeakGflops: number } | null,
): Promise<ServingResult> {
  const timed = timedOps(base.ops);
  const model = new GlmModel(base.cfg, base.weights, timed.ops);
  const V = model.cfg.vocabSize;
  const engine = new Engine(model, { kvCacheGb: 2, maxRunning: 16, maxStepTokens: 512, blockSize: 32, prefixCache: false });
  await run(engine, 2, V, 900); // warm-up: workspaces reach their sizes
  const throughput: Record<string, number> = {},
    decode: Record<string, number> = {},
    itl: Record<string, number> = {};
  let overhead = 0,
    engineOnly = 0;
  for (const n of [1, 4, 16]) {
    const before = engine.timing(),
      k0 = timed.ms();
    const [tp, dec, ms, gap90] = await run(engine, n, V, 1000 * n);
    const after = engine.timing(),
      k1 = timed.ms();
    throughput[n] = tp;
    decode[n] = dec;
    itl[n] = gap90;
    if (n === 16) {
      overhead = 1 - (k1 - k0) / (after.stepMs - before.stepMs);
      engineOnly = 1 - (after.modelMs - before.modelMs) / (after.stepMs - before.stepMs);
    }
    log(
      `serving: ${n} streams × (128 prompt + 64 generated): ${tp.toFixed(1)} tok/s aggregate (${(ms / 1000).toFixed(1)} s), decode at full concurrency ${dec.toFixed(1)} tok/s, p90 inter-token ${gap90.toFixed(0)} ms`,
    );
  }
  log(
    `  16 streams vs 1: ${(throughput[16]! / throughput[1]!).toFixed(2)}× throughput; at 16 streams ${(overhead * 100).toFixed(2)}% of step time is outside the kernels (${(engineOnly * 100).toFixed(2)}% outside model.step)`,
  );

  // Decode at 16 streams (context 128..192, taken at 192) against what the machine allows.
  const roof = limits ? servingRoofline(model, 16, 192, limits) : null;
  if (roof) log(`  16-stream decode roofline ${roof.toFixed(1)} tok/s → decode at 16 streams is ${((decode[16]! / roof) * 100).toFixed(1)}% of it`);

  // Prefix cache: the same 2048-token prefix with two different 16-token suffixes.
  const cached = new Engine(model, { kvCacheGb: 2, maxRunning: 16, maxStepTokens: 512, blockSize: 32 });
  const prefix = ids(2048, V, 77);
  const ttft = async (suffixSeed: number) => {
    const t0 = performance.now();
    const s = cached.submit({ prompt: [...prefix, ...ids(16, V, suffixSeed)], sampling: { temperature: 0, maxTokens: 1, ignoreEos: true } });
    const r = await s.result;
    return [performance.now() - t0, r.usage.cachedTokens] as const;
  };
  const [cold] = await ttft(1);
  const [hot, hit] = await ttft(2);
  log(
    `prefix cache: 2048-token shared prefix, first token cold ${cold.toFixed(0)} ms vs cached ${hot.toFixed(1)} ms (${hit} tokens from cache) = ${(cold / hot).toFixed(1)}×`,
  );

  // Sampling over a GLM-5-sized vocabulary (154,880), one row, as a decode step would.
  const Vbig = 154880,
    r = new Rng(3);
  const row = Float32Array.from({ length: Vbig }, () => r.normal() * 3);
  const state = {
    outputCounts: new Map([
      [5, 2],
      [9, 1],
    ]),
    seen: new Set([1, 5, 9, 300]),
  };
  const cost = (over: Record<string, unknown>) => {
    const p = resolveSampling(samplingDefaults({}), over);
    const g = new SampleRng(1);
    for (let i = 0; i < 5; i++) chooseToken(processLogits(row, Vbig, p, state), p, g);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) chooseToken(processLogits(row, Vbig, p, state), p, g);
    return (performance.now() - t0) / 50;
  };
  const sampling = {
    greedy: cost({ temperature: 0 }),
    top_p: cost({ temperature: 1, topP: 0.95, repetitionPenalty: 1.1 }),
    top_k: cost({ temperature: 0.7, topK: 40 }),
  };
  log(
    `sampling one 154,880-token row: greedy ${sampling.greedy.toFixed(2)} ms, top-p 0.95 + penalty ${sampling.top_p.toFixed(2)} ms, top-k 40 ${sampling.top_k.toFixed(2)} ms`,
  );
  await engine.close();
  await cached.close();
  return {
    throughput_tok_s: throughput,
    decode_tok_s: decode,
    batch16_vs_batch1_throughput: throughput[16]! / throughput[1]!,
    prefix_ttft_cold_ms: cold,
    prefix_ttft_cached_ms: hot,
    prefix_hit_ttft_speedup: cold / hot,
    engine_overhead_fraction: overhead,
    engine_only_overhead_fraction: engineOnly,
    sampling_ms_150k: sampling,
    itl_p90_ms: itl,
    serving_roofline_tok_s: roof,
    serving_roofline_fraction: roof ? decode[16]! / roof : null,
  };
}
