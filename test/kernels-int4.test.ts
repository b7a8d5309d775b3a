// int4 weights (`--quantize int4`, src/tensor/int4.ts): the reference quantiser's format, the native quantiser
// (bit-identical bytes and scales, from f32 / bf16 / fp8 sources), and every native op over int4 weights vs the
// TypeScript reference for each ISA this CPU can run — odd shapes (partial 64-column blocks, a lone 32-column
// group), T = 1..32 token rows (decode gemv, one and two token panels), unaligned data, guard bytes around
// outputs, head slices, MoE decode and prefill. releasePages: a mapped view is released and still reads the
// same; a heap buffer is never touched.
//
// Bound: |native − ref| ≤ 1e-5 · Σ|x·w| + 1e-6 per output (the same as every other format): the reference rounds the
// activations of int4 products to 8 bits per 32 columns (quantizeQ8) and the native code rounds the same f32 values
// the same way (decode: integer sums; prefill: panels of the rounded values), so only f32 accumulation order and
// the product of the two scales differ; gatherRows exact.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refOps } from '../src/kernels/ref/index.js';
import { nativeKernels, nativeOps, weightArgs } from '../src/kernels/native.js';
import type { Ops } from '../src/kernels/interface.js';
import { dequantize, f32Weight, quantizeInt4, sliceRows, type LinearWeight } from '../src/tensor/weight.js';
import { f16ToF32, f32ToBf16, f32ToE4m3 } from '../src/tensor/dtype.js';
import { int4Groups, int4RowBytes, quantizeQ8 } from '../src/tensor/int4.js';
import { maxOf } from '../src/tensor/arrays.js';
import { writeSafetensors } from '../src/checkpoint/safetensors.js';
import { mapFile, releaseMapped } from '../src/checkpoint/mapped-file.js';

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
const rand = rng(4242);
const randn = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);

/** An int4 weight quantised from random f32 values; its bytes at an odd offset (kernels must not assume alignment). */
function int4Weight(rows: number, cols: number): LinearWeight {
  const q = quantizeInt4(f32Weight('w', rows, cols, randn(rows * cols)));
  const buf = new Uint8Array(q.data.length + 3);
  buf.set(q.data, 1);
  return { ...q, data: buf.subarray(1, 1 + q.data.length) };
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

describe('int4 format and reference quantiser', () => {
  it('packs 4.5 bits per weight and dequantises to q·d with q in [-8, 7]', () => {
    const w = quantizeInt4(f32Weight('w', 3, 100, randn(300)));
    assert.equal(w.data.length, 3 * int4RowBytes(100));
    assert.equal(int4RowBytes(128), 64);
    assert.equal(w.halfScales!.length, 3 * int4Groups(100));
    const W = dequantize(w);
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 100; c++) {
        const d = f16ToF32(w.halfScales![r * 4 + (c >> 5)]!);
        const q = W[r * 100 + c]! / d;
        assert.ok(Number.isInteger(q) && q >= -8 && q <= 7, `q ${q} at ${r},${c}`);
      }
    // The padding of the last block (its columns 36..63: dword j, nibble k holds column 8k + j) is zero.
    for (let r = 0; r < 3; r++)
      for (let i = 36; i < 64; i++) {
        const k = i >> 3,
          byte = w.data[r * 64 + 32 + 4 * (i & 7) + (k >> 1)]!;
        assert.equal((byte >> ((k & 1) * 4)) & 15, 0, `padding nibble ${i} of row ${r}`);
      }
  });

  it('round-trip error: each group within half a step, and better than the max/−8 rule on average', () => {
    const v = randn(64 * 256);
    const w = quantizeInt4(f32Weight('w', 64, 256, v));
    const W = dequantize(w);
    let err = 0,
      errQ40 = 0;
    for (let r = 0; r < 64; r++)
      for (let g = 0; g < 8; g++) {
        const d = Math.abs(f16ToF32(w.halfScales![r * 8 + g]!));
        let mx = 0;
        for (let c = g * 32; c < g * 32 + 32; c++) if (Math.abs(v[r * 256 + c]!) > Math.abs(mx)) mx = v[r * 256 + c]!;
        const d0 = mx / -8;
        for (let c = g * 32; c < g * 32 + 32; c++) {
          const i = r * 256 + c,
            e = Math.abs(W[i]! - v[i]!);
          // Values beyond the clamp can miss by more than half a step; the others round to the nearest level.
          if (Math.abs(v[i]! / d) < 7.5) assert.ok(e <= d / 2 + 1e-6, `half step at ${i}: ${e} vs ${d}`);
          err += e * e;
          const q0 = Math.min(7, Math.max(-8, Math.round(v[i]! / d0)));
          errQ40 += (q0 * d0 - v[i]!) ** 2;
        }
      }
    assert.ok(err < errQ40, `least-squares scales (${err}) should beat max/−8 (${errQ40})`);
  });

  it('activations of int4 products: per 32 values within half a step of round(x/d)·d, d = amax/127, |q| ≤ 127', () => {
    const x = randn(100, 3);
    const q = new Int8Array(100),
      d = new Float32Array(4);
    quantizeQ8(x, 0, 100, q, d);
    for (let g = 0; g < 4; g++) {
      let amax = 0;
      for (let c = g * 32; c < Math.min(100, g * 32 + 32); c++) amax = Math.max(amax, Math.abs(x[c]!));
      assert.equal(d[g], Math.fround(amax / 127));
      for (let c = g * 32; c < Math.min(100, g * 32 + 32); c++) {
        assert.ok(Math.abs(q[c]!) <= 127 && Math.abs(q[c]! * d[g]! - x[c]!) <= d[g]! / 2 + 1e-6, `column ${c}`);
      }
    }
    const z = new Float32Array(32),
      qz = new Int8Array(32),
      dz = new Float32Array(1);
    quantizeQ8(z, 0, 32, qz, dz);
    assert.equal(dz[0], 0);
    assert.ok(qz.every((v) => v === 0));
  });

  it('all-zero groups get scale 0 and values 0', () => {
    const v = new Float32Array(2 * 70);
    v[100] = 0.5;
    const w = quantizeInt4(f32Weight('w', 2, 70, v));
    assert.deepEqual(Array.from(w.halfScales!.slice(0, 3)), [0, 0, 0]);
    assert.equal(dequantize(w)[100], 0.5);
  });
});

describe('native int4 kernels vs reference', { skip }, () => {
  let ops: Ops;
  before(() => {
    ops = nativeOps()!;
  });
  after(() => {
    addon?.setIsa('best');
  });

  it('native quantiser: the same bytes and scales as the reference, from f32, bf16 and fp8', () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 31],
      [5, 64],
      [7, 97],
      [33, 600],
    ] as const) {
      const v = randn(rows * cols, 0.1);
      const f32 = f32Weight('w', rows, cols, v);
      const bf = new Uint16Array(v.map((x) => f32ToBf16(x)));
      const bf16: LinearWeight = { name: 'w', format: 'bf16', rows, cols, data: new Uint8Array(bf.buffer) };
      const fp8: LinearWeight = {
        name: 'w',
        format: 'fp8',
        rows,
        cols,
        data: Uint8Array.from(v, (x) => f32ToE4m3(x * 3000)),
        scales: Float32Array.from({ length: Math.ceil(rows / 4) * Math.ceil(cols / 16) }, () => 1e-4 + rand() * 1e-3),
        blockRows: 4,
        blockCols: 16,
        rowOffset: 0,
      };
      for (const src of [f32, bf16, fp8]) {
        const a = refOps.quantize(src, 'int4'),
          b = ops.quantize(src, 'int4');
        assert.deepEqual(b.data, a.data, `data ${src.format} ${rows}x${cols}`);
        assert.deepEqual(b.halfScales, a.halfScales, `scales ${src.format} ${rows}x${cols}`);
      }
    }
  });

  for (const isa of addon ? addon.isas() : []) {
    describe(isa, () => {
      before(() => {
        assert.equal(addon!.setIsa(isa), isa);
      });

      it('matmul (T = 1..32) and matmulT, odd shapes', () => {
        // cols: a lone group, partial blocks (…+32, …+5), whole blocks, several scale-conversion chunks (> 32 blocks)
        const shapes: [number, number][] = [
          [1, 1],
          [5, 7],
          [17, 33],
          [13, 130],
          [9, 64],
          [33, 600],
          [6, 2112],
          [300, 96],
        ];
        for (const [rows, cols] of shapes) {
          const w = int4Weight(rows, cols);
          const Ts = rows * cols > 50000 ? [1, 2, 17] : Array.from({ length: 32 }, (_, i) => i + 1);
          for (const T of Ts) {
            const what = `${isa} int4 [${rows}x${cols}] T=${T}`;
            const x = randn(T * cols);
            const g = guarded(T * rows);
            addon!.matmul(g.out, x, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
            g.check(`matmul ${what}`);
            const ad = absDots(x, T, w, false);
            assertClose(g.out, refOps.matmul(x, T, w), (i) => 1e-5 * ad[i]! + 1e-6, `matmul ${what}`);
            if (T > 4 && T % 4) continue; // matmulT: a sample of T
            const xt = randn(T * rows);
            const gt = guarded(T * cols);
            addon!.matmulT(gt.out, xt, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
            gt.check(`matmulT ${what}`);
            const adt = absDots(xt, T, w, true);
            assertClose(gt.out, refOps.matmulT(xt, T, w), (i) => 1e-5 * adt[i]! + 1e-6, `matmulT ${what}`);
          }
        }
      });

      it('matmulMany with int4 and bf16 weights over one input', () => {
        const cols = 130;
        const bf = new Uint16Array(randn(20 * cols).map((x) => f32ToBf16(x)));
        const ws = [int4Weight(33, cols), { name: 'b', format: 'bf16', rows: 20, cols, data: new Uint8Array(bf.buffer) } as LinearWeight, int4Weight(70, cols)];
        for (const T of [1, 5, 17, 100]) {
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
      });

      it('headMatmul over int4 row slices, transposed or not, strided x', () => {
        // [heads, headRows, rowStart, n, cols]
        const cases: [number, number, number, number, number][] = [
          [3, 96, 32, 64, 40],
          [4, 24, 0, 24, 130],
          [2, 40, 7, 33, 70],
          [16, 16, 8, 8, 512],
        ];
        for (const [heads, headRows, rowStart, n, cols] of cases) {
          const w = int4Weight(heads * headRows, cols);
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
              ops.headMatmul({ ...args, out: g.out });
              const what = `headMatmul ${isa} int4 ${JSON.stringify({ heads, headRows, rowStart, n, cols, transposed, T })}`;
              g.check(what);
              const bound = new Float64Array(T * heads * outW);
              for (let h = 0; h < heads; h++) {
                const xh = new Float32Array(T * inW);
                for (let t = 0; t < T; t++) xh.set(x.subarray(xOffset + (t * heads + h) * xStride, xOffset + (t * heads + h) * xStride + inW), t * inW);
                const ad = absDots(xh, T, sliceRows(w, h * headRows + rowStart, n), transposed);
                for (let t = 0; t < T; t++) for (let i = 0; i < outW; i++) bound[(t * heads + h) * outW + i] = 1e-5 * ad[t * outW + i]! + 1e-6;
              }
              assertClose(g.out, r, (i) => bound[i]!, what);
            }
          }
        }
      });

      it('gatherRows is exact', () => {
        const w = int4Weight(17, 100);
        const ids = Int32Array.from([0, 16, 5, 5, 9]);
        const g = guarded(ids.length * 100);
        addon!.gatherRows(g.out, ids, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
        g.check('gatherRows');
        assert.deepEqual(g.out, refOps.gatherRows(w, ids));
      });

      it('moe: decode (fused gate/up → down) and prefill (expert panels), repeated experts', () => {
        const cases: [number, number, number, number][] = [
          [40, 24, 5, 1],
          [600, 200, 4, 1],
          [40, 24, 6, 5],
          [200, 130, 5, 40],
        ];
        for (const [D, I, E, T] of cases) {
          const k = 3;
          const experts = Array.from({ length: E }, (_, e) => ({
            gate: int4Weight(I - (T > 1 ? e : 0), D),
            up: int4Weight(I - (T > 1 ? e : 0), D),
            down: int4Weight(D, I - (T > 1 ? e : 0)),
          }));
          const ids = Int32Array.from({ length: T * k }, (_, i) => (i % k === 0 ? 0 : Math.floor(rand() * E)));
          for (let t = 0; t < T; t++) if (ids[t * k + 1] === ids[t * k + 2]) ids[t * k + 2] = (ids[t * k + 2]! + 1) % E;
          const args = { x: randn(T * D), T, experts, ids, weights: randn(T * k), k };
          const r = refOps.moe(args);
          const mag = maxOf(r.map(Math.abs));
          const g = guarded(T * D);
          ops.moe({ ...args, out: g.out });
          g.check(`moe ${isa} D=${D} T=${T}`);
          assertClose(g.out, r, () => 1e-5 * mag + 1e-6, `moe ${isa} D=${D} I=${I} T=${T}`);
        }
      });
    });
  }

  it('rejects int4 weights whose scales are missing, of the wrong type or too short', () => {
    const w = int4Weight(4, 64);
    const x = new Float32Array(64),
      y = new Float32Array(4);
    assert.throws(() => ops.matmul(x, 1, { ...w, halfScales: undefined }), RangeError);
    assert.throws(() => ops.matmul(x, 1, { ...w, halfScales: w.halfScales!.subarray(0, 7) }), RangeError);
    assert.throws(() => ops.matmul(x, 1, { ...w, data: w.data.subarray(0, 127) }), RangeError);
    assert.throws(() => addon!.matmul(y, x, 1, w.data, 5, 4, 64, new Float32Array(8), 1, 1, 0), TypeError);
  });

  it('releasePages drops a mapped view (which still reads the same) and leaves heap memory alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'glm5-int4-'));
    try {
      const v = randn(4096 * 4);
      const p = join(dir, 't.safetensors');
      writeSafetensors(p, [{ name: 't', dtype: 'F32', shape: [v.length], bytes: new Uint8Array(v.buffer) }]);
      const mapped = mapFile(p);
      const before = Float32Array.from(new Float32Array(mapped.slice(mapped.length - v.length * 4).buffer));
      assert.ok(releaseMapped(mapped) >= 4096, 'whole pages of the mapping are released');
      assert.deepEqual(new Float32Array(mapped.slice(mapped.length - v.length * 4).buffer), before);
      const heap = new Uint8Array(1 << 16).fill(7);
      assert.equal(releaseMapped(heap), 0);
      assert.ok(heap.every((b) => b === 7));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
