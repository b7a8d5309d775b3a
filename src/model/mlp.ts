// SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)). Dense layers and the shared expert.

import type { MlpWeights } from './weights.js';
import type { StepContext } from './context.js';

/** Output in workspace buffer `${role}.out` (roles keep the shared expert and routed experts apart). */
export function swiglu(ctx: StepContext, role: string, w: MlpWeights, x: Float32Array): Float32Array {
  const { ops, T, ws } = ctx;
  const I = w.gate.rows;
  const [g, u] = ops.matmulMany(x, T, [w.gate, w.up], [ws.get(`${role}.gate`, T * I), ws.get(`${role}.up`, T * I)]) as [Float32Array, Float32Array];
  const hidden = ops.siluMul(g, u, ws.get(`${role}.act`, T * I));
  return ops.matmul(hidden, T, w.down, ws.get(`${role}.out`, T * w.down.rows));
}
