// Native kernels vs the TypeScript reference, for every ISA this CPU can run (setIsa), on random shapes
// with odd sizes, every weight format (fp8 with partial edge blocks and a rowOffset slice, int8), and
// guard bytes around outputs. Skips when the addon is not built.
//
// Tolerances (|native − ref| ≤ bound):
//   matmul / matmulT / moe : 1e-5 · Σ|x·w| + 1e-6 (f32 accumulation vs the reference's f64)
//   gatherRows, topk, addInPlace : exact
//   rmsNorm, layerNorm, softmax : 1e-6 · |ref| + 1e-7 (f64 statistics, like the reference)
//   rope : 1e-6 · (|x0| + |x1|) (same f32 angles; cos/sin from a different libm)
//   siluMul : 2e-6 · |ref| + 1e-7 (f32 exp)
//   attention : 2e-5 · max|v| (f32 scores and online softmax)
//   indexerTopk : exact when keyLimit ≤ topk; else same count, and every chosen key's f64 score within
//                 1e-5 · scale of the k-th best (f32 scoring may reorder near-ties)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { refOps } from '../src/kernels/ref/index.js';
import { nativeKernels, nativeOps, weightArgs } from '../src/kernels/native.js';
import type { Ops } from '../src/kernels/interface.js';
import { dequantize, f32Weight, quantizeInt8, sliceRows, type LinearWeight, type WeightFormat } from '../src/tensor/weight.js';
import { f32ToBf16, f32ToE4m3, f32ToF16 } from '../src/tensor/dtype.js';
import { maxOf, minOf } from '../src/tensor/arrays.js';

const addon = nativeKernels();
const skip = addon ? false : 'native addon not built (npm install / node-gyp rebuild)';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(12345);
const randn = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);

/** Bytes at an odd offset inside a larger buffer: kernels must not assume alignment. */
function unaligned(bytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(bytes.length + 3);
  buf.set(bytes, 1);
  return buf.subarray(1, 1 + bytes.length);
}

function makeWeight(format: WeightFormat, rows: number, cols: number, block: [number, number] = [128, 128], rowOffset = 0): LinearWeight {
  const v = randn(rows * cols);
  if (format === 'f32') {
    const w = f32Weight('w', rows, cols, v);
    return { ...w, data: unaligned(w.data) };
  }
  if (format === 'bf16' || format === 'f16') {
    const d = new Uint8Array(rows * cols * 2);
    const dv = new DataView(d.buffer);
    for (let i = 0; i < v.length; i++) dv.setUint16(2 * i, format === 'bf16' ? f32ToBf16(v[i]!) : f32ToF16(v[i]!), true);
    return { name: 'w', format, rows, cols, data: unaligned(d) };
  }
  if (format === 'int8') {
    const q = quantizeInt8(f32Weight('w', rows, cols, v));
    return { ...q, data: unaligned(q.data) };
  }
  // fp8: a taller tensor, sliced at rowOffset so block scales are found through the offset.
  const [br, bc] = block;
  const R = rows + rowOffset;
  const sr = Math.ceil(R / br),
    sc = Math.ceil(cols / bc);
  const scales = Float32Array.from({ length: sr * sc }, () => 0.001 + rand() * 0.01);
  const d = new Uint8Array(R * cols);
  for (let r = 0; r < R; r++) for (let c = 0; c < cols; c++) d[r * cols + c] = f32ToE4m3((rand() * 2 - 1) * 400);
  const full: LinearWeight = { name: 'w', format: 'fp8', rows: R, cols, data: unaligned(d), scales, blockRows: br, blockCols: bc, rowOffset: 0 };
  return rowOffset ? sliceRows(full, rowOffset, rows) : full;
}

/** Σ|x·w| per output, the scale of f32 rounding error in a dot product. */
function absDots(x: Float32Array, T: number, w: LinearWeight, transposed: boolean): Float64Array {
  const W = dequantize(w);
  const { rows, cols } = w;
  const out = new Float64Array(T * (transposed ? cols : rows));
  for (let t = 0; t < T; t++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        if (transposed) out[t * cols + c] += Math.abs(x[t * rows + r]! * W[r * cols + c]!);
        else out[t * rows + r] += Math.abs(x[t * cols + c]! * W[r * cols + c]!);
      }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, bound: (i: number) => number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= bound(i))) assert.fail(`${what}: [${i}] native ${got[i]} vs ref ${want[i]} (|Δ| ${d} > ${bound(i)})`);
  }
}

const SENTINEL = -12345.5;
const GUARD = 16;
/** A view of `n` floats with sentinel guard margins; `check()` asserts the margins are untouched. */
function guarded(n: number): { out: Float32Array; check: (what: string) => void } {
  const buf = new Float32Array(n + 2 * GUARD).fill(SENTINEL);
  const out = buf.subarray(GUARD, GUARD + n);
  return {
    out,
    check(what) {
      for (let i = 0; i < GUARD; i++) {
        assert.equal(buf[i], SENTINEL, `${what}: wrote before the output`);
        assert.equal(buf[GUARD + n + i], SENTINEL, `${what}: wrote past the output`);
      }
    },
  };
}

const FORMATS: WeightFormat[] = ['f32', 'bf16', 'f16', 'fp8', 'int8'];
// [rows, cols, fp8 block, rowOffset]
const SHAPES: [number, number, [number, number], number][] = [
  [1, 1, [128, 128], 0],
  [5, 7, [2, 3], 1],
  [17, 33, [4, 8], 3],
  [13, 130, [128, 128], 5],
  [33, 600, [16, 32], 0],
  [300, 700, [128, 128], 130],
];

const isas = addon ? addon.isas() : [];

describe('native kernels vs reference', { skip }, () => {
  let ops: Ops;
  before(() => {
    ops = nativeOps()!;
  });
  after(() => {
    addon?.setIsa('best');
  });

  for (const isa of isas) {
    describe(isa, () => {
      before(() => {
        assert.equal(addon!.setIsa(isa), isa);
      });

      it('matmul and matmulT, every format and odd shape', () => {
        for (const format of FORMATS) {
          for (const [rows, cols, block, off] of SHAPES) {
            const w = makeWeight(format, rows, cols, block, format === 'fp8' ? off : 0);
            const Ts = rows * cols > 100000 ? [1, 13] : [1, 3, 17];
            for (const T of Ts) {
              const what = `${isa} ${format} [${rows}x${cols}] T=${T}`;
              const x = randn(T * cols);
              const g = guarded(T * rows);
              addon!.matmul(g.out, x, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
              g.check(`matmul ${what}`);
              const ad = absDots(x, T, w, false);
              assertClose(g.out, refOps.matmul(x, T, w), (i) => 1e-5 * ad[i]! + 1e-6, `matmul ${what}`);
              const xt = randn(T * rows);
              const gt = guarded(T * cols);
              addon!.matmulT(gt.out, xt, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
              gt.check(`matmulT ${what}`);
              const adt = absDots(xt, T, w, true);
              assertClose(gt.out, refOps.matmulT(xt, T, w), (i) => 1e-5 * adt[i]! + 1e-6, `matmulT ${what}`);
            }
          }
        }
      });

      it('headMatmul: every format, transposed or not, strided x, fp8 heads straddling scale blocks', () => {
        // [heads, headRows, rowStart, n, cols, fp8 block, base rowOffset]
        const cases: [number, number, number, number, number, [number, number], number][] = [
          [3, 96, 32, 64, 40, [128, 128], 5], // heads' row blocks straddle 128-row scale blocks
          [4, 24, 0, 24, 130, [16, 32], 0],
          [2, 40, 7, 33, 70, [128, 128], 0],
          [5, 9, 1, 8, 16, [8, 8], 3],
        ];
        for (const format of FORMATS) {
          for (const [heads, headRows, rowStart, n, cols, block, off] of cases) {
            const w = makeWeight(format, heads * headRows, cols, block, format === 'fp8' ? off : 0);
            for (const transposed of [false, true]) {
              for (const T of [1, 3, 5, 17]) {
                const inW = transposed ? n : cols,
                  outW = transposed ? cols : n;
                const xStride = inW + 3,
                  xOffset = 2;
                const x = randn(xOffset + T * heads * xStride + 1);
                const args = { x, xStride, xOffset, T, heads, w, headRows, rowStart, n, transposed };
                const r = refOps.headMatmul(args);
                const g = guarded(T * heads * outW);
                // spread-ok: weightArgs is a fixed 8-tuple
                addon!.headMatmul(g.out, x, xStride, xOffset, T, heads, headRows, rowStart, n, transposed, ...weightArgs(w));
                const what = `headMatmul ${isa} ${format} ${JSON.stringify({ heads, headRows, rowStart, n, cols, transposed, T })}`;
                g.check(what);
                const bound = new Float64Array(T * heads * outW);
                for (let h = 0; h < heads; h++) {
                  const xh = new Float32Array(T * inW);
                  for (let t = 0; t < T; t++) xh.set(x.subarray(xOffset + (t * heads + h) * xStride, xOffset + (t * heads + h) * xStride + inW), t * inW);
                  const ad = absDots(xh, T, sliceRows(w, h * headRows + rowStart, n), transposed);
                  for (let t = 0; t < T; t++) for (let i = 0; i < outW; i++) bound[(t * heads + h) * outW + i] = 1e-5 * ad[t * outW + i]! + 1e-6;
                }
                assertClose(g.out, r, (i) => bound[i]!, what);
                assertClose(ops.headMatmul(args), r, (i) => bound[i]!, `ops ${what}`);
              }
            }
          }
        }
        const w = makeWeight('bf16', 8, 4);
        // spread-ok: weightArgs is a fixed 8-tuple
        assert.throws(() => addon!.headMatmul(new Float32Array(8), new Float32Array(16), 4, 0, 1, 2, 4, 1, 4, false, ...weightArgs(w)), RangeError);
        // spread-ok: weightArgs is a fixed 8-tuple
        assert.throws(() => addon!.headMatmul(new Float32Array(8), new Float32Array(7), 4, 0, 1, 2, 4, 0, 4, false, ...weightArgs(w)), RangeError);
      });

      it('matmulMany: weights of different formats and rows over one input, decode and prefill', () => {
        const cols = 130;
        const ws = [
          makeWeight('bf16', 33, cols, [128, 128], 0),
          makeWeight('fp8', 300, cols, [16, 32], 5),
          makeWeight('f32', 1, cols, [128, 128], 0),
          makeWeight('int8', 70, cols, [128, 128], 0),
        ];
        for (const T of [1, 17, 100]) {
          const x = randn(T * cols);
          const gs = ws.map((w) => guarded(T * w.rows));
          ops.matmulMany(
            x,
            T,
            ws,
            gs.map((g) => g.out),
          );
          ws.forEach((w, i) => {
            gs[i]!.check(`matmulMany ${isa} T=${T} #${i}`);
            const ad = absDots(x, T, w, false);
            assertClose(gs[i]!.out, refOps.matmul(x, T, w), (j) => 1e-5 * ad[j]! + 1e-6, `matmulMany ${isa} T=${T} #${i}`);
          });
        }
        assert.throws(() => ops.matmulMany(randn(cols), 1, [ws[0]!, makeWeight('bf16', 4, cols + 1)]), RangeError);
        assert.throws(() => ops.matmulMany(randn(cols), 1, ws, [new Float32Array(33)]), RangeError);
      });

      it('matmul over several token and K blocks (T = 100, cols = 1100)', () => {
        for (const format of ['bf16', 'fp8'] as WeightFormat[]) {
          const w = makeWeight(format, 37, 1100, [128, 128], 0);
          const x = randn(100 * 1100);
          const ad = absDots(x, 100, w, false);
          assertClose(ops.matmul(x, 100, w), refOps.matmul(x, 100, w), (i) => 1e-5 * ad[i]! + 1e-6, `${isa} ${format}`);
        }
      });

      it('matmul at every few-token count (row streams of 1-8 tokens) and past a panel group (T = 1100)', () => {
        for (const format of ['bf16', 'f16', 'f32', 'int8'] as WeightFormat[]) {
          const w = makeWeight(format, 45, 77, [128, 128], 0);
          for (const T of [2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 24]) {
            const x = randn(T * 77);
            const ad = absDots(x, T, w, false);
            assertClose(ops.matmul(x, T, w), refOps.matmul(x, T, w), (i) => 1e-5 * ad[i]! + 1e-6, `${isa} ${format} T=${T}`);
          }
        }
        const w = makeWeight('bf16', 19, 40, [128, 128], 0);
        const x = randn(1100 * 40);
        const ad = absDots(x, 1100, w, false);
        assertClose(ops.matmul(x, 1100, w), refOps.matmul(x, 1100, w), (i) => 1e-5 * ad[i]! + 1e-6, `${isa} bf16 T=1100`);
      });

      it('gatherRows is exact', () => {
        for (const format of FORMATS) {
          const w = makeWeight(format, 17, 33, [4, 8], format === 'fp8' ? 3 : 0);
          const ids = Int32Array.from([0, 16, 5, 5, 9]);
          const g = guarded(ids.length * 33);
          addon!.gatherRows(g.out, ids, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
          g.check('gatherRows');
          assert.deepEqual(g.out, refOps.gatherRows(w, ids), `${isa} ${format}`);
        }
        assert.throws(() => ops.gatherRows(makeWeight('f32', 3, 4), Int32Array.from([3])), RangeError);
      });

      it('rmsNorm, layerNorm', () => {
        for (const [T, D] of [
          [1, 1],
          [3, 7],
          [17, 130],
          [40, 1030],
        ] as const) {
          const x = randn(T * D, 3),
            w = randn(D),
            b = randn(D);
          const g = guarded(T * D);
          addon!.rmsNorm(g.out, x, T, D, w, 1e-6);
          g.check('rmsNorm');
          const r = refOps.rmsNorm(x, T, D, w, 1e-6);
          assertClose(g.out, r, (i) => 1e-6 * Math.abs(r[i]!) + 1e-7, `rmsNorm ${T}x${D}`);
          const l = refOps.layerNorm(x, T, D, w, b, 1e-5);
          assertClose(ops.layerNorm(x, T, D, w, b, 1e-5), l, (i) => 1e-6 * Math.abs(l[i]!) + 1e-7, `layerNorm ${T}x${D}`);
        }
      });

      it('rope, both layouts, strided heads', () => {
        for (const interleaved of [true, false]) {
          const T = 5,
            heads = 3,
            dim = 40,
            headStride = 46,
            rowStride = 150,
            offset = 6;
          const x = randn(T * rowStride + 4);
          const positions = Int32Array.from([0, 1, 7, 4095, 131071]);
          const a = x.slice(),
            b = x.slice();
          refOps.rope({ x: a, T, rowStride, offset, heads, headStride, dim, positions, theta: 10000, interleaved });
          ops.rope({ x: b, T, rowStride, offset, heads, headStride, dim, positions, theta: 10000, interleaved });
          assertClose(b, a, (i) => 1e-6 * (Math.abs(a[i]!) + 2), `rope interleaved=${interleaved}`);
          for (let i = 0; i < x.length; i++) if (a[i] === x[i]) assert.equal(b[i], x[i], `rope touched element ${i}`);
        }
      });

      it('siluMul, addInPlace, softmax', () => {
        for (const n of [1, 7, 33, 70000]) {
          const g = randn(n, 8),
            u = randn(n);
          const r = refOps.siluMul(g, u);
          assertClose(ops.siluMul(g, u), r, (i) => 2e-6 * Math.abs(r[i]!) + 1e-7, `siluMul ${n}`);
          const a1 = randn(n),
            a2 = a1.slice(),
            b = randn(n);
          refOps.addInPlace(a1, b);
          ops.addInPlace(a2, b);
          assert.deepEqual(a2, a1);
        }
        for (const [T, N] of [
          [1, 1],
          [3, 7],
          [17, 257],
        ] as const) {
          const x = randn(T * N, 10),
            y = x.slice();
          refOps.softmax(x, T, N);
          ops.softmax(y, T, N);
          assertClose(y, x, (i) => 1e-6 * x[i]! + 1e-7, `softmax ${T}x${N}`);
        }
      });

      it('copyBlocks: strided rows and blocks, repeated source block, out-of-range rejected', () => {
        // [rows, blocks, n, src row stride, src block stride, dst offset]: a repeated block (stride 0) and
        // a large case that runs in parallel.
        for (const [rows, blocks, n, srs, sbs, dOff] of [
          [1, 1, 1, 1, 0, 0],
          [5, 3, 7, 40, 9, 2],
          [9, 4, 3, 5, 0, 1],
          [600, 16, 64, 16 * 80, 80, 0],
        ] as const) {
          const src = randn(3 + (rows - 1) * srs + (blocks - 1) * sbs + n);
          const drs = blocks * (n + 2),
            dbs = n + 2;
          const args = { src, srcOffset: 3, srcRowStride: srs, srcBlockStride: sbs, dstOffset: dOff, dstRowStride: drs, dstBlockStride: dbs, rows, blocks, n };
          const want = new Float32Array(dOff + rows * drs).fill(-7),
            got = want.slice();
          refOps.copyBlocks({ ...args, dst: want });
          ops.copyBlocks({ ...args, dst: got });
          assert.deepEqual(got, want, `copyBlocks ${rows}x${blocks}x${n}`);
        }
        const base = {
          src: new Float32Array(10),
          srcOffset: 0,
          srcRowStride: 5,
          srcBlockStride: 0,
          dst: new Float32Array(10),
          dstOffset: 0,
          dstRowStride: 5,
          dstBlockStride: 0,
          rows: 2,
          blocks: 1,
          n: 5,
        };
        assert.throws(() => ops.copyBlocks({ ...base, srcOffset: 1 }), RangeError);
        assert.throws(() => ops.copyBlocks({ ...base, dst: new Float32Array(9) }), RangeError);
      });

      it('topk with ties and -Infinity', () => {
        for (const [T, N, k] of [
          [1, 1, 1],
          [3, 7, 3],
          [17, 256, 8],
          [2, 5000, 300],
        ] as const) {
          const x = Float32Array.from({ length: T * N }, () => Math.round(rand() * 20) / 4);
          x[0] = -Infinity;
          if (N > 2) x[2] = -0;
          const g = new Int32Array(T * k + 8).fill(-99);
          addon!.topk(g.subarray(4, 4 + T * k), x, T, N, k);
          assert.deepEqual(g.subarray(4, 4 + T * k), refOps.topk(x, T, N, k), `topk ${T}x${N} k=${k}`);
          assert.ok(g.subarray(0, 4).every((v) => v === -99) && g.subarray(4 + T * k).every((v) => v === -99), 'topk guard');
        }
      });

      it('attention: dense and sparse masks, MQA and MHA, shared latent buffer', () => {
        const cases: { T: number; L: number; heads: number; kvHeads: number; dk: number; dv: number; sparse: boolean; K?: number }[] = [
          { T: 3, L: 9, heads: 4, kvHeads: 1, dk: 13, dv: 7, sparse: false },
          { T: 3, L: 9, heads: 4, kvHeads: 4, dk: 8, dv: 8, sparse: true },
          { T: 2, L: 150, heads: 6, kvHeads: 1, dk: 72, dv: 64, sparse: true }, // MLA-like: v = first dv of k
          { T: 4, L: 140, heads: 2, kvHeads: 2, dk: 33, dv: 17, sparse: false },
          { T: 2, L: 70, heads: 3, kvHeads: 1, dk: 20, dv: 9, sparse: true }, // odd head count: a pair + one
          { T: 3, L: 20, heads: 3, kvHeads: 3, dk: 5, dv: 70, sparse: false },
          // tiles: several causal tiles per kv head; more heads than lanes; key lists split across threads
          { T: 70, L: 90, heads: 2, kvHeads: 2, dk: 17, dv: 33, sparse: false },
          { T: 1, L: 600, heads: 70, kvHeads: 1, dk: 24, dv: 20, sparse: false },
          { T: 2, L: 700, heads: 16, kvHeads: 1, dk: 40, dv: 24, sparse: true, K: 500 },
          { T: 9, L: 300, heads: 8, kvHeads: 2, dk: 16, dv: 19, sparse: true, K: 250 },
          { T: 6, L: 200, heads: 12, kvHeads: 1, dk: 9, dv: 8, sparse: false },
          // MLA decode shape (narrow tiles: ≤ 16 query rows, dot-product scores), several key blocks per task
          { T: 1, L: 400, heads: 16, kvHeads: 1, dk: 72, dv: 64, sparse: true, K: 300 },
          { T: 1, L: 333, heads: 17, kvHeads: 1, dk: 72, dv: 64, sparse: false },
        ];
        for (const c of cases) {
          const { T, L, heads, kvHeads, dk, dv } = c;
          const q = randn(T * heads * dk);
          const latent = c.dk === 72;
          const kStride = kvHeads * dk + 3,
            kOffset = 5;
          const k = randn(kOffset + L * kStride);
          const vStride = latent ? kStride : kvHeads * dv + 1,
            vOffset = latent ? kOffset : 2;
          const v = latent ? k : randn(vOffset + L * vStride);
          const keyLimit = Int32Array.from({ length: T }, (_, t) => (t === 0 ? 0 : L - (T - 1 - t)));
          let mask: { keyLimit: Int32Array; indices?: Int32Array; k?: number } = { keyLimit };
          if (c.sparse) {
            const K = Math.min(L, c.K ?? 70);
            const indices = new Int32Array(T * K);
            for (let t = 0; t < T; t++) {
              const perm = Array.from({ length: L }, (_, i) => i).sort(() => rand() - 0.5);
              for (let j = 0; j < K; j++) indices[t * K + j] = j % 9 === 4 ? -1 : perm[j]!;
            }
            mask = { keyLimit, indices, k: K };
          }
          const args = { q, k, kStride, kOffset, v, vStride, vOffset, T, L, heads, kvHeads, dk, dv, scale: 1 / Math.sqrt(dk), mask };
          const r = refOps.attention(args);
          const g = guarded(T * heads * dv);
          addon!.attention(
            g.out,
            q,
            k,
            kStride,
            kOffset,
            v,
            vStride,
            vOffset,
            T,
            L,
            heads,
            kvHeads,
            dk,
            dv,
            args.scale,
            keyLimit,
            mask.indices ?? null,
            mask.k ?? 0,
          );
          g.check('attention');
          assertClose(g.out, r, () => 2e-5, `attention ${JSON.stringify({ ...c })}`);
          for (let i = 0; i < heads * dv; i++) assert.equal(g.out[i], 0, 'row without keys is 0');
        }
      });

      it('attentionMany: a batch of sequences (dense, sparse, paged, bf16, decode and prompt rows) equals attention on each', () => {
        const ops = nativeOps()!;
        // MLA's latent form: 16 heads over one latent head; cases mix what one decode step batches.
        const H = 16,
          dk = 72,
          dv = 64,
          blockSize = 8;
        const make = (T: number, L: number, opts: { sparse?: number; paged?: boolean; bf16?: boolean }) => {
          const q = randn(T * H * dk);
          const f = randn(L * dk);
          let k: Float32Array | Uint16Array = f;
          if (opts.bf16) k = Uint16Array.from(f, (x) => f32ToBf16(x));
          let pages: { table: Int32Array; blockSize: number } | undefined;
          if (opts.paged) {
            // Physical blocks in reverse order, with a gap: logical row s lives in block table[s / blockSize].
            const nb = Math.ceil(L / blockSize);
            const table = Int32Array.from({ length: nb }, (_, b) => 2 * (nb - 1 - b) + 1);
            const rows = 2 * nb * blockSize;
            const phys = opts.bf16 ? new Uint16Array(rows * dk) : new Float32Array(rows * dk);
            for (let s = 0; s < L; s++) phys.set(k.subarray(s * dk, (s + 1) * dk), (table[Math.floor(s / blockSize)]! * blockSize + (s % blockSize)) * dk);
            k = phys;
            pages = { table, blockSize };
          }
          const keyLimit = Int32Array.from({ length: T }, (_, t) => L - (T - 1 - t));
          let mask: { keyLimit: Int32Array; indices?: Int32Array; k?: number } = { keyLimit };
          if (opts.sparse) {
            const K = opts.sparse;
            const indices = new Int32Array(T * K);
            for (let t = 0; t < T; t++) {
              const perm = Array.from({ length: L }, (_, i) => i).sort(() => rand() - 0.5);
              for (let j = 0; j < K; j++) indices[t * K + j] = j % 7 === 3 ? -1 : perm[j]!;
            }
            mask = { keyLimit, indices, k: K };
          }
          return { q, k, kStride: dk, kOffset: 0, v: k, vStride: dk, vOffset: 0, T, L, heads: H, kvHeads: 1, dk, dv, scale: 1 / Math.sqrt(dk), mask, pages };
        };
        const batches = [
          // a decode step: many one-row sequences, paged bf16 caches of different lengths
          Array.from({ length: 9 }, (_, i) => make(1, 20 + 37 * i, { paged: true, bf16: true })),
          // mixed: dense, sparse, long (split key ranges), prompt rows, f32 and bf16
          [make(1, 700, {}), make(3, 90, { sparse: 40 }), make(1, 5, { paged: true }), make(5, 300, { sparse: 120, bf16: true }), make(1, 1, {})],
          // one sequence: the single-attention schedule
          [make(1, 600, { paged: true, bf16: true })],
        ];
        for (const [bi, batch] of batches.entries()) {
          const outs = ops.attentionMany(batch);
          batch.forEach((a, i) => {
            assertClose(outs[i]!, refOps.attention(a), () => 2e-5, `batch ${bi} entry ${i}`);
          });
        }
        const bad = [make(1, 10, {}), make(1, 10, { sparse: 5 })];
        bad[1]!.mask.indices![0] = 10; // visible (limit 10) but ≥ L after the limit is raised
        bad[1] = { ...bad[1]!, L: 10, mask: { ...bad[1]!.mask, keyLimit: Int32Array.of(11) } };
        assert.throws(() => ops.attentionMany(bad), /entry 1: key 10 ≥ L=10/);
        assert.deepEqual(ops.attentionMany([]), []);
      });

      it('indexerTopk: keyLimit ≤ topk and > topk, long context', () => {
        for (const { T, L, heads, dim, topk } of [
          { T: 4, L: 50, heads: 5, dim: 33, topk: 8 },
          { T: 2, L: 5000, heads: 32, dim: 64, topk: 100 },
          { T: 3, L: 6, heads: 3, dim: 7, topk: 16 },
        ]) {
          const q = randn(T * heads * dim),
            weights = randn(T * heads, 1 / Math.sqrt(heads)),
            keys = randn(L * dim);
          const keyLimit = Int32Array.from({ length: T }, (_, t) => (t === 0 ? Math.min(L, topk) : t === 1 ? Math.min(L, 3) : L - t));
          const scale = 1 / Math.sqrt(dim);
          const args = { q, weights, keys, T, L, heads, dim, scale, keyLimit, topk };
          const r = refOps.indexerTopk(args);
          const K = Math.min(topk, L);
          const g = new Int32Array(T * K + 8).fill(-99);
          addon!.indexerTopk(g.subarray(4, 4 + T * K), q, weights, keys, T, L, heads, dim, scale, keyLimit, topk);
          assert.ok(g.subarray(0, 4).every((v) => v === -99) && g.subarray(4 + T * K).every((v) => v === -99), 'indexer guard');
          const n = g.subarray(4, 4 + T * K);
          for (let t = 0; t < T; t++) {
            const got = Array.from(n.subarray(t * K, (t + 1) * K)),
              want = Array.from(r.subarray(t * K, (t + 1) * K));
            if (keyLimit[t]! <= topk) {
              assert.deepEqual(got, want, `indexer row ${t} (all visible keys)`);
              continue;
            }
            const score = (s: number): number => {
              let acc = 0;
              for (let h = 0; h < heads; h++) {
                let d = 0;
                for (let i = 0; i < dim; i++) d += q[(t * heads + h) * dim + i]! * keys[s * dim + i]!;
                acc += weights[t * heads + h]! * Math.max(0, d * scale);
              }
              return acc;
            };
            assert.equal(new Set(got).size, K, 'distinct keys');
            const kth = minOf(want.map(score));
            for (const s of got) {
              assert.ok(s >= 0 && s < keyLimit[t]!, `key ${s} visible`);
              assert.ok(score(s) >= kth - 1e-5 * scale, `row ${t}: key ${s} score ${score(s)} below k-th ${kth}`);
            }
          }
        }
      });

      it('moe with repeated experts', () => {
        for (const format of ['bf16', 'int8', 'fp8'] as WeightFormat[]) {
          const D = 40,
            I = 24,
            E = 6,
            T = 5,
            k = 3;
          const experts = Array.from({ length: E }, () => ({
            gate: makeWeight(format, I, D, [8, 16]),
            up: makeWeight(format, I, D, [8, 16]),
            down: makeWeight(format, D, I, [8, 16]),
          }));
          const ids = Int32Array.from([0, 2, 5, 2, 0, 1, 5, 2, 0, 2, 3, 4, 1, 0, 2]);
          const weights = randn(T * k);
          const x = randn(T * D);
          const args = { x, T, experts, ids, weights, k };
          const r = refOps.moe(args);
          const mag = maxOf(r.map(Math.abs));
          const g = guarded(T * D);
          const used = experts.flatMap((e) => [e.gate, e.up, e.down]);
          addon!.moe(g.out, x, T, D, used, ids, weights, k);
          g.check('moe');
          assertClose(g.out, r, () => 1e-5 * mag + 1e-6, `moe ${format}`);
          assertClose(ops.moe(args), r, () => 1e-5 * mag + 1e-6, `moe ops ${format}`);
          // prefill schedule: 150 tokens (expert 0 in every token: > 128 rows, two token chunks), per-expert
          // intermediate widths, several row chunks per expert
          {
            const T2 = 150,
              k2 = 3,
              D2 = 300,
              widths = [130, 24, 7, 64, 33];
            const ex2 = widths.map((I2) => ({
              gate: makeWeight(format, I2, D2, [8, 16]),
              up: makeWeight(format, I2, D2, [8, 16]),
              down: makeWeight(format, D2, I2, [8, 16]),
            }));
            const ids2 = new Int32Array(T2 * k2);
            for (let t = 0; t < T2; t++) {
              ids2[t * k2] = 0;
              ids2[t * k2 + 1] = 1 + (t % 4);
              ids2[t * k2 + 2] = 1 + ((t + 1 + (t % 3)) % 4);
            }
            const a2 = { x: randn(T2 * D2), T: T2, experts: ex2, ids: ids2, weights: randn(T2 * k2), k: k2 };
            const r2 = refOps.moe(a2);
            const mag2 = maxOf(r2.map(Math.abs));
            assertClose(ops.moe(a2), r2, () => 1e-5 * mag2 + 1e-6, `moe T=150 ${format}`);
          }
          // decode (T = 1): the fused gate/up then down path; a wide D to get several row chunks
          for (const [D1, I1] of [
            [40, 24],
            [600, 200],
          ] as const) {
            const ex1 = Array.from({ length: 4 }, () => ({
              gate: makeWeight(format, I1, D1, [8, 16]),
              up: makeWeight(format, I1, D1, [8, 16]),
              down: makeWeight(format, D1, I1, [8, 16]),
            }));
            const a1 = { x: randn(D1), T: 1, experts: ex1, ids: Int32Array.from([3, 0, 2]), weights: randn(3), k: 3 };
            const r1 = refOps.moe(a1);
            const mag1 = maxOf(r1.map(Math.abs));
            assertClose(ops.moe(a1), r1, () => 1e-5 * mag1 + 1e-6, `moe T=1 ${format} D=${D1}`);
          }
        }
      });
    });
  }

  it('rejects out-of-range arguments instead of reading past buffers', () => {
    const w = makeWeight('bf16', 4, 8);
    // spread-ok: weightArgs is a fixed 8-tuple
    assert.throws(() => addon!.matmul(new Float32Array(4), new Float32Array(7), 1, ...weightArgs(w)), RangeError);
    assert.throws(() => addon!.matmul(new Float32Array(3), new Float32Array(8), 1, ...weightArgs(w)), RangeError); // spread-ok: weightArgs is a fixed 8-tuple
    const short = { ...w, data: w.data.subarray(0, 60) };
    assert.throws(() => ops.matmul(new Float32Array(8), 1, short), RangeError);
    const keyLimit = Int32Array.from([3]);
    assert.throws(
      () =>
        ops.attention({
          q: new Float32Array(4),
          k: new Float32Array(8),
          kStride: 4,
          kOffset: 0,
          v: new Float32Array(8),
          vStride: 4,
          vOffset: 0,
          T: 1,
          L: 2,
          heads: 1,
          kvHeads: 1,
          dk: 4,
          dv: 4,
          scale: 1,
          mask: { keyLimit },
        }),
      RangeError,
    );
  });

  it('probes and mmapFile', async () => {
    assert.ok(addon!.threads() >= 1);
    assert.ok(Array.isArray(addon!.cpuFeatures()));
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'glm5-mmap-'));
    const p = join(dir, 'f.bin');
    writeFileSync(p, Uint8Array.from([1, 2, 3, 250]));
    assert.deepEqual(new Uint8Array(addon!.mmapFile(p)), Uint8Array.from([1, 2, 3, 250]));
    writeFileSync(p, new Uint8Array(0));
    assert.equal(addon!.mmapFile(p).byteLength, 0);
    assert.throws(() => addon!.mmapFile(join(dir, 'missing')));
    rmSync(dir, { recursive: true });
  });
});
