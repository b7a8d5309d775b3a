// The op set the model is written against. Two implementations: `ref/` (plain TypeScript, the
// reference) and `native.ts` (the C++ addon). Tests run the same cases through both.
//
// Conventions: activations are f32, row-major, contiguous unless a stride is given. Ops return fresh
// arrays unless they say "in place", or unless the caller passes `out`: then the result is written into
// it (exactly the output's length, not overlapping any input) and `out` is returned. Reusing outputs
// matters: a fresh large array costs a page fault per 4 KiB on first write, more than many kernels. Shapes use T tokens, L cached keys, H heads, D widths, K top-k.

import type { LinearWeight, QuantFormat } from '../tensor/weight.js';

/** Which keys each query row may read (causal limit, optionally a top-k subset). */
export interface KeyMask {
  /** [T]: row t may read keys s < keyLimit[t] (its position + 1 for causal attention). */
  readonly keyLimit: Int32Array;
  /**
   * Sparse selection [T, K]: row t reads only keys indices[t*K + j] that are ≥ 0 and < keyLimit[t].
   * Absent = dense (all keys below keyLimit). Order within a row does not matter; no duplicates.
   */
  readonly indices?: Int32Array;
  readonly k?: number;
}

/**
 * Paged key storage: logical key s lives in row table[⌊s / blockSize⌋]·blockSize + s mod blockSize of the
 * key (and value) arrays. Masks, limits and L stay logical; kernels read the blocks in place.
 */
export interface Pages {
  /** [⌈L / blockSize⌉] physical block ids. */
  readonly table: Int32Array;
  readonly blockSize: number;
}

/**
 * Cached rows as stored: f32, bf16 (a Uint16Array of bf16 bit patterns) or fp8 e4m3 (a Uint8Array, with one
 * f32 scale per KV_SCALE_BLOCK columns of each row beside it; indexer keys only). Kernels read them in place.
 */
export type CacheArray = Float32Array | Uint16Array | Uint8Array;
/** Columns per fp8 scale in a cache row. */
export const KV_SCALE_BLOCK = 128;

export interface AttentionArgs {
  /** [T, Hq, Dk] */
  readonly q: Float32Array;
  /** Key of row s, kv-head g: k[kOffset + s*kStride + g*Dk .. +Dk); f32 or bf16 (k and v of one type). */
  readonly k: Float32Array | Uint16Array;
  readonly kStride: number;
  readonly kOffset: number;
  /** Value of row s, kv-head g: v[vOffset + s*vStride + g*Dv .. +Dv). */
  readonly v: Float32Array | Uint16Array;
  readonly vStride: number;
  readonly vOffset: number;
  readonly T: number;
  /** Number of key rows available (the mask never reads beyond). */
  readonly L: number;
  readonly heads: number;
  /** Query heads per kv head: Hq / Hkv (Hq for MLA's latent form, 1 for the expanded form). */
  readonly kvHeads: number;
  readonly dk: number;
  readonly dv: number;
  readonly scale: number;
  readonly mask: KeyMask;
  /** Paged k / v (absent: row s is row s). */
  readonly pages?: Pages;
  readonly out?: Float32Array;
}

export interface IndexerArgs {
  /** [T, Hi, Di] rotated indexer queries. */
  readonly q: Float32Array;
  /** [T, Hi] head weights, already multiplied by Hi^-0.5. */
  readonly weights: Float32Array;
  /** [L, Di] cached indexer keys (post-LayerNorm, post-RoPE): f32, bf16 or fp8 (see CacheArray). */
  readonly keys: CacheArray;
  /** fp8 keys: [rows, ⌈Di/128⌉] scales (key element = e4m3 value × its block's scale). */
  readonly keyScales?: Float32Array;
  readonly T: number;
  readonly L: number;
  readonly heads: number;
  readonly dim: number;
  /** Score scale Di^-0.5 (applied inside the ReLU; it is positive so placement is free). */
  readonly scale: number;
  /** [T] causal limits as in KeyMask. */
  readonly keyLimit: Int32Array;
  readonly topk: number;
  /** Paged keys (absent: key s is row s). */
  readonly pages?: Pages;
}

/** Columns [from, from + n) of logical rows [0, L) of a [rows, width] f32 or bf16 cache, widened to f32 [L, n]. */
export interface CacheReadArgs {
  readonly data: Float32Array | Uint16Array;
  readonly width: number;
  readonly L: number;
  readonly from: number;
  readonly n: number;
  /** Paged rows (absent: row s is row s). */
  readonly pages?: Pages;
  readonly out?: Float32Array;
}

export interface MoeArgs {
  /** [T, D] */
  readonly x: Float32Array;
  readonly T: number;
  readonly experts: readonly { gate: LinearWeight; up: LinearWeight; down: LinearWeight }[];
  /** [T, K] expert ids and their combine weights. */
  readonly ids: Int32Array;
  readonly weights: Float32Array;
  readonly k: number;
  readonly out?: Float32Array;
}

/**
 * Per-head products with row blocks of one weight (MLA's W_UK / W_UV live inside kv_b_proj):
 * head h uses W_h = rows [h·headRows + rowStart, +n) of w, an [n, cols] matrix.
 */
export interface HeadMatmulArgs {
  /** Input element (t, h, i) is x[xOffset + (t·heads + h)·xStride + i]. */
  readonly x: Float32Array;
  readonly xStride: number;
  readonly xOffset: number;
  readonly T: number;
  readonly heads: number;
  readonly w: LinearWeight;
  readonly headRows: number;
  readonly rowStart: number;
  readonly n: number;
  /**
   * false: y[t, h, 0..n) = W_h · x[t, h, 0..cols)        (output [T, heads, n])
   * true:  y[t, h, 0..cols) = W_hᵀ · x[t, h, 0..n)       (output [T, heads, cols])
   */
  readonly transposed: boolean;
  readonly out?: Float32Array;
}

export interface RopeArgs {
  /** In place. Row t, head h rotary slice starts at x[t*rowStride + offset + h*headStride]. */
  readonly x: Float32Array;
  readonly T: number;
  readonly rowStride: number;
  readonly offset: number;
  readonly heads: number;
  readonly headStride: number;
  /** Rotary width R (even). */
  readonly dim: number;
  /** [T] absolute positions. */
  readonly positions: Int32Array;
  readonly theta: number;
  /** true: pairs (2i, 2i+1) (GPT-J / GLM); false: pairs (i, i + R/2) (NeoX / split-half). */
  readonly interleaved: boolean;
}

/**
 * A strided block copy: dst[dstOffset + r·dstRowStride + b·dstBlockStride + i] =
 * src[srcOffset + r·srcRowStride + b·srcBlockStride + i] for r < rows, b < blocks, i < n. A block stride
 * of 0 on the source repeats one block into every destination block. Destination blocks must not overlap
 * each other or the source.
 */
export interface CopyArgs {
  readonly src: Float32Array;
  readonly srcOffset: number;
  readonly srcRowStride: number;
  readonly srcBlockStride: number;
  readonly dst: Float32Array;
  readonly dstOffset: number;
  readonly dstRowStride: number;
  readonly dstBlockStride: number;
  readonly rows: number;
  readonly blocks: number;
  readonly n: number;
}

export interface Ops {
  readonly name: string;
  /** y[T, rows] = x[T, cols] · Wᵀ */
  matmul(x: Float32Array, T: number, w: LinearWeight, out?: Float32Array): Float32Array;
  /**
   * The products of one input with several weights of the same cols (q_a and kv_a; gate and up): one
   * pass, one schedule. outs, when given, holds one buffer per weight.
   */
  matmulMany(x: Float32Array, T: number, ws: readonly LinearWeight[], outs?: readonly Float32Array[]): Float32Array[];
  /** y[T, cols] = x[T, rows] · W  (the transposed product; used to absorb W_UK into queries) */
  matmulT(x: Float32Array, T: number, w: LinearWeight, out?: Float32Array): Float32Array;
  /** Per-head products over row blocks of one weight, output contiguous (see HeadMatmulArgs). */
  headMatmul(args: HeadMatmulArgs): Float32Array;
  /** out[T, cols] = rows ids[t] of W (embedding lookup). */
  gatherRows(w: LinearWeight, ids: Int32Array, out?: Float32Array): Float32Array;
  /** x · rsqrt(mean(x²) + eps) · w, per row of width D. */
  rmsNorm(x: Float32Array, T: number, D: number, w: Float32Array, eps: number, out?: Float32Array): Float32Array;
  /** (x − mean) / sqrt(var + eps) · w + b (biased variance), per row of width D. */
  layerNorm(x: Float32Array, T: number, D: number, w: Float32Array, b: Float32Array, eps: number, out?: Float32Array): Float32Array;
  rope(args: RopeArgs): void;
  /** silu(gate) ⊙ up, elementwise. */
  siluMul(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array;
  /** Cache rows in position order as f32 (the expanded MLA form's latent c and k_pe): see CacheReadArgs. */
  readCache(args: CacheReadArgs): Float32Array;
  /** Strided block copy (assembling per-head K, splitting columns): see CopyArgs. */
  copyBlocks(args: CopyArgs): void;
  /** a += b, in place. */
  addInPlace(a: Float32Array, b: Float32Array): void;
  /** Row-wise softmax over N columns, in place. */
  softmax(x: Float32Array, T: number, N: number): void;
  /** Indices of the k largest of each row of x[T, N], k ≤ N (ties: lower index first), [T, k]. */
  topk(x: Float32Array, T: number, N: number, k: number): Int32Array;
  /** Masked softmax attention (MHA or MQA by kvHeads), output [T, heads, dv]. */
  attention(args: AttentionArgs): Float32Array;
  /**
   * Several independent attentions at once (each decoding sequence of a step against its own cache): the same
   * results as `attention` on each, in one parallel schedule instead of one per sequence.
   */
  attentionMany(args: readonly AttentionArgs[]): Float32Array[];
  /**
   * DSA lightning indexer: score I[t,s] = Σ_h w[t,h]·ReLU(q[t,h]·k[s]·scale) over keys s < keyLimit[t] and
   * return each row's selection [T, min(topk, L)]: every visible key when keyLimit[t] ≤ topk (padded with
   * −1), else the top-k keys by score, in ascending position order.
   */
  indexerTopk(args: IndexerArgs): Int32Array;
  /** Σ_j weights[t,j] · down(silu(gate(x_t)) ⊙ up(x_t)) over expert ids[t,j]; output [T, D]. */
  moe(args: MoeArgs): Float32Array;
  /**
   * A weight re-quantised (load-time `--quantize`): int8 (weight.ts quantizeInt8) or int4 (tensor/int4.ts).
   * Every implementation gives the same bytes as the reference.
   */
  quantize(w: LinearWeight, format: QuantFormat): LinearWeight;
}

/** `out` checked against the output length n, or a fresh array (see the conventions above). */
export function outArray(out: Float32Array | undefined, n: number, op: string): Float32Array {
  if (!out) return new Float32Array(n);
  if (out.length !== n) throw new RangeError(`${op}: out has ${out.length} elements, expected ${n}`);
  return out;
}
