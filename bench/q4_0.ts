// llama.cpp's Q4_0 rule (ggml quantize_row_q4_0_ref, used by `llama-quantize` without an importance matrix), for
// the accuracy comparison in bench/quant-accuracy.ts: per 32 weights d = max/−8 (max: the value of largest
// magnitude), q = min(15, trunc(x/d + 8.5)) − 8, all in f32, d stored as f16. Q4_0 has exactly the values of our
// int4 format (q ∈ [−8, 7] times an f16 scale per 32 columns), so its weights are written in that format and run
// through the same kernels; only the scale rule differs. bench/q4-llamacpp.ts checks the bytes against a real
// llama-quantize output when llama.cpp is built.

import { f32ToF16 } from '../src/tensor/dtype.js';
import { int4Groups, int4RowBytes, int4Set } from '../src/tensor/int4.js';
import { dequantRow, type LinearWeight } from '../src/tensor/weight.js';

const f = Math.fround;

/** One Q4_0 block of 32 (fewer at a row end): f16 bits of d and the 4-bit values q − 8. */
export function q4_0Block(v: ArrayLike<number>, c0: number, c1: number, q: Int8Array): number {
  let amax = 0,
    max = 0;
  for (let c = c0; c < c1; c++) {
    if (amax < Math.abs(v[c]!)) {
      amax = Math.abs(v[c]!);
      max = v[c]!;
    }
  }
  const d = f(max / -8),
    id = d ? f(1 / d) : 0;
  for (let c = c0; c < c1; c++) q[c - c0] = Math.min(15, Math.trunc(f(f(v[c]! * id) + 8.5))) - 8;
  return f32ToF16(d);
}

/** A weight quantised with the Q4_0 rule, in the int4 format. */
export function quantizeQ4_0(w: LinearWeight): LinearWeight {
  const { rows, cols } = w,
    g = int4Groups(cols);
  const data = new Uint8Array(rows * int4RowBytes(cols)),
    halfScales = new Uint16Array(rows * g);
  const row = new Float32Array(cols),
    q = new Int8Array(32);
  for (let r = 0; r < rows; r++) {
    dequantRow(w, r, row);
    for (let gi = 0; gi < g; gi++) {
      const c0 = gi * 32,
        c1 = Math.min(cols, c0 + 32);
      halfScales[r * g + gi] = q4_0Block(row, c0, c1, q);
      for (let c = c0; c < c1; c++) int4Set(data, cols, r, c, q[c - c0]!);
    }
  }
  return { name: w.name, format: 'int4', rows, cols, data, halfScales };
}
