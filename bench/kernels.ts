// Kernel micro-benchmarks against the machine's limits: decode matvec GB/s per weight format vs measured
// streaming bandwidth, prefill matmul GFLOP/s vs measured FMA peak. Seconds, not minutes.
// Run: node --import tsx bench/kernels.ts

import { randomFillSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { nativeKernels, nativeOps, weightArgs } from '../src/kernels/native.js';
import { INT8_GROUP, type LinearWeight, type WeightFormat } from '../src/tensor/weight.js';
import { f32ToBf16, f32ToE4m3, f32ToF16 } from '../src/tensor/dtype.js';

const N = 4096;

/** A 4096x4096 weight with realistic finite values (a random 64 KiB pattern tiled; no NaN/denormals). */
function weight(format: WeightFormat): LinearWeight {
  const eb = { f32: 4, bf16: 2, f16: 2, fp8: 1, int8: 1 }[format];
  const data = new Uint8Array(N * N * eb);
  const pat = new Uint8Array(1 << 16);
  const dv = new DataView(pat.buffer);
  const r = new Float32Array(pat.length / eb);
  randomFillSync(r);
  for (let i = 0; i < r.length; i++) {
    const v = ((new Uint32Array(r.buffer, i * 4, 1)[0]! / 2 ** 32) * 2 - 1) * 0.05;
    if (format === 'f32') dv.setFloat32(4 * i, v, true);
    else if (format === 'bf16') dv.setUint16(2 * i, f32ToBf16(v), true);
    else if (format === 'f16') dv.setUint16(2 * i, f32ToF16(v), true);
    else if (format === 'fp8') pat[i] = f32ToE4m3(v * 8000);
    else pat[i] = Math.round(v * 2540) & 0xff;
  }
  for (let o = 0; o < data.length; o += pat.length) data.set(pat, o);
  const w: LinearWeight = { name: format, format, rows: N, cols: N, data };
  if (format === 'fp8') return { ...w, scales: new Float32Array(32 * 32).fill(1 / 8000), blockRows: 128, blockCols: 128, rowOffset: 0 };
  if (format === 'int8') return { ...w, scales: new Float32Array(N * (N / INT8_GROUP)).fill(1 / 2540) };
  return w;
}

function bytesOf(w: LinearWeight): number {
  return w.data.byteLength + (w.scales?.byteLength ?? 0);
}

function time(fn: () => void, reps: number): number {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

export async function benchKernels(): Promise<Record<string, number>> {
  const n = nativeKernels();
  if (!n) throw new Error('native addon not built: run npm install (or node-gyp rebuild)');
  const out: Record<string, number> = { threads: n.threads() };
  out.bandwidth_gbs = n.measureBandwidth();
  out.fma_peak_gflops = n.measureFmaPeak();
  // Decode: rotate over enough copies that the working set (≥ 256 MiB) never fits in the LLC.
  const x = new Float32Array(N).fill(0.01);
  const y = new Float32Array(N);
  for (const format of ['bf16', 'fp8', 'int8', 'f32'] as WeightFormat[]) {
    const w0 = weight(format);
    const copies = Math.max(2, Math.ceil((256 << 20) / w0.data.byteLength));
    const ws = [w0, ...Array.from({ length: copies - 1 }, () => ({ ...w0, data: w0.data.slice() }))];
    let i = 0;
    const step = (): void => n.matmul(y, x, 1, ...weightArgs(ws[i++ % ws.length]!)); // spread-ok: weightArgs is a fixed 8-tuple
    for (let k = 0; k < copies; k++) step();
    const perCall =
      time(() => {
        for (let k = 0; k < copies; k++) step();
      }, 3) / copies;
    out[`matvec_${format}_us`] = perCall * 1e6;
    out[`matvec_${format}_gbs`] = bytesOf(w0) / perCall / 1e9;
    out[`matvec_${format}_bw_fraction`] = out[`matvec_${format}_gbs`]! / out.bandwidth_gbs;
  }
  // Prefill: T = 128 tokens through one bf16 4096x4096 weight.
  for (const format of ['bf16', 'fp8', 'f32'] as WeightFormat[]) {
    const w = weight(format);
    const T = 128;
    const xs = new Float32Array(T * N).fill(0.01);
    const ys = new Float32Array(T * N);
    n.matmul(ys, xs, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
    const s = time(() => n.matmul(ys, xs, T, ...weightArgs(w)), 4); // spread-ok: weightArgs is a fixed 8-tuple
    out[`matmul_t128_${format}_gflops`] = (2 * T * N * N) / s / 1e9;
    out[`matmul_t128_${format}_peak_fraction`] = out[`matmul_t128_${format}_gflops`]! / out.fma_peak_gflops;
  }
  return out;
}

/** Op-level timings at model shapes (attention, elementwise, MoE, small matvec, headMatmul, call overhead). */
export function benchOps(filter = ''): Record<string, number> {
  const ops = nativeOps();
  const n = nativeKernels();
  if (!ops || !n) throw new Error('native addon not built');
  const out: Record<string, number> = {};
  const want = (k: string): boolean => !filter || k.includes(filter);
  const rnd = (len: number, s = 1): Float32Array => {
    const a = new Float32Array(len);
    for (let i = 0; i < len; i++) a[i] = (Math.random() * 2 - 1) * s;
    return a;
  };
  const attn = (name: string, T: number, L: number, heads: number, kvHeads: number, dk: number, dv: number, sel = 0): void => {
    if (!want(name)) return;
    const q = rnd(T * heads * dk),
      k = rnd(L * kvHeads * dk),
      v = rnd(L * kvHeads * dv);
    const keyLimit = Int32Array.from({ length: T }, (_, t) => L - T + t + 1);
    let indices: Int32Array | undefined;
    if (sel) {
      indices = new Int32Array(T * sel);
      for (let t = 0; t < T; t++) for (let j = 0; j < sel; j++) indices[t * sel + j] = Math.floor((j * (L - T + t + 1)) / sel);
    }
    const a = {
      q,
      k,
      kStride: kvHeads * dk,
      kOffset: 0,
      v,
      vStride: kvHeads * dv,
      vOffset: 0,
      T,
      L,
      heads,
      kvHeads,
      dk,
      dv,
      scale: 1 / Math.sqrt(dk),
      mask: { keyLimit, indices, k: sel || undefined },
    };
    ops.attention(a);
    const s = time(() => ops.attention(a), T > 1 ? 3 : 20);
    let pairs = 0;
    for (let t = 0; t < T; t++) pairs += sel ? sel : keyLimit[t]!;
    out[`${name}_ms`] = s * 1e3;
    out[`${name}_gflops`] = (2 * pairs * heads * (dk + dv)) / s / 1e9;
  };
  attn('attn_mha_t512', 512, 512, 16, 16, 192, 128);
  attn('attn_mqa_t512', 512, 512, 16, 1, 576, 512);
  attn('attn_mha_t64', 64, 64, 16, 16, 192, 128);
  attn('attn_mqa_t64', 64, 64, 16, 1, 576, 512);
  attn('attn_dec_h16_sparse2048', 1, 65536, 16, 1, 576, 512, 2048);
  attn('attn_dec_h64_sparse2048', 1, 65536, 64, 1, 576, 512, 2048);
  attn('attn_dec_h16_dense128', 1, 128, 16, 1, 576, 512);
  if (want('rmsnorm')) {
    const x = rnd(512 * 1024),
      w = rnd(1024);
    out.rmsnorm_512x1024_ms = time(() => ops.rmsNorm(x, 512, 1024, w, 1e-6), 20) * 1e3;
    const x1 = rnd(1024);
    out.rmsnorm_1x1024_us = time(() => ops.rmsNorm(x1, 1, 1024, w, 1e-6), 200) * 1e6;
  }
  if (want('silu')) {
    const g = rnd(1536 * 1024, 4),
      u = rnd(1536 * 1024);
    out.silumul_1_5M_ms = time(() => ops.siluMul(g, u), 20) * 1e3;
    const g1 = rnd(1024),
      u1 = rnd(1024);
    out.silumul_1024_us = time(() => ops.siluMul(g1, u1), 200) * 1e6;
  }
  if (want('rope')) {
    const T = 512,
      heads = 16,
      hd = 192;
    const x = rnd(T * heads * hd);
    const positions = Int32Array.from({ length: T }, (_, i) => i);
    const r = { x, T, rowStride: heads * hd, offset: 128, heads, headStride: hd, dim: 64, positions, theta: 10000, interleaved: true };
    out.rope_512x16x64_ms = time(() => ops.rope(r), 20) * 1e3;
    const r1 = { ...r, T: 1, positions: Int32Array.from([77]) };
    out.rope_1x16x64_us = time(() => ops.rope(r1), 200) * 1e6;
  }
  const bf16w = (name: string, rows: number, cols: number): LinearWeight => {
    const d = new Uint8Array(rows * cols * 2);
    for (let i = 0; i < rows * cols; i++) {
      const b = f32ToBf16((Math.random() * 2 - 1) * 0.05);
      d[2 * i] = b & 0xff;
      d[2 * i + 1] = b >> 8;
    }
    return { name, format: 'bf16', rows, cols, data: d };
  };
  if (want('moe')) {
    const E = 8,
      D = 1024,
      I = 256;
    const experts = Array.from({ length: E }, (_, e) => ({ gate: bf16w(`g${e}`, I, D), up: bf16w(`u${e}`, I, D), down: bf16w(`d${e}`, D, I) }));
    const x = rnd(D);
    const a = { x, T: 1, experts, ids: Int32Array.from({ length: E }, (_, i) => i), weights: rnd(E), k: E };
    ops.moe(a);
    const s = time(() => ops.moe(a), 200);
    out.moe_t1_8x256x1024_us = s * 1e6;
    out.moe_t1_gbs = (E * 3 * I * D * 2) / s / 1e9;
  }
  if (want('matvec')) {
    const w = bf16w('w', 512, 1024),
      x = rnd(1024);
    ops.matmul(x, 1, w);
    out.matvec_512x1024_bf16_us = time(() => ops.matmul(x, 1, w), 500) * 1e6;
    const w2 = bf16w('w', 16, 64),
      x2 = rnd(64);
    out.call_overhead_tiny_matvec_us = time(() => ops.matmul(x2, 1, w2), 2000) * 1e6;
    const y = new Float32Array(64);
    out.call_overhead_addinplace_64_us = time(() => ops.addInPlace(y, x2), 2000) * 1e6;
  }
  // Fast random bf16 weights (values ±[2^-7, 2^-6)), for the rotated decode / MoE benches below.
  const bf16fast = (name: string, rows: number, cols: number): LinearWeight => {
    const h = new Uint16Array(rows * cols);
    randomFillSync(h);
    for (let i = 0; i < h.length; i++) h[i] = (h[i]! & 0x807f) | 0x3c00;
    return { name, format: 'bf16', rows, cols, data: new Uint8Array(h.buffer) };
  };
  if (want('moe512')) {
    // Prefill MoE: T = 512 tokens, top-8 of 64 experts [256 x 1024] (bf16), distinct random experts per token.
    const E = 64,
      D = 1024,
      I = 256,
      T = 512,
      k = 8;
    const experts = Array.from({ length: E }, (_, e) => ({ gate: bf16fast(`g${e}`, I, D), up: bf16fast(`u${e}`, I, D), down: bf16fast(`d${e}`, D, I) }));
    const x = rnd(T * D),
      ids = new Int32Array(T * k),
      weights = rnd(T * k);
    for (let t = 0; t < T; t++) {
      const perm = Array.from({ length: E }, (_, i) => i).sort(() => Math.random() - 0.5);
      for (let j = 0; j < k; j++) ids[t * k + j] = perm[j]!;
    }
    const a = { x, T, experts, ids, weights, k };
    ops.moe(a);
    const s = time(() => ops.moe(a), 5);
    out.moe_t512_64x256x1024_ms = s * 1e3;
    out.moe_t512_gflops = (2 * T * k * 3 * I * D) / s / 1e9;
  }
  {
    // Decode matvec / MoE / headMatmul at the small preset's shapes, rotating over >= 256 MiB of distinct
    // copies so that the weights come from DRAM; GB/s counts weight bytes per call.
    const x = rnd(4096);
    if (want('decode_gemv'))
      for (const [rows, cols] of [
        [1024, 512],
        [3072, 512],
        [576, 1024],
        [1024, 2048],
        [3072, 1024],
        [1024, 3072],
      ] as const) {
        const bytes = rows * cols * 2,
          copies = Math.max(8, Math.ceil((256 << 20) / bytes));
        const ws = Array.from({ length: copies }, (_, i) => bf16fast(`w${i}`, rows, cols));
        const xv = x.subarray(0, cols);
        for (const w of ws) ops.matmul(xv, 1, w);
        const s =
          time(() => {
            for (const w of ws) ops.matmul(xv, 1, w);
          }, 5) / copies;
        out[`gemv_${rows}x${cols}_gbs`] = bytes / s / 1e9;
      }
    if (want('decode_moe')) {
      const E = 64,
        D = 1024,
        I = 256,
        k = 8,
        copies = 4; // 4 x 64 experts x 1.5 MB = 400 MB
      const sets = Array.from({ length: copies }, () =>
        Array.from({ length: E }, (_, e) => ({ gate: bf16fast(`g${e}`, I, D), up: bf16fast(`u${e}`, I, D), down: bf16fast(`d${e}`, D, I) })),
      );
      const xs = rnd(D);
      const args = sets.flatMap((experts) =>
        Array.from({ length: E / k }, (_, g) => ({
          x: xs,
          T: 1,
          experts,
          ids: Int32Array.from({ length: k }, (_, j) => g * k + j),
          weights: rnd(k),
          k,
        })),
      );
      for (const a of args) ops.moe(a);
      const s =
        time(() => {
          for (const a of args) ops.moe(a);
        }, 5) / args.length;
      out.moe_t1_dram_us = s * 1e6;
      out.moe_t1_dram_gbs = (k * 3 * I * D * 2) / s / 1e9;
    }
    if (want('decode_head')) {
      const heads = 16,
        copies = 128; // 2 MB each
      const ws = Array.from({ length: copies }, (_, i) => bf16fast(`kvb${i}`, heads * 256, 512));
      const xq = rnd(heads * 192),
        xo = rnd(heads * 512);
      const absorb = ws.map((w) => ({ x: xq, xStride: 192, xOffset: 0, T: 1, heads, w, headRows: 256, rowStart: 0, n: 128, transposed: true }));
      const uv = ws.map((w) => ({ x: xo, xStride: 512, xOffset: 0, T: 1, heads, w, headRows: 256, rowStart: 128, n: 128, transposed: false }));
      for (const [name, list] of [
        ['absorb', absorb],
        ['uv', uv],
      ] as const) {
        for (const a of list) ops.headMatmul(a);
        const s =
          time(() => {
            for (const a of list) ops.headMatmul(a);
          }, 5) / copies;
        out[`head_${name}_t1_dram_us`] = s * 1e6;
        out[`head_${name}_t1_dram_gbs`] = (heads * 128 * 512 * 2) / s / 1e9;
      }
    }
  }
  if (want('head')) {
    // kv_b_proj-like: 16 heads x (128 nope + 128 v) rows x 512 cols (bf16); absorb (transposed) and W_UV.
    const heads = 16,
      w = bf16w('kvb', heads * 256, 512);
    for (const T of [1, 64]) {
      const xq = rnd(T * heads * 192);
      const a = { x: xq, xStride: 192, xOffset: 0, T, heads, w, headRows: 256, rowStart: 0, n: 128, transposed: true };
      ops.headMatmul(a);
      out[`headmatmul_absorb_t${T}_us`] = time(() => ops.headMatmul(a), T > 1 ? 20 : 200) * 1e6;
      const xo = rnd(T * heads * 512);
      const b = { x: xo, xStride: 512, xOffset: 0, T, heads, w, headRows: 256, rowStart: 128, n: 128, transposed: false };
      ops.headMatmul(b);
      out[`headmatmul_uv_t${T}_us`] = time(() => ops.headMatmul(b), T > 1 ? 20 : 200) * 1e6;
    }
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const isa = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : undefined;
  if (isa) nativeKernels()?.setIsa(isa);
  console.log(`isa ${nativeKernels()?.isa()}`);
  const opsArg = process.argv.indexOf('--ops');
  const r = opsArg >= 0 ? benchOps(process.argv[opsArg + 1] ?? '') : await benchKernels();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(34)} ${v.toFixed(3)}`);
}
