// Multi-head latent attention (spec §3.3, §3.7) with the DSA selection applied as a key mask.
// Two forms of the same math: expanded (per-head K/V rebuilt from the cached latent; prefill) and
// absorbed (W_UK folded into the query, W_UV applied after attention; decode reads only the latent cache).

import type { Ops } from '../kernels/interface.js';
import type { AttentionWeights } from './weights.js';
import type { Selection, StepContext } from './context.js';
import { runIndexer } from './indexer.js';

export interface AttentionResult {
  readonly out: Float32Array; // [T, hidden]
  readonly selection: Selection;
}

/**
 * `shared` is the selection produced by this layer's indexer source (shared-indexer layers) — a
 * shared layer runs no indexer of its own.
 */
export function mlaAttention(ctx: StepContext, layer: number, w: AttentionWeights, a: Float32Array, shared: Selection | undefined): AttentionResult {
  const { ops, cfg, T } = ctx;
  const H = cfg.numHeads, Dn = cfg.qkNopeHeadDim, R = cfg.qkRopeHeadDim, C = cfg.kvLoraRank, Dq = cfg.qkHeadDim;

  const ws = ctx.ws, Ql = cfg.qLoraRank, idx = w.indexer;
  // Every projection of the normed input in one pass: q_a, kv_a and, with an indexer, its key and head-weight projections.
  const [qa, ckv, idxK, idxW] = ops.matmulMany(a, T, idx ? [w.qA, w.kvA, idx.wk, idx.weightsProj] : [w.qA, w.kvA],
    idx ? [ws.get('mla.qa', T * Ql), ws.get('mla.ckv', T * (C + R)), ws.get('idx.kproj', T * idx.wk.rows), ws.get('idx.w', T * idx.weightsProj.rows)]
      : [ws.get('mla.qa', T * Ql), ws.get('mla.ckv', T * (C + R))]) as [Float32Array, Float32Array, Float32Array?, Float32Array?];
  const qLat = ops.rmsNorm(qa, T, Ql, w.qANorm, cfg.latentNormEps, ws.get('mla.qlat', T * Ql)); // [T, qLora]
  const q = ops.matmul(qLat, T, w.qB, ws.get('mla.q', T * H * Dq)); // [T, H, Dn+R]
  ops.rope({ x: q, T, rowStride: H * Dq, offset: Dn, heads: H, headStride: Dq, dim: R, positions: ctx.positions, theta: cfg.ropeTheta, interleaved: cfg.ropeInterleave });

  // Cache row = [RMSNorm(c) (C) ‖ RoPE(k_pe) (R)].
  // ckv [T, C+R]
  const c = ops.rmsNorm(columns(ops, ckv, T, C + R, 0, C, ws.get('mla.c0', T * C)), T, C, w.kvANorm, cfg.latentNormEps, ws.get('mla.c', T * C));
  ops.copyBlocks({ src: c, srcOffset: 0, srcRowStride: C, srcBlockStride: 0, dst: ckv, dstOffset: 0, dstRowStride: C + R, dstBlockStride: 0, rows: T, blocks: 1, n: C });
  ops.rope({ x: ckv, T, rowStride: C + R, offset: C, heads: 1, headStride: R, dim: R, positions: ctx.positions, theta: cfg.ropeTheta, interleaved: cfg.ropeInterleave });
  const latent = ctx.cache.writeLatent(layer, ckv, T); // [L, C+R]

  const selection = idx ? runIndexer(ctx, layer, idx, idxK!, idxW!, qLat) : shared;
  if (selection === undefined) throw new Error(`layer ${layer}: shared indexer layer has no source selection`);
  ctx.trace?.('topk', layer, selection ? selection.indices : new Int32Array(0));
  const mask = selection ? { keyLimit: ctx.keyLimit, indices: selection.indices, k: selection.k } : { keyLimit: ctx.keyLimit };
  const L = ctx.start + T;

  const o = ctx.form === 'absorbed' ? absorbed(ops, ctx, w, q, latent, L, mask) : expanded(ops, ctx, w, q, latent, L, mask);
  return { out: ops.matmul(o, T, w.o, ws.get('attn.out', T * cfg.hiddenSize)), selection };
}

type Mask = { keyLimit: Int32Array; indices?: Int32Array; k?: number };

function expanded(ops: Ops, ctx: StepContext, w: AttentionWeights, q: Float32Array, latent: Float32Array, L: number, mask: Mask): Float32Array {
  const { cfg, T } = ctx;
  const H = cfg.numHeads, Dn = cfg.qkNopeHeadDim, R = cfg.qkRopeHeadDim, C = cfg.kvLoraRank, Dv = cfg.vHeadDim, Dq = cfg.qkHeadDim;
  const kv = ops.matmul(columns(ops, latent, L, C + R, 0, C, ctx.ws.get('latent.c', L * C)), L, w.kvB, ctx.ws.get('mla.kv', L * H * (Dn + Dv))); // [L, H, Dn+Dv]
  const K = ctx.ws.get('mla.K', L * H * Dq); // [L, H, Dn+R]: per-head k_nope, shared k_pe
  const V = ctx.ws.get('mla.V', L * H * Dv); // [L, H, Dv]
  const per = { rows: L, blocks: H };
  ops.copyBlocks({ ...per, src: kv, srcOffset: 0, srcRowStride: H * (Dn + Dv), srcBlockStride: Dn + Dv, dst: K, dstOffset: 0, dstRowStride: H * Dq, dstBlockStride: Dq, n: Dn });
  ops.copyBlocks({ ...per, src: latent, srcOffset: C, srcRowStride: C + R, srcBlockStride: 0, dst: K, dstOffset: Dn, dstRowStride: H * Dq, dstBlockStride: Dq, n: R });
  ops.copyBlocks({ ...per, src: kv, srcOffset: Dn, srcRowStride: H * (Dn + Dv), srcBlockStride: Dn + Dv, dst: V, dstOffset: 0, dstRowStride: H * Dv, dstBlockStride: Dv, n: Dv });
  return ops.attention({ q, k: K, kStride: H * Dq, kOffset: 0, v: V, vStride: H * Dv, vOffset: 0, T, L, heads: H, kvHeads: H, dk: Dq, dv: Dv, scale: cfg.softmaxScale, mask, out: ctx.ws.get('mla.o', T * H * Dv) });
}

function absorbed(ops: Ops, ctx: StepContext, w: AttentionWeights, q: Float32Array, latent: Float32Array, L: number, mask: Mask): Float32Array {
  const { cfg, T } = ctx;
  const H = cfg.numHeads, Dn = cfg.qkNopeHeadDim, R = cfg.qkRopeHeadDim, C = cfg.kvLoraRank, Dv = cfg.vHeadDim, Dq = cfg.qkHeadDim;
  // q̃_h = W_UK,hᵀ q_nope_h (C wide), followed by the rotary part: one MQA query of width C+R per head.
  const qNopeAbs = ops.headMatmul({ x: q, xStride: Dq, xOffset: 0, T, heads: H, w: w.kvB, headRows: Dn + Dv, rowStart: 0, n: Dn, transposed: true, out: ctx.ws.get('mla.qnabs', T * H * C) }); // [T, H, C]
  const qAbs = ctx.ws.get('mla.qAbs', T * H * (C + R));
  const rows = { rows: T * H, blocks: 1, srcBlockStride: 0, dstBlockStride: 0 };
  ops.copyBlocks({ ...rows, src: qNopeAbs, srcOffset: 0, srcRowStride: C, dst: qAbs, dstOffset: 0, dstRowStride: C + R, n: C });
  ops.copyBlocks({ ...rows, src: q, srcOffset: Dn, srcRowStride: Dq, dst: qAbs, dstOffset: C, dstRowStride: C + R, n: R });
  // One shared KV head: key = cache row (C+R), value = its first C columns. Scale stays qk_head_dim^-0.5.
  const oLat = ops.attention({ q: qAbs, k: latent, kStride: C + R, kOffset: 0, v: latent, vStride: C + R, vOffset: 0, T, L, heads: H, kvHeads: 1, dk: C + R, dv: C, scale: cfg.softmaxScale, mask, out: ctx.ws.get('mla.olat', T * H * C) }); // [T, H, C]
  // o_h = W_UV,h · ō_h
  return ops.headMatmul({ x: oLat, xStride: C, xOffset: 0, T, heads: H, w: w.kvB, headRows: Dn + Dv, rowStart: Dn, n: Dv, transposed: false, out: ctx.ws.get('mla.o', T * H * Dv) }); // [T, H, Dv]
}

/** Columns [from, from+n) of each of `rows` rows of width `width`, into the contiguous [rows, n] `out`. */
function columns(ops: Ops, x: Float32Array, rows: number, width: number, from: number, n: number, out: Float32Array): Float32Array {
  ops.copyBlocks({ src: x, srcOffset: from, srcRowStride: width, srcBlockStride: 0, dst: out, dstOffset: 0, dstRowStride: n, dstBlockStride: 0, rows, blocks: 1, n });
  return out;
}
