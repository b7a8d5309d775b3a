// Reference masked softmax attention and the DSA indexer (scores in f64, softmax in f64).

import { KV_SCALE_BLOCK, outArray, type AttentionArgs, type CacheArray, type CacheReadArgs, type IndexerArgs, type KeyMask, type Pages } from '../interface.js';
import { bf16ToF32, E4M3_TABLE } from '../../tensor/dtype.js';
import { topkRow } from './elementwise.js';
import { maxOf } from '../../tensor/arrays.js';

/** The keys row t reads, per the mask. */
export function visibleKeys(mask: KeyMask, t: number): number[] {
  const lim = mask.keyLimit[t]!;
  if (!mask.indices) return Array.from({ length: lim }, (_, s) => s);
  const k = mask.k!;
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    const s = mask.indices[t * k + j]!;
    if (s >= 0 && s < lim) out.push(s);
  }
  return out;
}

/** Physical row of logical key s. */
export function pagedRow(pages: Pages | undefined, s: number): number {
  if (!pages) return s;
  const b = Math.floor(s / pages.blockSize);
  if (b >= pages.table.length) throw new RangeError(`key ${s} is beyond the block table (${pages.table.length} blocks)`);
  return pages.table[b]! * pages.blockSize + (s % pages.blockSize);
}

/** Element reader of an f32 or bf16 cache array (bf16 widens exactly). */
function elements(x: Float32Array | Uint16Array): (i: number) => number {
  return x instanceof Uint16Array ? (i) => bf16ToF32(x[i]!) : (i) => x[i]!;
}

/**
 * Element i of row r of a [rows, dim] key cache as the kernels read it: f32, bf16 widened, or fp8 e4m3 times its
 * 128-column block scale (the f32 product).
 */
function keyElements(keys: CacheArray, scales: Float32Array | undefined, dim: number): (r: number, i: number) => number {
  if (keys instanceof Uint8Array) {
    if (!scales) throw new RangeError('indexerTopk: fp8 keys need keyScales');
    const nb = Math.ceil(dim / KV_SCALE_BLOCK);
    return (r, i) => Math.fround(E4M3_TABLE[keys[r * dim + i]!]! * scales[r * nb + Math.floor(i / KV_SCALE_BLOCK)]!);
  }
  const e = elements(keys);
  return (r, i) => e(r * dim + i);
}

export function readCache(a: CacheReadArgs): Float32Array {
  if (a.from + a.n > a.width) throw new RangeError(`readCache: columns [${a.from}, ${a.from + a.n}) outside a row of ${a.width}`);
  const out = outArray(a.out, a.L * a.n, 'readCache'),
    at = elements(a.data);
  for (let s = 0; s < a.L; s++) {
    const o = pagedRow(a.pages, s) * a.width + a.from;
    if (o + a.n > a.data.length) throw new RangeError(`readCache: row ${s} past the end of the cache`);
    for (let i = 0; i < a.n; i++) out[s * a.n + i] = at(o + i);
  }
  return out;
}

export function attention(a: AttentionArgs): Float32Array {
  const { T, heads, kvHeads, dk, dv } = a;
  const group = heads / kvHeads;
  const out = new Float32Array(T * heads * dv);
  const kAt = elements(a.k),
    vAt = elements(a.v);
  for (let t = 0; t < T; t++) {
    const keys = visibleKeys(a.mask, t);
    for (const s of keys) if (s >= a.L) throw new RangeError(`attention: key ${s} ≥ L=${a.L}`);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      const qo = (t * heads + h) * dk;
      const scores = keys.map((s) => {
        const ko = a.kOffset + pagedRow(a.pages, s) * a.kStride + g * dk;
        let acc = 0;
        for (let i = 0; i < dk; i++) acc += a.q[qo + i]! * kAt(ko + i);
        return acc * a.scale;
      });
      const m = maxOf(scores);
      const p = scores.map((x) => Math.exp(x - m));
      const sum = p.reduce((x, y) => x + y, 0);
      const oo = (t * heads + h) * dv;
      for (let i = 0; i < dv; i++) {
        let acc = 0;
        keys.forEach((s, j) => (acc += p[j]! * vAt(a.vOffset + pagedRow(a.pages, s) * a.vStride + g * dv + i)));
        out[oo + i] = keys.length ? acc / sum : 0;
      }
    }
  }
  return out;
}

export function indexerTopk(a: IndexerArgs): Int32Array {
  const { T, L, heads, dim } = a;
  const K = Math.min(a.topk, L);
  const out = new Int32Array(T * K).fill(-1);
  const scores = new Float32Array(L);
  const key = keyElements(a.keys, a.keyScales, dim);
  for (let t = 0; t < T; t++) {
    const lim = a.keyLimit[t]!;
    if (lim <= a.topk) {
      for (let s = 0; s < lim; s++) out[t * K + s] = s;
      continue;
    }
    for (let s = 0; s < L; s++) {
      if (s >= lim) {
        scores[s] = -Infinity;
        continue;
      }
      let acc = 0;
      const r = pagedRow(a.pages, s);
      for (let h = 0; h < heads; h++) {
        const qo = (t * heads + h) * dim;
        let d = 0;
        for (let i = 0; i < dim; i++) d += a.q[qo + i]! * key(r, i);
        acc += a.weights[t * heads + h]! * Math.max(0, d * a.scale);
      }
      scores[s] = acc;
    }
    topkRow(scores, 0, L, K, out, t * K);
    // A set: in ascending position order (attention then sums in the order dense attention does).
    out.subarray(t * K, (t + 1) * K).sort();
  }
  return out;
}
