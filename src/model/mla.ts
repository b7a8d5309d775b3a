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

  const ws = ctx.ws, Ql = cfg.qLoraRank;
  const qLat = ops.rmsNorm(ops.matmul(a, T, w.qA, ws.get('mla.qa', T * Ql)), T, Ql, w.qANorm, cfg.latentNormEps, ws.get('mla.qlat', T * Ql)); // [T, qLora]
  const q = ops.matmul(qLat, T, w.qB, ws.get('mla.q', T * H * Dq)); // [T, H, Dn+R]
  ops.rope({ x: q, T, rowStride: H * Dq, offset: Dn, heads: H, headStride: Dq, dim: R, positions: ctx.positions, theta: cfg.ropeTheta, interleaved: cfg.ropeInterleave });

  // Cache row = [RMSNorm(c) (C) ‖ RoPE(k_pe) (R)].
  const ckv = ops.matmul(a, T, w.kvA, ws.get('mla.ckv', T * (C + R))); // [T, C+R]
  const c = ops.rmsNorm(compactColumns(ckv, T, C + R, 0, C, ws.get('mla.c0', T * C)), T, C, w.kvANorm, cfg.latentNormEps, ws.get('mla.c', T * C));
  for (let t = 0; t < T; t++) ckv.set(c.subarray(t * C, (t + 1) * C), t * (C + R));
  ops.rope({ x: ckv, T, rowStride: C + R, offset: C, heads: 1, headStride: R, dim: R, positions: ctx.positions, theta: cfg.ropeTheta, interleaved: cfg.ropeInterleave });
  const latent = ctx.cache.writeLatent(layer, ckv, T); // [L, C+R]

  const selection = w.indexer ? runIndexer(ctx, layer, w.indexer, a, qLat) : shared;
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
  const kv = ops.matmul(compactColumns(latent, L, C + R, 0, C, ctx.ws.get('latent.c', L * C)), L, w.kvB, ctx.ws.get('mla.kv', L * H * (Dn + Dv))); // [L, H, Dn+Dv]
  const K = ctx.ws.get('mla.K', L * H * Dq); // [L, H, Dn+R]: per-head k_nope, shared k_pe
  const V = ctx.ws.get('mla.V', L * H * Dv); // [L, H, Dv]
  // Plain index loops: this runs over L·H rows per layer, where per-row subarray views cost more than the copy.
  for (let s = 0, src = 0, dk = 0, dvo = 0; s < L; s++) {
    const pe = s * (C + R) + C;
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Dn; i++) K[dk++] = kv[src++]!;
      for (let i = 0; i < R; i++) K[dk++] = latent[pe + i]!;
      for (let i = 0; i < Dv; i++) V[dvo++] = kv[src++]!;
    }
  }
  return ops.attention({ q, k: K, kStride: H * Dq, kOffset: 0, v: V, vStride: H * Dv, vOffset: 0, T, L, heads: H, kvHeads: H, dk: Dq, dv: Dv, scale: cfg.softmaxScale, mask, out: ctx.ws.get('mla.o', T * H * Dv) });
}

function absorbed(ops: Ops, ctx: StepContext, w: AttentionWeights, q: Float32Array, latent: Float32Array, L: number, mask: Mask): Float32Array {
  const { cfg, T } = ctx;
  const H = cfg.numHeads, Dn = cfg.qkNopeHeadDim, R = cfg.qkRopeHeadDim, C = cfg.kvLoraRank, Dv = cfg.vHeadDim, Dq = cfg.qkHeadDim;
  // q̃_h = W_UK,hᵀ q_nope_h (C wide), followed by the rotary part: one MQA query of width C+R per head.
  const qNopeAbs = ops.headMatmul({ x: q, xStride: Dq, xOffset: 0, T, heads: H, w: w.kvB, headRows: Dn + Dv, rowStart: 0, n: Dn, transposed: true, out: ctx.ws.get('mla.qnabs', T * H * C) }); // [T, H, C]
  const qAbs = ctx.ws.get('mla.qAbs', T * H * (C + R));
  for (let th = 0, d = 0; th < T * H; th++) {
    for (let i = 0, o = th * C; i < C; i++) qAbs[d++] = qNopeAbs[o + i]!;
    for (let i = 0, o = th * Dq + Dn; i < R; i++) qAbs[d++] = q[o + i]!;
  }
  // One shared KV head: key = cache row (C+R), value = its first C columns. Scale stays qk_head_dim^-0.5.
  const oLat = ops.attention({ q: qAbs, k: latent, kStride: C + R, kOffset: 0, v: latent, vStride: C + R, vOffset: 0, T, L, heads: H, kvHeads: 1, dk: C + R, dv: C, scale: cfg.softmaxScale, mask, out: ctx.ws.get('mla.olat', T * H * C) }); // [T, H, C]
  // o_h = W_UV,h · ō_h
  return ops.headMatmul({ x: oLat, xStride: C, xOffset: 0, T, heads: H, w: w.kvB, headRows: Dn + Dv, rowStart: Dn, n: Dv, transposed: false, out: ctx.ws.get('mla.o', T * H * Dv) }); // [T, H, Dv]
}

/** Columns [from, from+n) of each of `rows` rows of width `width`, as a contiguous [rows, n] array. */
export function compactColumns(x: Float32Array, rows: number, width: number, from: number, n: number, out: Float32Array = new Float32Array(rows * n)): Float32Array {
  for (let r = 0, d = 0; r < rows; r++) for (let i = 0, o = r * width + from; i < n; i++) out[d++] = x[o + i]!;
  return out;
}
