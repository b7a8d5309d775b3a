// Mixture of experts (spec §3.9): sigmoid router in f32, correction bias for selection only,
// group-limited top-k, normalised and scaled weights, plus the always-on shared expert.

import type { ModelConfig } from './config.js';
import type { MoeWeights } from './weights.js';
import type { StepContext } from './context.js';
import { swiglu } from './mlp.js';

export interface Routing {
  /** [T, K] expert ids and combine weights. */
  readonly ids: Int32Array;
  readonly weights: Float32Array;
}

/** Routing decisions from router logits [T, E] (pure function; tested on its own). */
export function route(cfg: ModelConfig, logits: Float32Array, bias: Float32Array, T: number): Routing {
  const E = cfg.nRoutedExperts, K = cfg.numExpertsPerTok, G = cfg.nGroup, per = E / G;
  const ids = new Int32Array(T * K);
  const weights = new Float32Array(T * K);
  const s = new Float32Array(E), choice = new Float32Array(E);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) {
      s[e] = 1 / (1 + Math.exp(-logits[t * E + e]!));
      choice[e] = s[e]! + bias[e]!;
    }
    if (G > 1) {
      // Group score = sum of its two best choice values; experts outside the best topk_group groups
      // are masked to 0.0 (as HF does; sigmoid-based choices are positive in practice).
      const gScore = Array.from({ length: G }, (_, g) => {
        const vals = Array.from(choice.subarray(g * per, (g + 1) * per)).sort((x, y) => y - x);
        return vals[0]! + (per > 1 ? vals[1]! : 0);
      });
      const keep = new Set(argTopk(gScore, cfg.topkGroup));
      for (let g = 0; g < G; g++) if (!keep.has(g)) choice.fill(0, g * per, (g + 1) * per);
    }
    const pick = argTopk(Array.from(choice), K);
    let sum = 0;
    for (const e of pick) sum += s[e]!;
    const norm = cfg.normTopkProb ? sum + 1e-20 : 1;
    pick.forEach((e, j) => {
      ids[t * K + j] = e;
      weights[t * K + j] = (s[e]! / norm) * cfg.routedScalingFactor;
    });
  }
  return { ids, weights };
}

function argTopk(v: number[], k: number): number[] {
  return v
    .map((x, i) => [x, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);
}

export function moeForward(ctx: StepContext, layer: number, w: MoeWeights, x: Float32Array): Float32Array {
  const { ops, cfg, T } = ctx;
  const routing = route(cfg, ops.matmul(x, T, w.router), w.bias, T);
  ctx.trace?.('routing', layer, routing);
  const y = ops.moe({ x, T, experts: w.experts, ids: routing.ids, weights: routing.weights, k: cfg.numExpertsPerTok });
  if (w.shared) ops.addInPlace(y, swiglu(ops, w.shared, x, T));
  return y;
}
