// The int4 weight format (`--quantize int4`): symmetric 4-bit values q ∈ [−8, 7] with one f16 scale per
// row per 32 columns (w = q·d, exact in f32): 4.5 bits per weight, llama.cpp's Q4_0 size. The scale is the
// least-squares one for the best of 19 candidate roundings (Q4_0 takes d = max/−8): on the bundled model's
// weights the relative RMS error drops from 0.0856 (Q4_0's rule) to 0.0806.
//
// Products with int4 weights round their activations too (llama.cpp's Q4_0 x Q8_0): each row of x, per 32 columns,
// to 8-bit integers with an f32 scale (quantizeQ8), so that decode multiplies bytes exactly and applies both
// scales once per group: y = Σ_g fround(d_g · dx_g) · Σ_{c in g} q_c · qx_c. The transposed product (matmulT)
// multiplies the exact weights q·d instead (its sums run along rows, across the groups).
//
// Packing, chosen so that SIMD decode needs no shuffles: a row is ceil(cols/64) blocks of 32 bytes; in a
// block, little-endian dword j (j < 8) holds the weights 8k + j of the block in its nibble k (bits 4k..4k+3),
// two's complement. One 8-lane vector of dwords thus yields 8 consecutive weights per nibble position; the
// padding past `cols` is zero. Scales: Uint16Array [rows, ceil(cols/32)] of f16 bits.

import { f16ToF32, f32ToF16 } from './dtype.js';

/** Columns per int4 scale group. */
export const INT4_GROUP = 32;
/** Columns per packed block (32 bytes). */
export const INT4_BLOCK = 64;

/** Bytes of one packed row. */
export function int4RowBytes(cols: number): number {
  return Math.ceil(cols / INT4_BLOCK) * (INT4_BLOCK / 2);
}

/** Scale groups per row. */
export function int4Groups(cols: number): number {
  return Math.ceil(cols / INT4_GROUP);
}

/** Byte offset of column c inside its row, and the nibble's shift (0 or 4). */
function nibbleAt(c: number): [number, number] {
  const b = c >>> 6,
    i = c & 63,
    k = i >>> 3,
    j = i & 7;
  return [b * 32 + 4 * j + (k >>> 1), (k & 1) * 4];
}

/** Stores q ∈ [−8, 7] at (r, c) of zero-initialised packed data. */
export function int4Set(data: Uint8Array, cols: number, r: number, c: number, q: number): void {
  const [o, s] = nibbleAt(c);
  const i = r * int4RowBytes(cols) + o;
  data[i] = data[i]! | ((q & 15) << s);
}

/** The signed values q of row r. */
export function int4RowValues(data: Uint8Array, cols: number, r: number, out: Int8Array): void {
  const base = r * int4RowBytes(cols);
  for (let c = 0; c < cols; c++) {
    const [o, s] = nibbleAt(c);
    const v = (data[base + o]! >>> s) & 15;
    out[c] = v >= 8 ? v - 16 : v;
  }
}

/** Round half away from zero, spelled out (Math.round rounds halves up; the native code repeats this). */
function roundHalfAway(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/**
 * Activations of int4 products, per group of 32 columns of x[off, off + n): d = amax/127, qx = round(x/d), in f32
 * (llama.cpp's Q8_0 rule with an f32 scale). q gets n values, d one per group.
 */
export function quantizeQ8(x: ArrayLike<number>, off: number, n: number, q: Int8Array, d: Float32Array): void {
  for (let g = 0, c0 = 0; c0 < n; g++, c0 += INT4_GROUP) {
    const c1 = Math.min(n, c0 + INT4_GROUP);
    let amax = 0;
    for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[off + c]!));
    const dd = Math.fround(amax / 127),
      id = dd > 0 ? Math.fround(1 / dd) : 0;
    d[g] = dd;
    for (let c = c0; c < c1; c++) q[c] = Math.max(-127, Math.min(127, roundHalfAway(Math.fround(x[off + c]! * id))));
  }
}

/** Row r as f32: q·d (exact). */
export function dequantInt4Row(data: Uint8Array, scales: Uint16Array, cols: number, r: number, out: Float32Array): void {
  const base = r * int4RowBytes(cols),
    g = int4Groups(cols);
  for (let c = 0; c < cols; c++) {
    const [o, s] = nibbleAt(c);
    const v = (data[base + o]! >>> s) & 15;
    out[c] = Math.fround((v >= 8 ? v - 16 : v) * f16ToF32(scales[r * g + (c >>> 5)]!));
  }
}

/** Round half up (Math.round's rule, spelled out so the native quantizer can match it bit for bit). */
function roundHalfUp(x: number): number {
  const f = Math.floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

const clampQ = (q: number) => (q < -8 ? -8 : q > 7 ? 7 : q);

/**
 * The f16 scale of one group v[c0, c1): the candidate inverse scales −(8 + 0.1·s)/max for s = −9..9 (max: the
 * value of largest magnitude, so it lands near −8), each rounding scored by its least-squares fit
 * (Σvq)²/Σq²; the best fit's d = Σvq/Σq² is rounded to f16. All in f64 (the native quantizer repeats it).
 */
export function int4GroupScale(v: Float32Array, c0: number, c1: number): number {
  let mx = 0,
    amax = 0;
  for (let c = c0; c < c1; c++) {
    const a = Math.abs(v[c]!);
    if (a > amax) {
      amax = a;
      mx = v[c]!;
    }
  }
  if (amax === 0) return 0;
  let best = -1,
    bd = 0;
  for (let s = -9; s <= 9; s++) {
    const is = (-8 + 0.1 * s) / mx;
    let sxq = 0,
      sqq = 0;
    for (let c = c0; c < c1; c++) {
      const q = clampQ(roundHalfUp(v[c]! * is));
      sxq += v[c]! * q;
      sqq += q * q;
    }
    if (sqq > 0 && (sxq * sxq) / sqq > best) {
      best = (sxq * sxq) / sqq;
      bd = sxq / sqq;
    }
  }
  const h = f32ToF16(Math.fround(bd));
  return (h & 0x7fff) >= 0x7c00 ? (h & 0x8000) | 0x7bff : h; // never ±inf: clamp to ±65504
}

/** Quantises rows of f32 values: row(r, buf) fills buf with row r. Returns the packed bytes and f16 scales. */
export function quantizeInt4Rows(rows: number, cols: number, row: (r: number, buf: Float32Array) => void): { data: Uint8Array; scales: Uint16Array } {
  const rb = int4RowBytes(cols),
    g = int4Groups(cols);
  const data = new Uint8Array(rows * rb);
  const scales = new Uint16Array(rows * g);
  const v = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    row(r, v);
    for (let gi = 0; gi < g; gi++) {
      const c0 = gi * INT4_GROUP,
        c1 = Math.min(c0 + INT4_GROUP, cols);
      const h = int4GroupScale(v, c0, c1);
      scales[r * g + gi] = h;
      const d = f16ToF32(h);
      if (d === 0) continue;
      const inv = 1 / d;
      for (let c = c0; c < c1; c++) int4Set(data, cols, r, c, clampQ(roundHalfUp(v[c]! * inv)));
    }
  }
  return { data, scales };
}
