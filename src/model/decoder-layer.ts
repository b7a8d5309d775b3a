// One pre-norm decoder layer: h += MLA(RMSNorm(h)); h += MLP-or-MoE(RMSNorm(h)).

import type { LayerWeights } from './weights.js';
import type { Selection, StepContext } from './context.js';
import { mlaAttention } from './mla.js';
import { moeForward } from './moe.js';
import { swiglu } from './mlp.js';

/** Updates h [T, hidden] in place; returns the DSA selection this layer used. */
export function decoderLayer(ctx: StepContext, layer: number, w: LayerWeights, h: Float32Array, shared: Selection | undefined): Selection {
  const { ops, cfg, T } = ctx;
  const D = cfg.hiddenSize;
  const a = ops.rmsNorm(h, T, D, w.inputNorm, cfg.rmsNormEps);
  const { out, selection } = mlaAttention(ctx, layer, w.attn, a, shared);
  ops.addInPlace(h, out);
  const m = ops.rmsNorm(h, T, D, w.postNorm, cfg.rmsNormEps);
  ops.addInPlace(h, w.mlp.kind === 'dense' ? swiglu(ops, w.mlp.dense, m, T) : moeForward(ctx, layer, w.mlp.moe, m));
  return selection;
}
