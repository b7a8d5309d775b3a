// SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)). Dense layers and the shared expert.

import type { Ops } from '../kernels/interface.js';
import type { MlpWeights } from './weights.js';

export function swiglu(ops: Ops, w: MlpWeights, x: Float32Array, T: number): Float32Array {
  return ops.matmul(ops.siluMul(ops.matmul(x, T, w.gate), ops.matmul(x, T, w.up)), T, w.down);
}
