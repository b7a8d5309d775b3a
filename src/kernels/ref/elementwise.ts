// Reference elementwise and row ops: SiLU-mul, add, softmax, top-k, strided copies.

import type { CopyArgs } from '../interface.js';

export function siluMul(gate: Float32Array, up: Float32Array): Float32Array {
  const y = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    y[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return y;
}

export function addInPlace(a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
}

export function softmax(x: Float32Array, T: number, N: number): void {
  for (let t = 0; t < T; t++) {
    const o = t * N;
    let m = -Infinity;
    for (let i = 0; i < N; i++) m = Math.max(m, x[o + i]!);
    let s = 0;
    for (let i = 0; i < N; i++) s += Math.exp(x[o + i]! - m);
    for (let i = 0; i < N; i++) x[o + i] = Math.exp(x[o + i]! - m) / s;
  }
}

/** Top-k of one row (values may be −Infinity); ties broken towards the lower index. */
export function topkRow(x: Float32Array, offset: number, N: number, k: number, out: Int32Array, outOffset: number): void {
  const idx = Array.from({ length: N }, (_, i) => i);
  idx.sort((a, b) => x[offset + b]! - x[offset + a]! || a - b);
  for (let j = 0; j < k; j++) out[outOffset + j] = idx[j]!;
}

export function topk(x: Float32Array, T: number, N: number, k: number): Int32Array {
  if (k > N) throw new RangeError(`topk: k=${k} > N=${N}`);
  const out = new Int32Array(T * k);
  for (let t = 0; t < T; t++) topkRow(x, t * N, N, k, out, t * k);
  return out;
}

export function copyBlocks(a: CopyArgs): void {
  const last = (off: number, rs: number, bs: number) => off + (a.rows - 1) * rs + (a.blocks - 1) * bs + a.n;
  if (a.rows === 0 || a.blocks === 0 || a.n === 0) return;
  if (last(a.srcOffset, a.srcRowStride, a.srcBlockStride) > a.src.length) throw new RangeError('copyBlocks: source range past the end');
  if (last(a.dstOffset, a.dstRowStride, a.dstBlockStride) > a.dst.length) throw new RangeError('copyBlocks: destination range past the end');
  for (let r = 0; r < a.rows; r++)
    for (let b = 0; b < a.blocks; b++) {
      const s = a.srcOffset + r * a.srcRowStride + b * a.srcBlockStride,
        d = a.dstOffset + r * a.dstRowStride + b * a.dstBlockStride;
      for (let i = 0; i < a.n; i++) a.dst[d + i] = a.src[s + i]!;
    }
}
