// Kernel micro-benchmarks against the machine's limits: decode matvec GB/s per weight format vs measured
// streaming bandwidth, prefill matmul GFLOP/s vs measured FMA peak. Seconds, not minutes.
// Run: node --import tsx bench/kernels.ts

import { randomFillSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { nativeKernels, weightArgs } from '../src/kernels/native.js';
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
    const step = (): void => n.matmul(y, x, 1, ...weightArgs(ws[i++ % ws.length]!));
    for (let k = 0; k < copies; k++) step();
    const perCall = time(() => { for (let k = 0; k < copies; k++) step(); }, 3) / copies;
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
    n.matmul(ys, xs, T, ...weightArgs(w));
    const s = time(() => n.matmul(ys, xs, T, ...weightArgs(w)), 4);
    out[`matmul_t128_${format}_gflops`] = (2 * T * N * N) / s / 1e9;
    out[`matmul_t128_${format}_peak_fraction`] = out[`matmul_t128_${format}_gflops`]! / out.fma_peak_gflops;
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const isa = process.argv[2];
  if (isa) nativeKernels()?.setIsa(isa);
  console.log(`isa ${nativeKernels()?.isa()}`);
  const r = await benchKernels();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(34)} ${v.toFixed(3)}`);
}
