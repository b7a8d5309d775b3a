// Long-context kernels vs the TypeScript reference, for every ISA this CPU can run: the indexer's GEMM path
// (≥ 8 scored rows: packed key chunks) and its few-row path, over f32 / bf16 / fp8 keys, contiguous and paged;
// the linear top-k selection on ties and on scores of one magnitude (its second radix level); attention
// over a bf16 latent cache (sparse and dense, paged); readCache (the expanded form's widening gather). Guard
// margins around every output. Also the cache row encodings (bf16 rounding, e4m3 codes, power-of-two fp8
// scales).
//
// Tolerances: attention 2e-5 · max|v| (as kernels-native); indexer: same count, distinct visible keys, and
// every chosen key's f64 score (from the keys as stored) within 1e-5 · Σ|terms| of the k-th best; exact sets
// where every score is distinct by far or tied exactly.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { refOps } from '../src/kernels/ref/index.js';
import { nativeKernels } from '../src/kernels/native.js';
import type { CacheArray, Pages } from '../src/kernels/interface.js';
import { bf16ToF32, E4M3_TABLE, f32ToBf16, f32ToE4m3 } from '../src/tensor/dtype.js';
import { e4m3Code, RowStore, type RowType } from '../src/model/cache-rows.js';

const addon = nativeKernels();
const skip = addon ? false : 'native addon not built (npm install / node-gyp rebuild)';

let seed = 99;
const rand = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const randn = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);

/** Rows of `src` ([rows, width]) stored as `type`, and the f32 values the kernels see. */
function stored(type: RowType, src: Float32Array, width: number): { data: CacheArray; scales?: Float32Array; f32: Float32Array } {
  const st = new RowStore(type, width, src.length / width);
  st.write(0, src, 0, src.length / width);
  const f32 = new Float32Array(src.length);
  const nb = Math.ceil(width / 128);
  for (let i = 0; i < src.length; i++) {
    const r = Math.floor(i / width),
      c = i % width;
    f32[i] =
      type === 'f32'
        ? src[i]!
        : type === 'bf16'
          ? bf16ToF32((st.data as Uint16Array)[i]!)
          : Math.fround(E4M3_TABLE[(st.data as Uint8Array)[i]!]! * st.scales![r * nb + Math.floor(c / 128)]!);
  }
  return { data: st.data, scales: st.scales, f32 };
}

/** A shuffled block table for L keys in blocks of B, inside a pool of `extra` more blocks. */
function pagesFor(L: number, B: number, extra: number): Pages {
  const n = Math.ceil(L / B);
  const ids = Array.from({ length: n + extra }, (_, i) => i).sort(() => rand() - 0.5);
  return { table: Int32Array.from(ids.slice(0, n)), blockSize: B };
}

function physRows(pages: Pages | undefined, L: number): number {
  if (!pages) return L;
  let m = 0;
  for (const b of pages.table) m = Math.max(m, b + 1);
  return m * pages.blockSize;
}

interface IdxCase {
  T: number;
  L: number;
  heads: number;
  dim: number;
  topk: number;
  type: RowType;
  paged?: number;
  ties?: boolean;
  narrow?: boolean;
}

function runIndexerCase(c: IdxCase): void {
  const { T, L, heads, dim, topk } = c;
  const pages = c.paged ? pagesFor(L, c.paged, 3) : undefined;
  const rows = physRows(pages, L);
  let raw = randn(rows * dim);
  let q = randn(T * heads * dim);
  if (c.ties) {
    // Only every 17th key has a positive dot product with any head: the other scores are exact zeros.
    q = Float32Array.from(q, Math.abs);
    raw = Float32Array.from(raw, (v, i) => (Math.floor(i / dim) % 17 === 3 ? Math.abs(v) : -Math.abs(v)));
  }
  if (c.narrow) raw = Float32Array.from(raw, (v) => 1 + 0.01 * v);
  const keys = stored(c.type, raw, dim);
  const weights = c.ties ? Float32Array.from({ length: T * heads }, () => 0.1 + rand()) : randn(T * heads, 1 / Math.sqrt(heads));
  // Rows: two that see ≤ topk keys, the rest beyond (the last sees all L).
  const keyLimit = Int32Array.from({ length: T }, (_, t) => (t === 0 ? Math.min(L, topk) : t === 1 ? Math.min(L, 3) : L - (T - 1 - t) * 7));
  const scale = 1 / Math.sqrt(dim);
  const args = { q, weights, keys: keys.data, keyScales: keys.scales, T, L, heads, dim, scale, keyLimit, topk, pages };
  const want = refOps.indexerTopk(args);
  const K = Math.min(topk, L);
  const g = new Int32Array(T * K + 8).fill(-99);
  addon!.indexerTopk(
    g.subarray(4, 4 + T * K),
    q,
    weights,
    keys.data,
    T,
    L,
    heads,
    dim,
    scale,
    keyLimit,
    topk,
    pages?.table ?? null,
    pages?.blockSize ?? 0,
    keys.scales ?? null,
  );
  assert.ok(g.subarray(0, 4).every((v) => v === -99) && g.subarray(4 + T * K).every((v) => v === -99), 'indexer guard');
  const got = g.subarray(4, 4 + T * K);
  const row = (s: number) => (pages ? pages.table[Math.floor(s / pages.blockSize)]! * pages.blockSize + (s % pages.blockSize) : s);
  for (let t = 0; t < T; t++) {
    const a = Array.from(got.subarray(t * K, (t + 1) * K)),
      b = Array.from(want.subarray(t * K, (t + 1) * K));
    if (keyLimit[t]! <= topk || c.ties) {
      assert.deepEqual(a, b, `${JSON.stringify(c)} row ${t}`);
      continue;
    }
    const score = (s: number): [number, number] => {
      let acc = 0,
        mag = 0;
      for (let h = 0; h < heads; h++) {
        let d = 0,
          m = 0;
        for (let i = 0; i < dim; i++) {
          const p = q[(t * heads + h) * dim + i]! * keys.f32[row(s) * dim + i]!;
          d += p;
          m += Math.abs(p);
        }
        acc += weights[t * heads + h]! * Math.max(0, d * scale);
        mag += Math.abs(weights[t * heads + h]!) * m * scale;
      }
      return [acc, mag];
    };
    assert.equal(new Set(a).size, K, 'distinct keys');
    assert.ok(
      a.every((s, j) => j === 0 || s > a[j - 1]!),
      'ascending positions',
    );
    let kth = Infinity;
    for (const s of b) kth = Math.min(kth, score(s)[0]);
    for (const s of a) {
      assert.ok(s >= 0 && s < keyLimit[t]!, `key ${s} visible`);
      const [sc, mag] = score(s);
      assert.ok(sc >= kth - 1e-5 * mag - 1e-9, `${JSON.stringify(c)} row ${t}: key ${s} score ${sc} below k-th ${kth}`);
    }
  }
}

interface AttCase {
  T: number;
  L: number;
  heads: number;
  dk: number;
  dv: number;
  K?: number;
  paged?: number;
}

function runAttentionCase(c: AttCase): void {
  const { T, L, heads, dk, dv } = c;
  const pages = c.paged ? pagesFor(L, c.paged, 2) : undefined;
  const stride = dk + 3,
    rows = physRows(pages, L);
  const k = stored('bf16', randn(rows * stride), stride).data as Uint16Array;
  const q = randn(T * heads * dk);
  const keyLimit = Int32Array.from({ length: T }, (_, t) => (t === 0 ? 0 : L - (T - 1 - t)));
  let mask: { keyLimit: Int32Array; indices?: Int32Array; k?: number } = { keyLimit };
  if (c.K) {
    const K = Math.min(L, c.K);
    const indices = new Int32Array(T * K);
    for (let t = 0; t < T; t++) {
      const perm = Array.from({ length: L }, (_, i) => i).sort(() => rand() - 0.5);
      for (let j = 0; j < K; j++) indices[t * K + j] = j % 9 === 4 ? -1 : perm[j]!;
    }
    mask = { keyLimit, indices, k: K };
  }
  // MLA latent: one kv head, the value is the key row's first dv columns.
  const args = { q, k, kStride: stride, kOffset: 1, v: k, vStride: stride, vOffset: 1, T, L, heads, kvHeads: 1, dk, dv, scale: 1 / Math.sqrt(dk), mask, pages };
  const want = refOps.attention(args);
  const buf = new Float32Array(T * heads * dv + 32).fill(-12345.5);
  const out = buf.subarray(16, 16 + T * heads * dv);
  addon!.attention(
    out,
    q,
    k,
    stride,
    1,
    k,
    stride,
    1,
    T,
    L,
    heads,
    1,
    dk,
    dv,
    args.scale,
    keyLimit,
    mask.indices ?? null,
    mask.k ?? 0,
    pages?.table ?? null,
    pages?.blockSize ?? 0,
  );
  assert.ok(buf.subarray(0, 16).every((v) => v === -12345.5) && buf.subarray(16 + T * heads * dv).every((v) => v === -12345.5), 'attention guard');
  let vmax = 0;
  for (let i = 0; i < k.length; i++) vmax = Math.max(vmax, Math.abs(bf16ToF32(k[i]!)));
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(out[i]! - want[i]!);
    if (!(d <= 2e-5 * vmax)) assert.fail(`attention ${JSON.stringify(c)} [${i}] native ${out[i]} vs ref ${want[i]}`);
  }
}

describe('long-context kernels vs reference', { skip }, () => {
  after(() => {
    addon?.setIsa('best');
  });
  for (const isa of addon ? addon.isas() : []) {
    describe(isa, () => {
      it('indexerTopk GEMM path (≥ 8 scored rows) and few-row path, f32 / bf16 / fp8 keys, paged', () => {
        addon!.setIsa(isa);
        for (const type of ['f32', 'bf16', 'fp8'] as RowType[]) {
          runIndexerCase({ T: 12, L: 700, heads: 5, dim: 33, topk: 40, type });
          runIndexerCase({ T: 11, L: 1300, heads: 8, dim: 128, topk: 300, type, paged: 48 });
          runIndexerCase({ T: 4, L: 900, heads: 9, dim: 130, topk: 64, type, paged: 16 });
          runIndexerCase({ T: 3, L: 6, heads: 3, dim: 7, topk: 16, type });
        }
      });
      it('indexer selection: exact ties (zeros) and scores of one magnitude', () => {
        addon!.setIsa(isa);
        runIndexerCase({ T: 10, L: 600, heads: 4, dim: 16, topk: 90, type: 'f32', ties: true });
        runIndexerCase({ T: 3, L: 600, heads: 4, dim: 16, topk: 90, type: 'bf16', ties: true });
        // 12K keys of one magnitude: the top 12 bits hold a few bins; the second radix level splits the boundary.
        runIndexerCase({ T: 9, L: 12000, heads: 2, dim: 8, topk: 2048, type: 'f32', narrow: true });
      });
      it('readCache: columns of f32 / bf16 rows, contiguous and paged, exact', () => {
        addon!.setIsa(isa);
        for (const type of ['f32', 'bf16'] as RowType[])
          for (const paged of [0, 16]) {
            const L = 300,
              width = 40,
              pages = paged ? pagesFor(L, paged, 3) : undefined;
            const rows = stored(type, randn(physRows(pages, L) * width), width);
            const args = { data: rows.data as Float32Array | Uint16Array, width, L, from: 7, n: 30, pages };
            const want = refOps.readCache(args);
            const buf = new Float32Array(L * 30 + 32).fill(-12345.5);
            addon!.readCache(buf.subarray(16, 16 + L * 30), args.data, width, L, 7, 30, pages?.table ?? null, pages?.blockSize ?? 0);
            assert.ok(buf.subarray(0, 16).every((v) => v === -12345.5) && buf.subarray(16 + L * 30).every((v) => v === -12345.5), 'readCache guard');
            assert.deepEqual(Array.from(buf.subarray(16, 16 + L * 30)), Array.from(want), `readCache ${type} paged ${paged}`);
          }
      });
      it('attention over a bf16 latent cache: sparse and dense, contiguous and paged', () => {
        addon!.setIsa(isa);
        runAttentionCase({ T: 3, L: 300, heads: 16, dk: 72, dv: 64, K: 200 });
        runAttentionCase({ T: 5, L: 260, heads: 20, dk: 40, dv: 33, paged: 16 });
        runAttentionCase({ T: 1, L: 700, heads: 16, dk: 72, dv: 64, K: 600, paged: 64 });
        runAttentionCase({ T: 2, L: 150, heads: 3, dk: 24, dv: 16, K: 100 });
        runAttentionCase({ T: 6, L: 90, heads: 7, dk: 20, dv: 20 });
      });
    });
  }
});

describe('cache row encodings', () => {
  it('bf16 rows round to nearest even like f32ToBf16 and widen exactly', () => {
    const src = Float32Array.from([...randn(1000, 50), 0, -0, 1e-40, 65504, 3.4e38, -1.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
    const st = new RowStore('bf16', src.length, 1);
    st.write(0, src, 0, 1);
    const back = refOps.readCache({ data: st.data as Uint16Array, width: src.length, L: 1, from: 0, n: src.length });
    for (let i = 0; i < src.length; i++) {
      assert.equal((st.data as Uint16Array)[i], f32ToBf16(src[i]!), `element ${i}`);
      assert.equal(back[i], bf16ToF32(f32ToBf16(src[i]!)));
    }
  });
  it('e4m3 codes match the reference encoder (round to nearest even, saturating)', () => {
    const vals = [0, -0, 448, -448, 500, 1e-9, 2 ** -9, 2 ** -10, 3 * 2 ** -10, 2 ** -6, 0.9 * 2 ** -6, 17, 18, 19, 240, 232, 0.3];
    for (const v of [...vals, ...randn(5000, 460)]) assert.equal(e4m3Code(v), f32ToE4m3(Math.fround(v)), `e4m3(${v})`);
  });
  it('fp8 rows: one power-of-two scale per 128 columns, |error| ≤ 2^-4 of the block max', () => {
    const W = 200,
      src = randn(3 * W, 7);
    const st = new RowStore('fp8', W, 3);
    st.write(0, src, 0, 3);
    for (let r = 0; r < 3; r++)
      for (let b = 0; b < 2; b++) {
        const scale = st.scales![r * 2 + b]!;
        assert.equal(Math.log2(scale), Math.round(Math.log2(scale)), 'power of two');
        let amax = 0;
        for (let c = b * 128; c < Math.min(W, b * 128 + 128); c++) amax = Math.max(amax, Math.abs(src[r * W + c]!));
        for (let c = b * 128; c < Math.min(W, b * 128 + 128); c++) {
          const v = E4M3_TABLE[(st.data as Uint8Array)[r * W + c]!]! * scale;
          assert.ok(Math.abs(v - src[r * W + c]!) <= amax / 16, `row ${r} col ${c}: ${v} vs ${src[r * W + c]}`);
        }
      }
  });
});
