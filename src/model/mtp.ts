// The MTP ("nextn") layer as a draft model (spec §4): a row pairs the main model's hidden state at
// position i with the token at i+1 and predicts the token at i+2:
//   x = eh_proj([RMSNorm(embed(t_{i+1}); enorm) ‖ RMSNorm(h_i; hnorm)])   (embedding half first)
//   x = DecoderLayer_N(x)         its own latent (+ indexer) cache (cache layer index N = num_hidden_layers)
//   logits = lm_head(RMSNorm(x; shared_head.norm))
// embed / lm_head are the main model's, or the layer's own embed_tokens / shared_head.head (glm4_moe_lite).
// The row runs at position i. Drafts of k > 1 tokens chain the layer: step j feeds its own output hidden
// (pre-`shared_head.norm`, as vLLM) back as h with the token it just drafted, one position further.

import { autoForm, type GlmModel, type StepInput } from './model.js';
import type { KvCache, StepContext, StepSequence } from './context.js';
import { decoderLayer } from './decoder-layer.js';

export interface MtpInput {
  /** [T, hidden] the hidden states h_i the rows consume (main final-normed, or the MTP's own output when chaining). */
  readonly hidden: Float32Array;
  /** [T] the tokens t_{i+1} paired with them. */
  readonly tokens: ArrayLike<number>;
  /** The MTP layer's cache view (its length = position of the first row). */
  readonly cache: KvCache;
  readonly logits: StepInput['logits'];
}

export interface MtpResult {
  /** [Σ logit rows, V], as StepResult. */
  readonly logits: Float32Array;
  readonly logitRows: readonly { readonly first: number; readonly count: number }[];
  /** [T, hidden] the layer's output before shared_head.norm (the h of the next chained draft). */
  readonly hidden: Float32Array;
}

/** One batched MTP step (MTP layer `index`, default the first) over several sequences. */
export function mtpStep(model: GlmModel, batch: readonly MtpInput[], index = 0): MtpResult {
  const { cfg, ops, weights } = model;
  const w = weights.mtp[index];
  if (!w) throw new Error('this checkpoint has no MTP layer');
  const D = cfg.hiddenSize,
    layer = cfg.numLayers + index;
  let T = 0;
  for (const b of batch) T += b.tokens.length;
  const ids = new Int32Array(T),
    positions = new Int32Array(T),
    keyLimit = new Int32Array(T),
    h = new Float32Array(T * D);
  const seqs: StepSequence[] = [];
  let row = 0;
  for (const b of batch) {
    const n = b.tokens.length,
      start = b.cache.length;
    if (b.hidden.length !== n * D) throw new RangeError(`mtpStep: hidden has ${b.hidden.length} values, expected ${n}×${D}`);
    h.set(b.hidden, row * D);
    for (let t = 0; t < n; t++) {
      ids[row + t] = b.tokens[t]!;
      positions[row + t] = start + t;
      keyLimit[row + t] = start + t + 1;
    }
    seqs.push({ cache: b.cache, start, T: n, row0: row, form: autoForm(cfg, n, start + n) });
    row += n;
  }
  const ctx: StepContext = { ops, cfg, T, positions, keyLimit, seqs, forceDense: false, ws: model.workspace };
  const e = ops.rmsNorm(ops.gatherRows(w.embed ?? weights.embed, ids), T, D, w.enorm, cfg.rmsNormEps); // [T, D]
  const hn = ops.rmsNorm(h, T, D, w.hnorm, cfg.rmsNormEps); // [T, D]
  const cat = model.workspace.get('mtp.cat', T * 2 * D); // [T, 2D]: embedding half first; both halves overwritten
  ops.copyBlocks({
    src: e,
    srcOffset: 0,
    srcRowStride: D,
    srcBlockStride: 0,
    dst: cat,
    dstOffset: 0,
    dstRowStride: 2 * D,
    dstBlockStride: 0,
    rows: T,
    blocks: 1,
    n: D,
  });
  ops.copyBlocks({
    src: hn,
    srcOffset: 0,
    srcRowStride: D,
    srcBlockStride: 0,
    dst: cat,
    dstOffset: D,
    dstRowStride: 2 * D,
    dstBlockStride: 0,
    rows: T,
    blocks: 1,
    n: D,
  });
  const x = ops.matmul(cat, T, w.ehProj); // [T, D]
  decoderLayer(ctx, layer, w.layer, x, undefined);
  for (const s of seqs) s.cache.commit(s.T);

  const logitRows: { first: number; count: number }[] = [];
  const pick: number[] = [];
  batch.forEach((b, i) => {
    const s = seqs[i]!,
      first = pick.length;
    if (b.logits === 'all') for (let t = 0; t < s.T; t++) pick.push(s.row0 + t);
    else if (b.logits === 'last') pick.push(s.row0 + s.T - 1);
    logitRows.push({ first, count: pick.length - first });
  });
  if (pick.length === 0) return { logits: new Float32Array(0), logitRows, hidden: x };
  const sel = new Float32Array(pick.length * D);
  pick.forEach((r, i) => sel.set(x.subarray(r * D, (r + 1) * D), i * D));
  const normed = ops.rmsNorm(sel, pick.length, D, w.headNorm, cfg.rmsNormEps);
  return { logits: ops.matmul(normed, pick.length, w.head ?? weights.lmHead), logitRows, hidden: x };
}
