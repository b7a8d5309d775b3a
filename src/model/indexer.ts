// DSA lightning indexer (spec §3.4): a cheap multi-head ReLU score over every cached key picks the
// top-k keys each query may attend to. Keys are cached per full-indexer layer. Projections run once over
// all rows of the step; scoring and top-k run per sequence against that sequence's keys.

import type { IndexerWeights } from './weights.js';
import type { Selection, StepContext } from './context.js';

/**
 * kProj = a·wkᵀ [T, Di] and hw = a·weights_projᵀ [T, Hi] come from the layer's grouped input projection.
 * Returns one selection per sequence of the step.
 */
export function runIndexer(ctx: StepContext, layer: number, w: IndexerWeights, kProj: Float32Array, hw: Float32Array, qLat: Float32Array): Selection[] {
  const { ops, cfg, T } = ctx;
  const Hi = cfg.indexNHeads,
    Di = cfg.indexHeadDim,
    R = cfg.qkRopeHeadDim;

  // Keys: one Di-wide key per token (shared by all heads), LayerNorm with bias, rotary on the first R dims.
  const ws = ctx.ws;
  const k = ops.layerNorm(kProj, T, Di, w.kNormWeight, w.kNormBias, 1e-6, ws.get('idx.k', T * Di)); // [T, Di]
  ops.rope({
    x: k,
    T,
    rowStride: Di,
    offset: 0,
    heads: 1,
    headStride: Di,
    dim: R,
    positions: ctx.positions,
    theta: cfg.ropeTheta,
    interleaved: cfg.indexerRopeInterleave,
  });
  for (const s of ctx.seqs) s.cache.writeIndexKeys(layer, k, s.row0, s.T);

  // When no row of a sequence sees more than index_topk keys, top-k keeps everything: DSA ≡ dense causal (spec §3.5).
  const scored = ctx.seqs.map((s) => !ctx.forceDense && s.start + s.T > cfg.indexTopk);
  if (!scored.includes(true)) return ctx.seqs.map(() => null);

  // Queries from the normalised q latent; rotary dims come first in each head (opposite of MLA).
  const q = ops.matmul(qLat, T, w.wqB, ws.get('idx.q', T * Hi * Di)); // [T, Hi, Di]
  ops.rope({
    x: q,
    T,
    rowStride: Hi * Di,
    offset: 0,
    heads: Hi,
    headStride: Di,
    dim: R,
    positions: ctx.positions,
    theta: cfg.ropeTheta,
    interleaved: cfg.indexerRopeInterleave,
  });
  // hw [T, Hi], f32; may be negative, no activation
  const s = Hi ** -0.5;
  for (let i = 0; i < hw.length; i++) hw[i] = hw[i]! * s;

  return ctx.seqs.map((seq, i) => {
    if (!scored[i]) return null;
    const L = seq.start + seq.T,
      r0 = seq.row0,
      r1 = seq.row0 + seq.T;
    const keys = seq.cache.indexKeys(layer);
    const indices = ops.indexerTopk({
      q: q.subarray(r0 * Hi * Di, r1 * Hi * Di),
      weights: hw.subarray(r0 * Hi, r1 * Hi),
      keys: keys.data,
      keyScales: keys.scales,
      pages: keys.pages,
      T: seq.T,
      L,
      heads: Hi,
      dim: Di,
      scale: Di ** -0.5,
      keyLimit: ctx.keyLimit.subarray(r0, r1),
      topk: cfg.indexTopk,
    });
    return { indices, k: Math.min(cfg.indexTopk, L) };
  });
}
