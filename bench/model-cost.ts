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
  const H = c.numHeads, Dq = c.qkHeadDim, Dv = c.vHeadDim;
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
