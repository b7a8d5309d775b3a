// SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)). Dense layers and the shared expert.

import type { MlpWeights } from './weights.js';
import type { StepContext } from './context.js';

/** Output in workspace buffer `${role}.out` (roles keep the shared expert and routed experts apart). */
export function swiglu(ctx: StepContext, role: string, w: MlpWeights, x: Float32Array): Float32Array {
  const { ops, T, ws } = ctx;
  const I = w.gate.rows;
  const g = ops.matmul(x, T, w.gate, ws.get(`${role}.gate`, T * I));
  const u = ops.matmul(x, T, w.up, ws.get(`${role}.up`, T * I));
  const hidden = ops.siluMul(g, u, ws.get(`${role}.act`, T * I));
  return ops.matmul(hidden, T, w.down, ws.get(`${role}.out`, T * w.down.rows));
}
