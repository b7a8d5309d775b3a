// Reference linear ops: dequantise one weight row at a time, accumulate in f64 (JS numbers).

import { dequantRow, sliceRows, type LinearWeight } from '../../tensor/weight.js';
import type { HeadMatmulArgs } from '../interface.js';

export function matmul(x: Float32Array, T: number, w: LinearWeight): Float32Array {
  const { rows, cols } = w;
  if (x.length < T * cols) throw new Error(`matmul ${w.name}: x has ${x.length} values, need ${T}x${cols}`);
  const y = new Float32Array(T * rows);
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    dequantRow(w, r, row);
    for (let t = 0; t < T; t++) {
      let acc = 0;
      const xo = t * cols;
      for (let c = 0; c < cols; c++) acc += x[xo + c]! * row[c]!;
      y[t * rows + r] = acc;
    }
  }
  return y;
}

export function matmulT(x: Float32Array, T: number, w: LinearWeight): Float32Array {
  const { rows, cols } = w;
  if (x.length < T * rows) throw new Error(`matmulT ${w.name}: x has ${x.length} values, need ${T}x${rows}`);
  const acc = new Float64Array(T * cols);
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    dequantRow(w, r, row);
    for (let t = 0; t < T; t++) {
      const xv = x[t * rows + r]!;
      const o = t * cols;
      for (let c = 0; c < cols; c++) acc[o + c] += xv * row[c]!;
    }
  }
  return Float32Array.from(acc);
}

export function gatherRows(w: LinearWeight, ids: Int32Array): Float32Array {
  const out = new Float32Array(ids.length * w.cols);
  ids.forEach((id, t) => {
    if (id < 0 || id >= w.rows) throw new RangeError(`token id ${id} out of range [0, ${w.rows})`);
    dequantRow(w, id, out.subarray(t * w.cols, (t + 1) * w.cols));
  });
  return out;
}

export function headMatmul(a: HeadMatmulArgs): Float32Array {
  const inW = a.transposed ? a.n : a.w.cols;
  const outW = a.transposed ? a.w.cols : a.n;
  const y = new Float32Array(a.T * a.heads * outW);
  const x = new Float32Array(a.T * inW);
  for (let h = 0; h < a.heads; h++) {
    const wh = sliceRows(a.w, h * a.headRows + a.rowStart, a.n);
    for (let t = 0; t < a.T; t++) {
      const o = a.xOffset + (t * a.heads + h) * a.xStride;
      x.set(a.x.subarray(o, o + inW), t * inW);
    }
    const yh = a.transposed ? matmulT(x, a.T, wh) : matmul(x, a.T, wh);
    for (let t = 0; t < a.T; t++) y.set(yh.subarray(t * outW, (t + 1) * outW), (t * a.heads + h) * outW);
  }
  return y;
}
