// Reference MoE expert compute: a plain loop over tokens and their chosen experts.

import type { MoeArgs } from '../interface.js';
import { matmul } from './linear.js';
import { siluMul } from './elementwise.js';

export function moe(a: MoeArgs): Float32Array {
  const D = a.experts[0]?.down.rows ?? 0;
  const out = new Float32Array(a.T * D);
  for (let t = 0; t < a.T; t++) {
    const x = a.x.subarray(t * D, (t + 1) * D);
    for (let j = 0; j < a.k; j++) {
      const e = a.experts[a.ids[t * a.k + j]!];
      if (!e) throw new RangeError(`moe: expert id ${a.ids[t * a.k + j]} out of range`);
      const h = siluMul(matmul(x, 1, e.gate), matmul(x, 1, e.up));
      const y = matmul(h, 1, e.down);
      const wgt = a.weights[t * a.k + j]!;
      for (let i = 0; i < D; i++) out[t * D + i] = out[t * D + i]! + wgt * y[i]!;
    }
  }
  return out;
}
