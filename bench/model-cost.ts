// What one forward call must move and compute, from the loaded weights' real formats and shapes:
// the denominators of the roofline fractions the benchmark prints.

import type { GlmModel } from '../src/model/model.js';
import type { LinearWeight } from '../src/tensor/weight.js';
import type { LayerWeights, MlpWeights } from '../src/model/weights.js';

const bytesOf = (w: LinearWeight) => w.data.byteLength + (w.scales ? w.scales.byteLength : 0);
const mlpBytes = (m: MlpWeights) => bytesOf(m.gate) + bytesOf(m.up) + bytesOf(m.down);
const macs = (w: LinearWeight) => w.rows * w.cols;
const mlpMacs = (m: MlpWeights) => macs(m.gate) + macs(m.up) + macs(m.down);

/** Bytes a single-token decode step reads at context L (weights actually used + cache rows read). */
export function decodeBytesPerToken(model: GlmModel, L: number): number {
  const c = model.cfg;
  const sparse = L > c.indexTopk;
  let total = model.weights.embed.data.byteLength / c.vocabSize + bytesOf(model.weights.lmHead);
  for (const l of model.weights.layers as readonly LayerWeights[]) {
    const a = l.attn;
    total += bytesOf(a.qA) + bytesOf(a.qB) + bytesOf(a.kvA) + bytesOf(a.kvB) + bytesOf(a.o);
    if (a.indexer) total += bytesOf(a.indexer.wk) + (sparse ? bytesOf(a.indexer.wqB) + bytesOf(a.indexer.weightsProj) : 0);
    if (a.indexer && sparse) total += L * c.indexHeadDim * 4; // indexer key cache scan
    total += Math.min(L, sparse ? c.indexTopk : L) * (c.kvLoraRank + c.qkRopeHeadDim) * 4; // latent rows read
    if (l.mlp.kind === 'dense') total += mlpBytes(l.mlp.dense);
    else {
      const m = l.mlp.moe;
      total += bytesOf(m.router) + c.numExpertsPerTok * mlpBytes(m.experts[0]!) + (m.shared ? mlpBytes(m.shared) : 0);
    }
  }
  return total;
}

/** FLOPs (2 per multiply-add) of a T-token prefill from an empty cache, logits for the last row only. */
export function prefillFlops(model: GlmModel, T: number): number {
  const c = model.cfg;
  const H = c.numHeads,
    Dq = c.qkHeadDim,
    Dv = c.vHeadDim;
  let m = macs(model.weights.lmHead); // one row of logits
  const sparse = T > c.indexTopk;
  // Σ_t visible keys per row, capped at top-k when sparse.
  let pairs = 0;
  for (let t = 0; t < T; t++) pairs += sparse ? Math.min(t + 1, c.indexTopk) : t + 1;
  const causalPairs = (T * (T + 1)) / 2;
  for (const l of model.weights.layers) {
    const a = l.attn;
    m += T * (macs(a.qA) + macs(a.qB) + macs(a.kvA) + macs(a.kvB) + macs(a.o));
    m += pairs * H * (Dq + Dv);
    if (a.indexer) {
      m += T * macs(a.indexer.wk);
      if (sparse) m += T * (macs(a.indexer.wqB) + macs(a.indexer.weightsProj)) + causalPairs * c.indexNHeads * c.indexHeadDim;
    }
    if (l.mlp.kind === 'dense') m += T * mlpMacs(l.mlp.dense);
    else {
      const moe = l.mlp.moe;
      m += T * (macs(moe.router) + c.numExpertsPerTok * mlpMacs(moe.experts[0]!) + (moe.shared ? mlpMacs(moe.shared) : 0));
    }
  }
  return 2 * m;
}

/** Total and active (per token) parameter counts. */
export function paramCounts(model: GlmModel): { total: number; active: number } {
  const c = model.cfg;
  let total = macs(model.weights.embed) + (model.weights.lmHead === model.weights.embed ? 0 : macs(model.weights.lmHead));
  let active = c.hiddenSize + macs(model.weights.lmHead);
  for (const l of model.weights.layers) {
    const a = l.attn;
    let attn = macs(a.qA) + macs(a.qB) + macs(a.kvA) + macs(a.kvB) + macs(a.o);
    if (a.indexer) attn += macs(a.indexer.wqB) + macs(a.indexer.wk) + macs(a.indexer.weightsProj);
    total += attn;
    active += attn;
    if (l.mlp.kind === 'dense') {
      total += mlpMacs(l.mlp.dense);
      active += mlpMacs(l.mlp.dense);
    } else {
      const moe = l.mlp.moe;
      const shared = moe.shared ? mlpMacs(moe.shared) : 0;
      total += macs(moe.router) + moe.experts.length * mlpMacs(moe.experts[0]!) + shared;
      active += macs(moe.router) + c.numExpertsPerTok * mlpMacs(moe.experts[0]!) + shared;
    }
  }
  return { total, active };
}

/** FLOPs and bytes of a long prefill, by phase (bench/long-prefill.ts runs it; BENCHMARKS.md reports it). */
export interface LongPrefillCost {
  /** 2 per multiply-add. projections: every linear layer, the MLP / MoE, kv_b (expansion of the dense rows' keys
   * and the absorption of the sparse rows' queries / outputs) and one row of logits. */
  readonly flops: { readonly projections: number; readonly indexer: number; readonly attention: number; readonly total: number };
  /** Bytes moved: weights (once per call), indexer keys (once per scored row batch), latent rows gathered. */
  readonly bytes: { readonly weights: number; readonly indexerKeys: number; readonly latentRows: number; readonly total: number };
}

/**
 * The work of a T-token prefill from an empty cache in calls of `chunk` tokens, as the model runs it
 * (model.ts autoForm): rows that see ≤ index_topk keys attend densely in the expanded form (Dq + Dv per key and
 * head, K/V expanded for those keys once), later rows read their top-k latent rows in the absorbed form (C + R
 * scores and C values per key and head, W_UK / W_UV applied per row); the indexer scores every visible key of
 * each row past index_topk (Hi·Di per key). `cacheBytes` is the element size of the latent and key caches.
 */
export function longPrefillCost(model: GlmModel, T: number, chunk = T, cacheBytes = 4): LongPrefillCost {
  const c = model.cfg,
    K = c.indexTopk;
  const H = c.numHeads,
    C = c.kvLoraRank,
    R = c.qkRopeHeadDim,
    Dn = c.qkNopeHeadDim,
    Dq = c.qkHeadDim,
    Dv = c.vHeadDim;
  const dense = Math.min(T, K),
    sparse = T - dense;
  const sum = (a: number, b: number) => ((b - a) * (a + b + 1)) / 2; // Σ_{t=a}^{b-1} (t + 1)
  let proj = macs(model.weights.lmHead),
    idx = 0,
    att = 0,
    weights = bytesOf(model.weights.lmHead),
    keys = 0;
  for (const l of model.weights.layers) {
    const a = l.attn;
    proj += T * (macs(a.qA) + macs(a.qB) + macs(a.kvA) + macs(a.o));
    weights += bytesOf(a.qA) + bytesOf(a.qB) + bytesOf(a.kvA) + bytesOf(a.kvB) + bytesOf(a.o);
    proj += dense * macs(a.kvB) + sparse * H * C * (Dn + Dv);
    att += sum(0, dense) * H * (Dq + Dv) + sparse * K * H * (2 * C + R);
    if (a.indexer) {
      proj += T * (macs(a.indexer.wk) + macs(a.indexer.weightsProj)) + (sparse > 0 ? T * macs(a.indexer.wqB) : 0);
      weights += bytesOf(a.indexer.wk) + bytesOf(a.indexer.weightsProj) + bytesOf(a.indexer.wqB);
      idx += sum(dense, T) * c.indexNHeads * c.indexHeadDim;
      // Row batches of ≤ 2^24 / L rows each read the keys they see once (indexer.cpp).
      for (let s = 0; s < T; s += chunk) {
        const L = Math.min(T, s + chunk),
          rows = Math.max(0, L - Math.max(s, K));
        const batch = Math.max(1, Math.floor(2 ** 24 / L));
        keys += Math.ceil(rows / batch) * L * c.indexHeadDim * cacheBytes;
      }
    }
    if (l.mlp.kind === 'dense') {
      proj += T * mlpMacs(l.mlp.dense);
      weights += mlpBytes(l.mlp.dense);
    } else {
      const moe = l.mlp.moe;
      proj += T * (macs(moe.router) + c.numExpertsPerTok * mlpMacs(moe.experts[0]!) + (moe.shared ? mlpMacs(moe.shared) : 0));
      weights += bytesOf(moe.router) + moe.experts.reduce((s, e) => s + mlpBytes(e), 0) + (moe.shared ? mlpBytes(moe.shared) : 0);
    }
  }
  const calls = Math.ceil(T / chunk),
    latent = model.weights.layers.length * sparse * K * (C + R) * cacheBytes;
  const flops = { projections: 2 * proj, indexer: 2 * idx, attention: 2 * att, total: 2 * (proj + idx + att) };
  return { flops, bytes: { weights: calls * weights, indexerKeys: keys, latentRows: latent, total: calls * weights + keys + latent } };
}
