// One pre-norm decoder layer: h += MLA(RMSNorm(h)); h += MLP-or-MoE(RMSNorm(h)).

import type { LayerWeights } from './weights.js';
import type { Selection, StepContext } from './context.js';
import { mlaAttention } from './mla.js';
import { moeForward } from './moe.js';
import { swiglu } from './mlp.js';

/** Updates h [T, hidden] in place; returns the DSA selections (one per sequence) this layer used. */
export function decoderLayer(ctx: StepContext, layer: number, w: LayerWeights, h: Float32Array, shared: Selection[] | undefined): Selection[] {
  const { ops, cfg, T } = ctx;
  const D = cfg.hiddenSize;
  // Intermediates live in ctx.ws (one buffer per role, reused by every layer and call).
  const a = ops.rmsNorm(h, T, D, w.inputNorm, cfg.rmsNormEps, ctx.ws.get('layer.norm', T * D));
  const { out, selections } = mlaAttention(ctx, layer, w.attn, a, shared);
  ops.addInPlace(h, out);
  const m = ops.rmsNorm(h, T, D, w.postNorm, cfg.rmsNormEps, ctx.ws.get('layer.norm', T * D));
  ops.addInPlace(h, w.mlp.kind === 'dense' ? swiglu(ctx, 'mlp', w.mlp.dense, m) : moeForward(ctx, layer, w.mlp.moe, m));
  return selections;
}
