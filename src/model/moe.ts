// Mixture of experts (spec §3.9): sigmoid router in f32, correction bias for selection only,
// group-limited top-k, normalised and scaled weights, plus the always-on shared expert.

import type { ModelConfig } from './config.js';
import type { MoeWeights } from './weights.js';
import type { StepContext } from './context.js';

export interface Routing {
  /** [T, K] expert ids and combine weights. */
  readonly ids: Int32Array;
  readonly weights: Float32Array;
}

/** Routing decisions from router logits [T, E] (pure function; tested on its own). */
export function route(cfg: ModelConfig, logits: Float32Array, bias: Float32Array, T: number): Routing {
  const E = cfg.nRoutedExperts,
    K = cfg.numExpertsPerTok,
    G = cfg.nGroup,
    per = E / G;
  const ids = new Int32Array(T * K);
  const weights = new Float32Array(T * K);
  // Scratch reused across calls: a fresh off-heap typed array costs microseconds here, ~40 per decode step.
  const { s, choice, gScore, keepGroup, picked } = routeScratch(E, G);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) {
      // f32 router math, as HF: logits are f32, sigmoid rounded to f32.
      s[e] = Math.fround(1 / (1 + Math.exp(-logits[t * E + e]!)));
      choice[e] = Math.fround(s[e]! + bias[e]!);
    }
    if (G > 1) {
      // Group score = sum of its two best choice values; experts outside the best topk_group groups
      // are masked to 0.0 (as HF does; sigmoid-based choices are positive in practice).
      for (let g = 0; g < G; g++) {
        let b1 = -Infinity,
          b2 = -Infinity;
        for (let e = g * per; e < (g + 1) * per; e++) {
          const v = choice[e]!;
          if (v > b1) {
            b2 = b1;
            b1 = v;
          } else if (v > b2) b2 = v;
        }
        gScore[g] = b1 + (per > 1 ? b2 : 0);
      }
      keepGroup.fill(0);
      for (let j = 0; j < cfg.topkGroup; j++) keepGroup[argmaxUnmasked(gScore, keepGroup)] = 1;
      for (let g = 0; g < G; g++) if (!keepGroup[g]) choice.fill(0, g * per, (g + 1) * per);
    }
    // Top-K by choice (ties: lower index), by K passes of an arg-max over the not-yet-picked.
    picked.fill(0);
    let sum = 0;
    for (let j = 0; j < K; j++) {
      const e = argmaxUnmasked(choice, picked);
      picked[e] = 1;
      ids[t * K + j] = e;
      sum += s[e]!;
    }
    const norm = cfg.normTopkProb ? sum + 1e-20 : 1;
    for (let j = 0; j < K; j++) weights[t * K + j] = (s[ids[t * K + j]!]! / norm) * cfg.routedScalingFactor;
  }
  return { ids, weights };
}

let scratch: { s: Float64Array; choice: Float64Array; gScore: Float64Array; keepGroup: Uint8Array; picked: Uint8Array } | null = null;
function routeScratch(E: number, G: number) {
  if (!scratch || scratch.s.length !== E || scratch.gScore.length !== G) {
    scratch = { s: new Float64Array(E), choice: new Float64Array(E), gScore: new Float64Array(G), keepGroup: new Uint8Array(G), picked: new Uint8Array(E) };
  }
  return scratch;
}

function argmaxUnmasked(v: Float64Array, masked: Uint8Array): number {
  let best = -1;
  for (let i = 0; i < v.length; i++) if (!masked[i] && (best < 0 || v[i]! > v[best]!)) best = i;
  return best;
}

export function moeForward(ctx: StepContext, layer: number, w: MoeWeights, x: Float32Array): Float32Array {
  const { ops, cfg, T } = ctx;
  const routing = route(cfg, ops.matmul(x, T, w.router, ctx.ws.get('moe.logits', T * w.router.rows)), w.bias, T);
  ctx.trace?.('routing', layer, routing);
  const out = ctx.ws.get('moe.out', T * cfg.hiddenSize);
  if (!w.shared) return ops.moe({ x, T, experts: w.experts, ids: routing.ids, weights: routing.weights, k: cfg.numExpertsPerTok, out });
  // The shared expert joins every token's routed experts as one more expert with weight 1, so one expert
  // pass computes both (one schedule, one read of x; the same sum up to f32 summation order).
  const K = cfg.numExpertsPerTok,
    E = w.experts.length;
  const ids = new Int32Array(T * (K + 1)),
    weights = new Float32Array(T * (K + 1));
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < K; j++) {
      ids[t * (K + 1) + j] = routing.ids[t * K + j]!;
      weights[t * (K + 1) + j] = routing.weights[t * K + j]!;
    }
    ids[t * (K + 1) + K] = E;
    weights[t * (K + 1) + K] = 1;
  }
  return ops.moe({ x, T, experts: withShared(w), ids, weights, k: K + 1, out });
}

// The routed experts plus the shared one, one stable array per layer (backends may cache per array).
const sharedLists = new WeakMap<MoeWeights, MoeWeights['experts']>();
function withShared(w: MoeWeights): MoeWeights['experts'] {
  let list = sharedLists.get(w);
  if (!list) {
    list = [...w.experts, w.shared!];
    sharedLists.set(w, list);
  }
  return list;
}
