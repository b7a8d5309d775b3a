// Reference rotary embedding. Angles follow HF: inv_freq and p·inv_freq in f32, cos/sin rounded to f32.

import type { RopeArgs } from '../interface.js';

export function ropeInvFreq(dim: number, theta: number): Float32Array {
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / dim));
  return inv;
}

export function rope(a: RopeArgs): void {
  const half = a.dim / 2;
  const inv = ropeInvFreq(a.dim, a.theta);
  const cos = new Float64Array(half),
    sin = new Float64Array(half);
  for (let t = 0; t < a.T; t++) {
    const p = a.positions[t]!;
    for (let i = 0; i < half; i++) {
      const ang = Math.fround(p * inv[i]!);
      cos[i] = Math.fround(Math.cos(ang));
      sin[i] = Math.fround(Math.sin(ang));
    }
    for (let h = 0; h < a.heads; h++) {
      const o = t * a.rowStride + a.offset + h * a.headStride;
      for (let i = 0; i < half; i++) {
        const i0 = a.interleaved ? o + 2 * i : o + i;
        const i1 = a.interleaved ? o + 2 * i + 1 : o + i + half;
        const x0 = a.x[i0]!,
          x1 = a.x[i1]!;
        a.x[i0] = x0 * cos[i]! - x1 * sin[i]!;
        a.x[i1] = x1 * cos[i]! + x0 * sin[i]!;
      }
    }
  }
}
