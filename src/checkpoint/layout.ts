// The tensor list of a glm_moe_dsa checkpoint for a given config (names, shapes, roles), in the
// order the released checkpoints use. Used to write synthetic checkpoints; loading is in model/weights.ts.

import type { ModelConfig } from '../model/config.js';

export type TensorRole = 'embed' | 'linear' | 'norm' | 'ln_bias' | 'router' | 'router_bias' | 'head' | 'unquantised_linear';

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly [number] | readonly [number, number];
  readonly role: TensorRole;
}

function mlp(p: string, hidden: number, inter: number): TensorSpec[] {
  return [
    { name: `${p}.gate_proj.weight`, shape: [inter, hidden], role: 'linear' },
    { name: `${p}.up_proj.weight`, shape: [inter, hidden], role: 'linear' },
    { name: `${p}.down_proj.weight`, shape: [hidden, inter], role: 'linear' },
  ];
}

function layer(c: ModelConfig, i: number, moe: boolean, indexer: boolean): TensorSpec[] {
  const p = `model.layers.${i}`;
  const a = `${p}.self_attn`;
  const D = c.hiddenSize, H = c.numHeads;
  const out: TensorSpec[] = [
    { name: `${p}.input_layernorm.weight`, shape: [D], role: 'norm' },
    { name: `${a}.q_a_proj.weight`, shape: [c.qLoraRank, D], role: 'linear' },
    { name: `${a}.q_a_layernorm.weight`, shape: [c.qLoraRank], role: 'norm' },
    { name: `${a}.q_b_proj.weight`, shape: [H * c.qkHeadDim, c.qLoraRank], role: 'linear' },
    { name: `${a}.kv_a_proj_with_mqa.weight`, shape: [c.kvLoraRank + c.qkRopeHeadDim, D], role: 'linear' },
    { name: `${a}.kv_a_layernorm.weight`, shape: [c.kvLoraRank], role: 'norm' },
    { name: `${a}.kv_b_proj.weight`, shape: [H * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank], role: 'linear' },
    { name: `${a}.o_proj.weight`, shape: [D, H * c.vHeadDim], role: 'linear' },
  ];
  if (indexer) {
    out.push(
      { name: `${a}.indexer.wq_b.weight`, shape: [c.indexNHeads * c.indexHeadDim, c.qLoraRank], role: 'linear' },
      { name: `${a}.indexer.wk.weight`, shape: [c.indexHeadDim, D], role: 'linear' },
      { name: `${a}.indexer.k_norm.weight`, shape: [c.indexHeadDim], role: 'norm' },
      { name: `${a}.indexer.k_norm.bias`, shape: [c.indexHeadDim], role: 'ln_bias' },
      { name: `${a}.indexer.weights_proj.weight`, shape: [c.indexNHeads, D], role: 'unquantised_linear' },
    );
  }
  out.push({ name: `${p}.post_attention_layernorm.weight`, shape: [D], role: 'norm' });
  if (!moe) return [...out, ...mlp(`${p}.mlp`, D, c.intermediateSize)];
  out.push(
    { name: `${p}.mlp.gate.weight`, shape: [c.nRoutedExperts, D], role: 'router' },
    { name: `${p}.mlp.gate.e_score_correction_bias`, shape: [c.nRoutedExperts], role: 'router_bias' },
  );
  for (let e = 0; e < c.nRoutedExperts; e++) out.push(...mlp(`${p}.mlp.experts.${e}`, D, c.moeIntermediateSize));
  if (c.nSharedExperts > 0) out.push(...mlp(`${p}.mlp.shared_experts`, D, c.moeIntermediateSize * c.nSharedExperts));
  return out;
}

export function checkpointLayout(c: ModelConfig): TensorSpec[] {
  const D = c.hiddenSize;
  const out: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, D], role: 'embed' }];
  for (let i = 0; i < c.numLayers; i++) out.push(...layer(c, i, c.mlpLayerTypes[i] === 'sparse', c.indexerTypes[i] === 'full'));
  for (let j = 0; j < c.numNextnPredictLayers; j++) {
    const i = c.numLayers + j;
    const p = `model.layers.${i}`;
    out.push(
      { name: `${p}.enorm.weight`, shape: [D], role: 'norm' },
      { name: `${p}.hnorm.weight`, shape: [D], role: 'norm' },
      { name: `${p}.eh_proj.weight`, shape: [D, 2 * D], role: 'unquantised_linear' },
      ...layer(c, i, true, true),
      { name: `${p}.shared_head.norm.weight`, shape: [D], role: 'norm' },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [D], role: 'norm' });
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, D], role: 'head' });
  return out;
}
