// DSA indexer recall for the eval: the share of the main attention's probability mass (dense causal softmax, averaged
// over heads) that falls inside the indexer's top-k, next to the mass of the best possible top-k. The model runs
// unchanged; its `trace` hook hands out each layer's input and top-k, and this helper recomputes the layer's dense
// attention probabilities from those inputs with the model's own ops and weights (expanded MLA, spec §3.3).

import type { GlmModel } from '../src/model/model.js';

export interface RecallResult {
  readonly perLayer: { layer: number; recall: number; best: number }[];
  readonly queries: number;
}

export function indexerRecall(model: GlmModel, windows: number[][]): RecallResult {
  const { cfg, ops, weights } = model;
  const D = cfg.hiddenSize,
    H = cfg.numHeads,
    Dn = cfg.qkNopeHeadDim,
    R = cfg.qkRopeHeadDim,
    Dv = cfg.vHeadDim;
  const C = cfg.kvLoraRank,
    Ql = cfg.qLoraRank,
    K = cfg.indexTopk,
    Dq = Dn + R;
  const acc = Array.from({ length: cfg.numLayers }, () => ({ recall: 0, best: 0, n: 0 }));
  for (const ids of windows) {
    const T = ids.length;
    const inputs: Float32Array[] = [];
    const topk: Int32Array[] = [];
    model.forward(ids, model.newCache(T), {
      logits: 'none',
      trace: (name, layer, t) => {
        if (name === 'hidden.embed' || (name === 'hidden.layer' && layer + 1 < cfg.numLayers)) inputs.push(Float32Array.from(t as Float32Array));
        if (name === 'topk') topk[layer] = Int32Array.from(t as Int32Array);
      },
    });
    const positions = Int32Array.from({ length: T }, (_, i) => i);
    for (let l = 0; l < cfg.numLayers; l++) {
      const w = weights.layers[l]!;
      const sel = topk[l];
      if (!sel || sel.length !== T * K) continue; // dense layer call (context ≤ index_topk)
      const a = ops.rmsNorm(inputs[l]!, T, D, w.inputNorm, cfg.rmsNormEps);
      const qLat = ops.rmsNorm(ops.matmul(a, T, w.attn.qA), T, Ql, w.attn.qANorm, cfg.latentNormEps);
      const q = ops.matmul(qLat, T, w.attn.qB); // [T, H, Dn+R]
      ops.rope({ x: q, T, rowStride: H * Dq, offset: Dn, heads: H, headStride: Dq, dim: R, positions, theta: cfg.ropeTheta, interleaved: cfg.ropeInterleave });
      const ckv = ops.matmul(a, T, w.attn.kvA); // [T, C+R]
      const c0 = new Float32Array(T * C);
      for (let t = 0; t < T; t++) c0.set(ckv.subarray(t * (C + R), t * (C + R) + C), t * C);
      const c = ops.rmsNorm(c0, T, C, w.attn.kvANorm, cfg.latentNormEps);
      ops.rope({ x: ckv, T, rowStride: C + R, offset: C, heads: 1, headStride: R, dim: R, positions, theta: cfg.ropeTheta, interleaved: cfg.ropeInterleave });
      const kv = ops.matmul(c, T, w.attn.kvB); // [T, H, Dn+Dv]
      const p = new Float64Array(T);
      const row = new Float64Array(T);
      for (let t = K; t < T; t++) {
        p.fill(0, 0, t + 1);
        for (let h = 0; h < H; h++) {
          let max = -Infinity;
          const qo = t * H * Dq + h * Dq;
          for (let s = 0; s <= t; s++) {
            const ko = s * H * (Dn + Dv) + h * (Dn + Dv);
            let dot = 0;
            for (let d = 0; d < Dn; d++) dot += q[qo + d]! * kv[ko + d]!;
            for (let r = 0; r < R; r++) dot += q[qo + Dn + r]! * ckv[s * (C + R) + C + r]!;
            row[s] = dot * cfg.softmaxScale;
            if (row[s]! > max) max = row[s]!;
          }
          let z = 0;
          for (let s = 0; s <= t; s++) z += row[s] = Math.exp(row[s]! - max);
          for (let s = 0; s <= t; s++) p[s]! += row[s]! / z / H;
        }
        let got = 0;
        for (let j = 0; j < K; j++) {
          const s = sel[t * K + j]!;
          if (s >= 0 && s <= t) got += p[s]!;
        }
        const best = Array.from(p.subarray(0, t + 1))
          .sort((x, y) => y - x)
          .slice(0, K)
          .reduce((x, y) => x + y, 0);
        acc[l]!.recall += got;
        acc[l]!.best += best;
        acc[l]!.n++;
      }
    }
  }
  return {
    perLayer: acc.map((x, layer) => ({ layer, recall: x.recall / Math.max(x.n, 1), best: x.best / Math.max(x.n, 1) })).filter((_, l) => acc[l]!.n > 0),
    queries: acc[0]!.n,
  };
}
