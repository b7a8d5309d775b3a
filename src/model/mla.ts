// Multi-head latent attention (spec §3.3, §3.7) with the DSA selection applied as a key mask.
// Two forms of the same math: expanded (per-head K/V rebuilt from the cached latent; prefill) and
// absorbed (W_UK folded into the query, W_UV applied after attention; decode reads only the latent cache).
// A long prompt mixes them: its rows that see ≤ index_topk keys attend densely in the expanded form, the
// rest read their scattered top-k latent rows in the absorbed form (model.ts autoForm).
// Projections run once over every row of the step; attention runs per sequence against its own cache.

import type { Ops } from '../kernels/interface.js';
import type { AttentionWeights } from './weights.js';
import type { Selection, StepContext, StepSequence } from './context.js';
import { runIndexer } from './indexer.js';
import { layerIndexerType } from './config.js';

export interface AttentionResult {
  readonly out: Float32Array; // [T, hidden]
  /** One per sequence of the step. */
  readonly selections: Selection[];
}

/**
 * `shared` holds the selections produced by this layer's indexer source (shared-indexer layers) — a
 * shared layer runs no indexer of its own.
 */
export function mlaAttention(ctx: StepContext, layer: number, w: AttentionWeights, a: Float32Array, shared: Selection[] | undefined): AttentionResult {
  const { ops, cfg, T } = ctx;
  const H = cfg.numHeads,
    Dn = cfg.qkNopeHeadDim,
    R = cfg.qkRopeHeadDim,
    C = cfg.kvLoraRank,
    Dv = cfg.vHeadDim,
    Dq = cfg.qkHeadDim;

  const ws = ctx.ws,
    Ql = cfg.qLoraRank,
    idx = w.indexer;
  // Every projection of the normed input in one pass: q_a, kv_a and, with an indexer, its key and head-weight projections.
  const [qa, ckv, idxK, idxW] = ops.matmulMany(
    a,
    T,
    idx ? [w.qA, w.kvA, idx.wk, idx.weightsProj] : [w.qA, w.kvA],
    idx
      ? [ws.get('mla.qa', T * Ql), ws.get('mla.ckv', T * (C + R)), ws.get('idx.kproj', T * idx.wk.rows), ws.get('idx.w', T * idx.weightsProj.rows)]
      : [ws.get('mla.qa', T * Ql), ws.get('mla.ckv', T * (C + R))],
  ) as [Float32Array, Float32Array, Float32Array?, Float32Array?];
  const qLat = ops.rmsNorm(qa, T, Ql, w.qANorm, cfg.latentNormEps, ws.get('mla.qlat', T * Ql)); // [T, qLora]
  const q = ops.matmul(qLat, T, w.qB, ws.get('mla.q', T * H * Dq)); // [T, H, Dn+R]
  ops.rope({
    x: q,
    T,
    rowStride: H * Dq,
    offset: Dn,
    heads: H,
    headStride: Dq,
    dim: R,
    positions: ctx.positions,
    theta: cfg.ropeTheta,
    interleaved: cfg.ropeInterleave,
  });

  // Cache row = [RMSNorm(c) (C) ‖ RoPE(k_pe) (R)].
  // ckv [T, C+R]
  const c = ops.rmsNorm(columns(ops, ckv, T, C + R, 0, C, ws.get('mla.c0', T * C)), T, C, w.kvANorm, cfg.latentNormEps, ws.get('mla.c', T * C));
  ops.copyBlocks({
    src: c,
    srcOffset: 0,
    srcRowStride: C,
    srcBlockStride: 0,
    dst: ckv,
    dstOffset: 0,
    dstRowStride: C + R,
    dstBlockStride: 0,
    rows: T,
    blocks: 1,
    n: C,
  });
  ops.rope({
    x: ckv,
    T,
    rowStride: C + R,
    offset: C,
    heads: 1,
    headStride: R,
    dim: R,
    positions: ctx.positions,
    theta: cfg.ropeTheta,
    interleaved: cfg.ropeInterleave,
  });
  for (const s of ctx.seqs) s.cache.writeLatent(layer, ckv, s.row0, s.T);

  // No indexer (glm4_moe_lite): every causal key, as DSA is while the context fits in index_topk.
  const type = layerIndexerType(cfg, layer);
  const selections = type === 'none' ? ctx.seqs.map(() => null) : idx ? runIndexer(ctx, layer, idx, idxK!, idxW!, qLat) : shared;
  if (selections === undefined) throw new Error(`layer ${layer}: shared indexer layer has no source selection`);
  if (ctx.trace && ctx.seqs.length === 1) ctx.trace('topk', layer, selections[0] ? selections[0].indices : new Int32Array(0));

  const o = ws.get('mla.o', T * H * Dv); // [T, H, Dv]
  // Runs of consecutive absorbed sequences share their query absorption and W_UV products (one pass
  // over kv_b for all decode rows); expanded sequences rebuild K/V from their own context.
  for (let i = 0; i < ctx.seqs.length; ) {
    let j = i + 1;
    const s = ctx.seqs[i]!,
      sel = selections[i]!;
    if (s.form === 'absorbed') {
      while (j < ctx.seqs.length && ctx.seqs[j]!.form === 'absorbed' && ctx.seqs[j]!.row0 === ctx.seqs[j - 1]!.row0 + ctx.seqs[j - 1]!.T) j++;
      absorbed(ctx, layer, w, q, ctx.seqs.slice(i, j), selections.slice(i, j), o);
    } else if (s.form === 'mixed' && sel) {
      // Rows [0, nd) see ≤ index_topk keys (their selection is every causal key): dense, expanded over the
      // first start + nd keys only. Rows [nd, T) are sparse: absorbed.
      const nd = Math.max(0, Math.min(s.T, cfg.indexTopk - s.start));
      if (nd > 0) expanded(ctx, layer, w, q, { ...s, T: nd }, null, o);
      if (nd < s.T) absorbed(ctx, layer, w, q, [subSequence(s, nd, s.T)], [subSelection(sel, nd, s.T)], o);
    } else {
      expanded(ctx, layer, w, q, s, sel, o);
    }
    i = j;
  }
  return { out: ops.matmul(o, T, w.o, ws.get('attn.out', T * cfg.hiddenSize)), selections };
}

/** Rows [from, to) of a sequence's slice of the step, as a sequence of their own. */
function subSequence(s: StepSequence, from: number, to: number): StepSequence {
  return { ...s, start: s.start + from, T: to - from, row0: s.row0 + from };
}

function subSelection(sel: Selection, from: number, to: number): Selection {
  return sel && { indices: sel.indices.subarray(from * sel.k, to * sel.k), k: sel.k };
}

function maskOf(ctx: StepContext, s: StepSequence, sel: Selection) {
  const keyLimit = ctx.keyLimit.subarray(s.row0, s.row0 + s.T);
  return sel ? { keyLimit, indices: sel.indices, k: sel.k } : { keyLimit };
}

function expanded(ctx: StepContext, layer: number, w: AttentionWeights, q: Float32Array, s: StepSequence, sel: Selection, o: Float32Array): void {
  const { cfg, ops, ws } = ctx;
  const H = cfg.numHeads,
    Dn = cfg.qkNopeHeadDim,
    R = cfg.qkRopeHeadDim,
    C = cfg.kvLoraRank,
    Dv = cfg.vHeadDim,
    Dq = cfg.qkHeadDim;
  const L = s.start + s.T;
  // The cached latent rows of positions [0, L), widened to f32 (in place for f32, through the block table).
  const latent = s.cache.latent(layer),
    rows = { data: latent.data, width: C + R, L, pages: latent.pages };
  const c = ops.readCache({ ...rows, from: 0, n: C, out: ws.get('latent.c', L * C) }); // [L, C]
  const kpe = ops.readCache({ ...rows, from: C, n: R, out: ws.get('latent.kpe', L * R) }); // [L, R]
  const kv = ops.matmul(c, L, w.kvB, ws.get('mla.kv', L * H * (Dn + Dv))); // [L, H, Dn+Dv]
  const K = ws.get('mla.K', L * H * Dq); // [L, H, Dn+R]: per-head k_nope, shared k_pe
  const V = ws.get('mla.V', L * H * Dv); // [L, H, Dv]
  const per = { rows: L, blocks: H };
  ops.copyBlocks({
    ...per,
    src: kv,
    srcOffset: 0,
    srcRowStride: H * (Dn + Dv),
    srcBlockStride: Dn + Dv,
    dst: K,
    dstOffset: 0,
    dstRowStride: H * Dq,
    dstBlockStride: Dq,
    n: Dn,
  });
  ops.copyBlocks({ ...per, src: kpe, srcOffset: 0, srcRowStride: R, srcBlockStride: 0, dst: K, dstOffset: Dn, dstRowStride: H * Dq, dstBlockStride: Dq, n: R });
  ops.copyBlocks({
    ...per,
    src: kv,
    srcOffset: Dn,
    srcRowStride: H * (Dn + Dv),
    srcBlockStride: Dn + Dv,
    dst: V,
    dstOffset: 0,
    dstRowStride: H * Dv,
    dstBlockStride: Dv,
    n: Dv,
  });
  const r0 = s.row0,
    r1 = s.row0 + s.T;
  ops.attention({
    q: q.subarray(r0 * H * Dq, r1 * H * Dq),
    k: K,
    kStride: H * Dq,
    kOffset: 0,
    v: V,
    vStride: H * Dv,
    vOffset: 0,
    T: s.T,
    L,
    heads: H,
    kvHeads: H,
    dk: Dq,
    dv: Dv,
    scale: cfg.softmaxScale,
    mask: maskOf(ctx, s, sel),
    out: o.subarray(r0 * H * Dv, r1 * H * Dv),
  });
}

/**
 * Sequences `seqs` own the consecutive rows [seqs[0].row0, last.row0 + last.T). Rows go in windows of at
 * most ~16M floats of absorbed queries ([rows, H, C+R]), so a long prompt's buffers stay bounded.
 */
function absorbed(
  ctx: StepContext,
  layer: number,
  w: AttentionWeights,
  q: Float32Array,
  seqs: readonly StepSequence[],
  sels: readonly Selection[],
  o: Float32Array,
): void {
  const { cfg } = ctx;
  const r0 = seqs[0]!.row0,
    last = seqs[seqs.length - 1]!,
    r1 = last.row0 + last.T;
  const rows = Math.max(1, Math.floor(2 ** 24 / (cfg.numHeads * (cfg.kvLoraRank + cfg.qkRopeHeadDim))));
  for (let a = r0; a < r1; a += rows) {
    const b = Math.min(r1, a + rows);
    const part: StepSequence[] = [],
      partSels: Selection[] = [];
    seqs.forEach((s, i) => {
      const lo = Math.max(a, s.row0) - s.row0,
        hi = Math.min(b, s.row0 + s.T) - s.row0;
      if (lo < hi) {
        part.push(subSequence(s, lo, hi));
        partSels.push(subSelection(sels[i]!, lo, hi));
      }
    });
    absorbedRows(ctx, layer, w, q, part, partSels, o);
  }
}

function absorbedRows(
  ctx: StepContext,
  layer: number,
  w: AttentionWeights,
  q: Float32Array,
  seqs: readonly StepSequence[],
  sels: readonly Selection[],
  o: Float32Array,
): void {
  const { cfg, ops, ws } = ctx;
  const H = cfg.numHeads,
    Dn = cfg.qkNopeHeadDim,
    R = cfg.qkRopeHeadDim,
    C = cfg.kvLoraRank,
    Dv = cfg.vHeadDim,
    Dq = cfg.qkHeadDim;
  const r0 = seqs[0]!.row0,
    last = seqs[seqs.length - 1]!,
    Tg = last.row0 + last.T - r0;
  // q̃_h = W_UK,hᵀ q_nope_h (C wide), followed by the rotary part: one MQA query of width C+R per head.
  const qNopeAbs = ops.headMatmul({
    x: q,
    xStride: Dq,
    xOffset: r0 * H * Dq,
    T: Tg,
    heads: H,
    w: w.kvB,
    headRows: Dn + Dv,
    rowStart: 0,
    n: Dn,
    transposed: true,
    out: ws.get('mla.qnabs', Tg * H * C),
  }); // [Tg, H, C]
  const qAbs = ws.get('mla.qAbs', Tg * H * (C + R));
  const rows = { rows: Tg * H, blocks: 1, srcBlockStride: 0, dstBlockStride: 0 };
  ops.copyBlocks({ ...rows, src: qNopeAbs, srcOffset: 0, srcRowStride: C, dst: qAbs, dstOffset: 0, dstRowStride: C + R, n: C });
  ops.copyBlocks({ ...rows, src: q, srcOffset: r0 * H * Dq + Dn, srcRowStride: Dq, dst: qAbs, dstOffset: C, dstRowStride: C + R, n: R });
  const oLat = ws.get('mla.olat', Tg * H * C); // [Tg, H, C]
  // One shared KV head per sequence: key = cache row (C+R), value = its first C columns. Scale stays
  // qk_head_dim^-0.5. Every sequence against its own cache, in one call (one schedule for all of them).
  ops.attentionMany(
    seqs.map((s, i) => {
      const a = s.row0 - r0,
        b = a + s.T,
        latent = s.cache.latent(layer);
      return {
        q: qAbs.subarray(a * H * (C + R), b * H * (C + R)),
        k: latent.data,
        kStride: C + R,
        kOffset: 0,
        v: latent.data,
        vStride: C + R,
        vOffset: 0,
        pages: latent.pages,
        T: s.T,
        L: s.start + s.T,
        heads: H,
        kvHeads: 1,
        dk: C + R,
        dv: C,
        scale: cfg.softmaxScale,
        mask: maskOf(ctx, s, sels[i]!),
        out: oLat.subarray(a * H * C, b * H * C),
      };
    }),
  );
  // o_h = W_UV,h · ō_h
  ops.headMatmul({
    x: oLat,
    xStride: C,
    xOffset: 0,
    T: Tg,
    heads: H,
    w: w.kvB,
    headRows: Dn + Dv,
    rowStart: Dn,
    n: Dv,
    transposed: false,
    out: o.subarray(r0 * H * Dv, (r0 + Tg) * H * Dv),
  }); // [Tg, H, Dv]
}

/** Columns [from, from+n) of each of `rows` rows of width `width`, into the contiguous [rows, n] `out`. */
function columns(ops: Ops, x: Float32Array, rows: number, width: number, from: number, n: number, out: Float32Array): Float32Array {
  ops.copyBlocks({
    src: x,
    srcOffset: from,
    srcRowStride: width,
    srcBlockStride: 0,
    dst: out,
    dstOffset: 0,
    dstRowStride: n,
    dstBlockStride: 0,
    rows,
    blocks: 1,
    n,
  });
  return out;
}
