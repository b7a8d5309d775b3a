// Reference linear ops: dequantise one weight row at a time, accumulate in f64 (JS numbers).

import { dequantRow, sliceRows, type LinearWeight } from '../../tensor/weight.js';
import { f16ToF32 } from '../../tensor/dtype.js';
import { int4Groups, int4RowValues, quantizeQ8, INT4_GROUP } from '../../tensor/int4.js';
import type { HeadMatmulArgs } from '../interface.js';

export function matmul(x: Float32Array, T: number, w: LinearWeight): Float32Array {
  const { rows, cols } = w;
  if (x.length < T * cols) throw new Error(`matmul ${w.name}: x has ${x.length} values, need ${T}x${cols}`);
  if (w.format === 'int4') return matmulInt4(x, T, w);
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

/** int4 weights: x rounded per 32 columns (quantizeQ8), integer sums per group, both scales once per group. */
function matmulInt4(x: Float32Array, T: number, w: LinearWeight): Float32Array {
  const { rows, cols } = w,
    G = int4Groups(cols);
  const y = new Float32Array(T * rows);
  const qx = new Int8Array(T * cols),
    dx = new Float32Array(T * G),
    q = new Int8Array(cols);
  for (let t = 0; t < T; t++) quantizeQ8(x, t * cols, cols, qx.subarray(t * cols), dx.subarray(t * G));
  for (let r = 0; r < rows; r++) {
    int4RowValues(w.data, cols, r, q);
    for (let t = 0; t < T; t++) {
      let acc = 0;
      for (let g = 0; g < G; g++) {
        let s = 0;
        for (let c = g * INT4_GROUP; c < Math.min(cols, (g + 1) * INT4_GROUP); c++) s += q[c]! * qx[t * cols + c]!;
        acc += Math.fround(f16ToF32(w.halfScales![r * G + g]!) * dx[t * G + g]!) * s;
      }
      y[t * rows + r] = acc;
    }
  }
  return y;
}
