// Element types of the model's caches (`--kv-cache-dtype`) and a row store that encodes f32 rows into them.
//   f32  — latent rows and indexer keys as computed.
//   bf16 — both rounded to bf16 (round to nearest even): half the bytes; the kernels widen exactly.
//   fp8  — bf16 latent rows, indexer keys as e4m3 with one power-of-two f32 scale per 128 columns of a key
//          (DeepSeek-V3.2's indexer cache: scale = 2^⌈log2(amax / 448)⌉, so value × scale is exact in f32).
// Kernels read every type in place (kernels/interface.ts CacheArray); the expanded MLA form widens the latent
// rows it expands with the readCache op.

import { KV_SCALE_BLOCK, type CacheArray } from '../kernels/interface.js';

export type KvCacheDtype = 'f32' | 'bf16' | 'fp8';
export const KV_CACHE_DTYPES: readonly KvCacheDtype[] = ['f32', 'bf16', 'fp8'];
/** The default: bf16 halves the cache for a logit deviation far below bf16 weights' own (README). */
export const DEFAULT_KV_CACHE_DTYPE: KvCacheDtype = 'bf16';

export type RowType = 'f32' | 'bf16' | 'fp8';

/** Element types of the latent rows and of the indexer keys for a cache dtype. */
export function rowTypes(d: KvCacheDtype): { readonly latent: RowType; readonly keys: RowType } {
  return d === 'f32' ? { latent: 'f32', keys: 'f32' } : { latent: 'bf16', keys: d === 'fp8' ? 'fp8' : 'bf16' };
}

/** Bytes one row of `width` elements takes (fp8: with its scales). */
export function rowBytes(type: RowType, width: number): number {
  return type === 'f32' ? 4 * width : type === 'bf16' ? 2 * width : width + 4 * Math.ceil(width / KV_SCALE_BLOCK);
}

export function isKvCacheDtype(s: string): s is KvCacheDtype {
  return (KV_CACHE_DTYPES as readonly string[]).includes(s);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** e4m3fn code of v (|v| ≤ 448 after scaling; larger magnitudes saturate), round to nearest even. */
export function e4m3Code(v: number): number {
  f32[0] = v;
  const u = u32[0]!,
    sign = (u >>> 24) & 0x80,
    a = u & 0x7fffffff;
  if (a >= 0x3c800000) {
    // Normal (≥ 2^-6): f32 exponent − 120 is e4m3's, keep 3 mantissa bits (rounding may carry into the exponent).
    const code = ((a + 0x7ffff + ((a >>> 20) & 1)) >>> 20) - (120 << 3);
    return sign | Math.min(code, 0x7e);
  }
  // Subnormal: m × 2^-9, m = round-half-even(|v| · 512) ∈ [0, 8] (8 is the smallest normal, code 8).
  f32[0] = a === 0 ? 0 : Math.abs(v) * 512;
  const x = f32[0]!,
    fl = Math.floor(x),
    d = x - fl;
  const m = d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  return sign | m;
}

/** A store of [rows, width] cache rows of one element type; `data` (and `scales`) are what kernels read. */
export class RowStore {
  data: CacheArray;
  scales: Float32Array | undefined;
  private readonly blocks: number;

  constructor(
    readonly type: RowType,
    readonly width: number,
    rows: number,
  ) {
    this.blocks = Math.ceil(width / KV_SCALE_BLOCK);
    this.data = type === 'f32' ? new Float32Array(rows * width) : type === 'bf16' ? new Uint16Array(rows * width) : new Uint8Array(rows * width);
    this.scales = type === 'fp8' ? new Float32Array(rows * this.blocks) : undefined;
  }

  get rows(): number {
    return this.data.length / this.width;
  }

  /** Grows to at least `rows` rows (doubling), keeping the contents. */
  ensure(rows: number): void {
    if (rows <= this.rows) return;
    let cap = Math.max(this.rows, 1);
    while (cap < rows) cap *= 2;
    const next = new RowStore(this.type, this.width, cap);
    (next.data as Uint8Array).set(this.data as Uint8Array);
    if (this.scales) next.scales!.set(this.scales);
    this.data = next.data;
    this.scales = next.scales;
  }

  /** Encodes src rows [srcRow, srcRow + n) ([·, width] f32) into rows [at, at + n). */
  write(at: number, src: Float32Array, srcRow: number, n: number): void {
    const W = this.width,
      from = srcRow * W,
      to = at * W,
      len = n * W;
    if (this.type === 'f32') {
      (this.data as Float32Array).set(src.subarray(from, from + len), to);
    } else if (this.type === 'bf16') {
      const s = new Uint32Array(src.buffer, src.byteOffset + from * 4, len),
        d = this.data as Uint16Array;
      for (let i = 0; i < len; i++) {
        const u = s[i]!;
        d[to + i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
      }
    } else {
      for (let r = 0; r < n; r++) this.writeFp8(at + r, src, from + r * W);
    }
  }

  private writeFp8(row: number, src: Float32Array, off: number): void {
    const W = this.width,
      d = this.data as Uint8Array;
    for (let b = 0; b < this.blocks; b++) {
      const c0 = b * KV_SCALE_BLOCK,
        c1 = Math.min(W, c0 + KV_SCALE_BLOCK);
      let amax = 0;
      for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(src[off + c]!));
      const scale = 2 ** Math.ceil(Math.log2(Math.max(amax, 1e-30) / 448));
      this.scales![row * this.blocks + b] = scale;
      const inv = 1 / scale;
      for (let c = c0; c < c1; c++) d[row * W + c] = e4m3Code(src[off + c]! * inv);
    }
  }
}
