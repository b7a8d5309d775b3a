// Element types found in safetensors checkpoints and their conversions to f32.

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'I8' | 'U8' | 'I32' | 'I64';

export const DTYPE_BYTES: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  I8: 1,
  U8: 1,
  I32: 4,
  I64: 8,
};

export function isDType(s: string): s is DType {
  return Object.hasOwn(DTYPE_BYTES, s);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** bf16 is the top 16 bits of an f32. */
export function bf16ToF32(bits: number): number {
  u32buf[0] = bits << 16;
  return f32buf[0]!;
}

/** Round-to-nearest-even f32 → bf16 bits (NaN kept quiet). */
export function f32ToBf16(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  const rounded = u + 0x7fff + ((u >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function f32ToF16(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** OCP e4m3fn decode table: bias 7, no infinities, 0x7f/0xff are NaN, max finite ±448. */
export const E4M3_TABLE: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const s = b & 0x80 ? -1 : 1;
    const e = (b >>> 3) & 0xf;
    const m = b & 7;
    if (e === 15 && m === 7) t[b] = NaN;
    else if (e === 0) t[b] = s * 2 ** -6 * (m / 8);
    else t[b] = s * 2 ** (e - 7) * (1 + m / 8);
  }
  return t;
})();

export const E4M3_MAX = 448;

/** Nearest e4m3fn byte for x (ties to even mantissa), saturating at ±448. */
export function f32ToE4m3(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.min(Math.abs(x), E4M3_MAX);
  // Binary search over the 127 non-negative finite codes (monotone in the byte value).
  let lo = 0,
    hi = 0x7e;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (E4M3_TABLE[mid]! <= a) lo = mid;
    else hi = mid - 1;
  }
  let code = lo;
  if (code < 0x7e) {
    const dLo = a - E4M3_TABLE[code]!;
    const dHi = E4M3_TABLE[code + 1]! - a;
    if (dHi < dLo || (dHi === dLo && code & 1)) code++;
  }
  return sign | code;
}
