// Ops backed by the C++ addon (native/src). Thin marshalling only: typed arrays and LinearWeight fields
// are passed straight through (no copies); outputs are allocated here and filled by the addon.

import {
  outArray,
  type AttentionArgs,
  type CacheArray,
  type CacheReadArgs,
  type CopyArgs,
  type HeadMatmulArgs,
  type IndexerArgs,
  type MoeArgs,
  type Ops,
  type RopeArgs,
} from './interface.js';
import { quantizeInt8, type LinearWeight, type WeightFormat } from '../tensor/weight.js';
import { int4Groups, int4RowBytes } from '../tensor/int4.js';
import { nativeAddon } from './native-addon.js';

const FORMAT_CODE: Record<WeightFormat, number> = { f32: 0, bf16: 1, f16: 2, fp8: 3, int8: 4, int4: 5 };

type WeightArgs = [Uint8Array, number, number, number, Float32Array | Uint16Array | null, number, number, number];

/** An opaque native expert table (moeTable). */
export type ExpertTable = { readonly __expertTable: unique symbol };
const tables = new WeakMap<MoeArgs['experts'], ExpertTable>();

/** The addon's raw functions (outputs first, weights as positional fields). Used by native ops and tests. */
export interface NativeKernels {
  matmul(out: Float32Array, x: Float32Array, T: number, ...w: WeightArgs): void;
  matmulT(out: Float32Array, x: Float32Array, T: number, ...w: WeightArgs): void;
  matmulMany(outs: Float32Array[], x: Float32Array, T: number, ws: readonly LinearWeight[]): void;
  /** out [T, heads, n or cols] (see HeadMatmulArgs); the weight last. */
  headMatmul(
    out: Float32Array,
    x: Float32Array,
    xStride: number,
    xOffset: number,
    T: number,
    heads: number,
    headRows: number,
    rowStart: number,
    n: number,
    transposed: boolean,
    ...w: WeightArgs
  ): void;
  gatherRows(out: Float32Array, ids: Int32Array, ...w: WeightArgs): void;
  /** src/tensor/int4.ts's quantiser (bit-identical): data [rows·int4RowBytes(cols)], scales [rows·int4Groups(cols)]. */
  quantizeInt4(data: Uint8Array, scales: Uint16Array, ...w: WeightArgs): void;
  /** Drops the whole pages inside a view of an mmapFile buffer from this process (others: no-op); bytes released. */
  releasePages(bytes: Uint8Array): number;
  rmsNorm(out: Float32Array, x: Float32Array, T: number, D: number, w: Float32Array, eps: number): void;
  layerNorm(out: Float32Array, x: Float32Array, T: number, D: number, w: Float32Array, b: Float32Array, eps: number): void;
  rope(
    x: Float32Array,
    T: number,
    rowStride: number,
    offset: number,
    heads: number,
    headStride: number,
    dim: number,
    positions: Int32Array,
    theta: number,
    interleaved: boolean,
  ): void;
  siluMul(out: Float32Array, gate: Float32Array, up: Float32Array): void;
  addInPlace(a: Float32Array, b: Float32Array): void;
  /** out [L, n] = columns [from, from + n) of logical rows [0, L) of a [rows, width] f32 / bf16 cache. */
  readCache(
    out: Float32Array,
    data: Float32Array | Uint16Array,
    width: number,
    L: number,
    from: number,
    n: number,
    table: Int32Array | null,
    blockSize: number,
  ): void;
  copyBlocks(
    src: Float32Array,
    srcOffset: number,
    srcRowStride: number,
    srcBlockStride: number,
    dst: Float32Array,
    dstOffset: number,
    dstRowStride: number,
    dstBlockStride: number,
    rows: number,
    blocks: number,
    n: number,
  ): void;
  softmax(x: Float32Array, T: number, N: number): void;
  topk(out: Int32Array, x: Float32Array, T: number, N: number, k: number): void;
  attention(
    out: Float32Array,
    q: Float32Array,
    k: Float32Array | Uint16Array,
    kStride: number,
    kOffset: number,
    v: Float32Array | Uint16Array,
    vStride: number,
    vOffset: number,
    T: number,
    L: number,
    heads: number,
    kvHeads: number,
    dk: number,
    dv: number,
    scale: number,
    keyLimit: Int32Array,
    indices: Int32Array | null,
    K: number,
    table: Int32Array | null,
    blockSize: number,
  ): void;
  /** Each entry: attention's arguments, in order. */
  attentionMany(entries: readonly (readonly unknown[])[]): void;
  /** keys: Float32Array, Uint16Array (bf16) or Uint8Array (fp8 e4m3, with keyScales). */
  indexerTopk(
    out: Int32Array,
    q: Float32Array,
    weights: Float32Array,
    keys: CacheArray,
    T: number,
    L: number,
    heads: number,
    dim: number,
    scale: number,
    keyLimit: Int32Array,
    topk: number,
    table: Int32Array | null,
    blockSize: number,
    keyScales: Float32Array | null,
  ): void;
  /** experts: a moeTable() or flat (gate, up, down) triples. */
  moe(out: Float32Array, x: Float32Array, T: number, D: number, experts: LinearWeight[] | ExpertTable, ids: Int32Array, weights: Float32Array, k: number): void;
  /** Converts and checks (gate, up, down) triples once; valid while the weights are alive. */
  moeTable(experts: LinearWeight[]): ExpertTable;
  mmapFile(path: string): ArrayBuffer;
  cpuFeatures(): string[];
  threads(): number;
  /** 'scalar' | 'avx2' | 'avx512' | 'best'; throws if unsupported here. Returns the active ISA. */
  setIsa(name: string): string;
  isa(): string;
  /** ISAs this CPU can run, narrowest first. */
  isas(): string[];
  /** Streaming-read bandwidth over 1 GiB, all threads, best of 4 (GB/s). */
  measureBandwidth(): number;
  /** FMA throughput, all threads, widest ISA (GFLOP/s). */
  measureFmaPeak(): number;
}

export function nativeKernels(): NativeKernels | null {
  return nativeAddon() as unknown as NativeKernels | null;
}

export function weightArgs(w: LinearWeight): WeightArgs {
  return [w.data, FORMAT_CODE[w.format], w.rows, w.cols, w.scales ?? w.halfScales ?? null, w.blockRows ?? 1, w.blockCols ?? 1, w.rowOffset ?? 0];
}

/** The native Ops, or null when the addon is not built (callers fall back to refOps). */
export function nativeOps(): Ops | null {
  const n = nativeKernels();
  if (!n) return null;
  return {
    name: `native-${n.isa()}`,
    ...attentionAndMoeOps(n),
    matmul(x: Float32Array, T: number, w: LinearWeight, out?: Float32Array): Float32Array {
      const y = outArray(out, T * w.rows, 'matmul');
      n.matmul(y, x, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
      return y;
    },
    matmulMany(x: Float32Array, T: number, ws: readonly LinearWeight[], outs?: readonly Float32Array[]): Float32Array[] {
      if (outs && outs.length !== ws.length) throw new RangeError(`matmulMany: ${outs.length} outputs for ${ws.length} weights`);
      const ys = ws.map((w, i) => outArray(outs?.[i], T * w.rows, 'matmulMany'));
      if (ws.length) n.matmulMany(ys, x, T, ws);
      return ys;
    },
    matmulT(x: Float32Array, T: number, w: LinearWeight, out?: Float32Array): Float32Array {
      const y = outArray(out, T * w.cols, 'matmulT');
      n.matmulT(y, x, T, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
      return y;
    },
    headMatmul(a: HeadMatmulArgs): Float32Array {
      const outW = a.transposed ? a.w.cols : a.n;
      const y = outArray(a.out, a.T * a.heads * outW, 'headMatmul');
      // spread-ok: weightArgs is a fixed 8-tuple
      n.headMatmul(y, a.x, a.xStride, a.xOffset, a.T, a.heads, a.headRows, a.rowStart, a.n, a.transposed, ...weightArgs(a.w));
      return y;
    },
    gatherRows(w: LinearWeight, ids: Int32Array, out?: Float32Array): Float32Array {
      const y = outArray(out, ids.length * w.cols, 'gatherRows');
      n.gatherRows(y, ids, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
      return y;
    },
    rmsNorm(x, T, D, w, eps, out) {
      const y = outArray(out, T * D, 'rmsNorm');
      n.rmsNorm(y, x, T, D, w, eps);
      return y;
    },
    layerNorm(x, T, D, w, b, eps, out) {
      const y = outArray(out, T * D, 'layerNorm');
      n.layerNorm(y, x, T, D, w, b, eps);
      return y;
    },
    rope(a: RopeArgs): void {
      n.rope(a.x, a.T, a.rowStride, a.offset, a.heads, a.headStride, a.dim, a.positions, a.theta, a.interleaved);
    },
    siluMul(gate, up, out) {
      const y = outArray(out, gate.length, 'siluMul');
      n.siluMul(y, gate, up);
      return y;
    },
    readCache(a: CacheReadArgs): Float32Array {
      const out = outArray(a.out, a.L * a.n, 'readCache');
      n.readCache(out, a.data, a.width, a.L, a.from, a.n, a.pages?.table ?? null, a.pages?.blockSize ?? 0);
      return out;
    },
    copyBlocks(a: CopyArgs): void {
      n.copyBlocks(a.src, a.srcOffset, a.srcRowStride, a.srcBlockStride, a.dst, a.dstOffset, a.dstRowStride, a.dstBlockStride, a.rows, a.blocks, a.n);
    },
    addInPlace(a, b) {
      n.addInPlace(a, b);
    },
    softmax(x, T, N) {
      n.softmax(x, T, N);
    },
    topk(x, T, N, k) {
      const out = new Int32Array(T * k);
      n.topk(out, x, T, N, k);
      return out;
    },
    quantize(w: LinearWeight, format): LinearWeight {
      if (format === 'int8') return quantizeInt8(w);
      const data = new Uint8Array(w.rows * int4RowBytes(w.cols)),
        halfScales = new Uint16Array(w.rows * int4Groups(w.cols));
      n.quantizeInt4(data, halfScales, ...weightArgs(w)); // spread-ok: weightArgs is a fixed 8-tuple
      return { name: w.name, format: 'int4', rows: w.rows, cols: w.cols, data, halfScales };
    },
  };
}

/** attention's native arguments, in order (the output first). */
function attentionArgs(a: AttentionArgs) {
  const out = outArray(a.out, a.T * a.heads * a.dv, 'attention');
  return [
    out,
    a.q,
    a.k,
    a.kStride,
    a.kOffset,
    a.v,
    a.vStride,
    a.vOffset,
    a.T,
    a.L,
    a.heads,
    a.kvHeads,
    a.dk,
    a.dv,
    a.scale,
    a.mask.keyLimit,
    a.mask.indices ?? null,
    a.mask.k ?? 0,
    a.pages?.table ?? null,
    a.pages?.blockSize ?? 0,
  ] as const;
}

/** The per-sequence ops (attention over the cache, the indexer's score + top-k) and the grouped MoE. */
function attentionAndMoeOps(n: NativeKernels): Pick<Ops, 'attention' | 'attentionMany' | 'indexerTopk' | 'moe'> {
  return {
    attention(a: AttentionArgs): Float32Array {
      const [out, ...rest] = attentionArgs(a);
      n.attention(out, ...rest); // spread-ok: attentionArgs is a fixed 20-tuple
      return out;
    },
    attentionMany(as: readonly AttentionArgs[]): Float32Array[] {
      const entries = as.map(attentionArgs);
      n.attentionMany(entries);
      return entries.map((e) => e[0]);
    },
    indexerTopk(a: IndexerArgs): Int32Array {
      const out = new Int32Array(a.T * Math.min(a.topk, a.L));
      n.indexerTopk(
        out,
        a.q,
        a.weights,
        a.keys,
        a.T,
        a.L,
        a.heads,
        a.dim,
        a.scale,
        a.keyLimit,
        a.topk,
        a.pages?.table ?? null,
        a.pages?.blockSize ?? 0,
        a.keyScales ?? null,
      );
      return out;
    },
    moe(a: MoeArgs): Float32Array {
      const D = a.experts[0]?.down.rows ?? 0;
      const out = outArray(a.out, a.T * D, 'moe');
      // One native table per experts array (the array and its weights are treated as immutable).
      let table = tables.get(a.experts);
      if (!table) {
        table = n.moeTable(a.experts.flatMap((e) => [e.gate, e.up, e.down]));
        tables.set(a.experts, table);
      }
      n.moe(out, a.x, a.T, D, table, a.ids, a.weights, a.k);
      return out;
    },
  };
}

export interface MachineLimits {
  readonly isa: string;
  readonly threads: number;
  readonly cpuFeatures: readonly string[];
  /** Multi-threaded streaming read of 1 GiB, best of 4 (GB/s). */
  readonly bandwidthGBs: number;
  /** All threads, independent FMA chains in the active ISA (GFLOP/s). */
  readonly fmaPeakGflops: number;
}

let limits: MachineLimits | null | undefined;

/** Measured once per process (about a second); null without the addon. */
export function machineLimits(): MachineLimits | null {
  if (limits === undefined) limits = measureMachineLimits();
  return limits;
}

/** A fresh measurement (about a second): on a shared VM the limits vary over minutes. */
export function measureMachineLimits(): MachineLimits | null {
  const n = nativeKernels();
  return n ? { isa: n.isa(), threads: n.threads(), cpuFeatures: n.cpuFeatures(), bandwidthGBs: n.measureBandwidth(), fmaPeakGflops: n.measureFmaPeak() } : null;
}
