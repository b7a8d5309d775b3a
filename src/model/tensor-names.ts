// The one table of checkpoint tensors (glm_moe_dsa and its registered relatives) for a given config: HF name, shape, role and the
// weights field it fills (`key`), in the order the released checkpoints use. The loader (weights.ts)
// reads it and the synthetic writer (synthetic.ts) writes it, so every HF name is spelled here only.

import type { ModelConfig } from './config.js';
import { pushAll } from '../tensor/arrays.js';

export type TensorRole = 'embed' | 'linear' | 'norm' | 'ln_bias' | 'router' | 'router_bias' | 'head' | 'unquantised_linear';

export interface TensorSpec {
  /** Field of the layer's (or model's) weights this tensor fills, e.g. 'attn.qA', 'expert.3.gate'. */
  readonly key: string;
  readonly name: string;
  readonly shape: readonly [number] | readonly [number, number];
  readonly role: TensorRole;
}

function mlp(key: string, p: string, hidden: number, inter: number): TensorSpec[] {
  return [
    { key: `${key}.gate`, name: `${p}.gate_proj.weight`, shape: [inter, hidden], role: 'linear' },
    { key: `${key}.up`, name: `${p}.up_proj.weight`, shape: [inter, hidden], role: 'linear' },
    { key: `${key}.down`, name: `${p}.down_proj.weight`, shape: [hidden, inter], role: 'linear' },
  ];
}

/** The tensors of decoder layer i (also the MTP layer's block). */
export function layerTensors(c: ModelConfig, i: number, moe: boolean, indexer: boolean): TensorSpec[] {
  const p = `model.layers.${i}`;
  const a = `${p}.self_attn`;
  const D = c.hiddenSize,
    H = c.numHeads;
  const out: TensorSpec[] = [
    { key: 'inputNorm', name: `${p}.input_layernorm.weight`, shape: [D], role: 'norm' },
    { key: 'attn.qA', name: `${a}.q_a_proj.weight`, shape: [c.qLoraRank, D], role: 'linear' },
    { key: 'attn.qANorm', name: `${a}.q_a_layernorm.weight`, shape: [c.qLoraRank], role: 'norm' },
    { key: 'attn.qB', name: `${a}.q_b_proj.weight`, shape: [H * c.qkHeadDim, c.qLoraRank], role: 'linear' },
    { key: 'attn.kvA', name: `${a}.kv_a_proj_with_mqa.weight`, shape: [c.kvLoraRank + c.qkRopeHeadDim, D], role: 'linear' },
    { key: 'attn.kvANorm', name: `${a}.kv_a_layernorm.weight`, shape: [c.kvLoraRank], role: 'norm' },
    { key: 'attn.kvB', name: `${a}.kv_b_proj.weight`, shape: [H * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank], role: 'linear' },
    { key: 'attn.o', name: `${a}.o_proj.weight`, shape: [D, H * c.vHeadDim], role: 'linear' },
  ];
  if (indexer) {
    out.push(
      { key: 'indexer.wqB', name: `${a}.indexer.wq_b.weight`, shape: [c.indexNHeads * c.indexHeadDim, c.qLoraRank], role: 'linear' },
      { key: 'indexer.wk', name: `${a}.indexer.wk.weight`, shape: [c.indexHeadDim, D], role: 'linear' },
      { key: 'indexer.kNormWeight', name: `${a}.indexer.k_norm.weight`, shape: [c.indexHeadDim], role: 'norm' },
      { key: 'indexer.kNormBias', name: `${a}.indexer.k_norm.bias`, shape: [c.indexHeadDim], role: 'ln_bias' },
      { key: 'indexer.weightsProj', name: `${a}.indexer.weights_proj.weight`, shape: [c.indexNHeads, D], role: 'unquantised_linear' },
    );
  }
  out.push({ key: 'postNorm', name: `${p}.post_attention_layernorm.weight`, shape: [D], role: 'norm' });
  if (!moe) return [...out, ...mlp('dense', `${p}.mlp`, D, c.intermediateSize)];
  out.push(
    { key: 'moe.router', name: `${p}.mlp.gate.weight`, shape: [c.nRoutedExperts, D], role: 'router' },
    { key: 'moe.bias', name: `${p}.mlp.gate.e_score_correction_bias`, shape: [c.nRoutedExperts], role: 'router_bias' },
  );
  for (let e = 0; e < c.nRoutedExperts; e++) pushAll(out, mlp(`expert.${e}`, `${p}.mlp.experts.${e}`, D, c.moeIntermediateSize));
  if (c.nSharedExperts > 0) pushAll(out, mlp('shared', `${p}.mlp.shared_experts`, D, c.moeIntermediateSize * c.nSharedExperts));
  return out;
}

/** Every tensor of a checkpoint with this config (main stack, MTP layers, head). */
export function checkpointTensors(c: ModelConfig): TensorSpec[] {
  const D = c.hiddenSize;
  const out: TensorSpec[] = [{ key: 'embed', name: 'model.embed_tokens.weight', shape: [c.vocabSize, D], role: 'embed' }];
  for (let i = 0; i < c.numLayers; i++) pushAll(out, layerTensors(c, i, c.mlpLayerTypes[i] === 'sparse', c.indexerTypes[i] === 'full'));
  for (let j = 0; j < c.numNextnPredictLayers; j++) {
    const i = c.numLayers + j;
    const p = `model.layers.${i}`;
    out.push(
      { key: 'mtp.enorm', name: `${p}.enorm.weight`, shape: [D], role: 'norm' },
      { key: 'mtp.hnorm', name: `${p}.hnorm.weight`, shape: [D], role: 'norm' },
      { key: 'mtp.ehProj', name: `${p}.eh_proj.weight`, shape: [D, 2 * D], role: 'unquantised_linear' },
    );
    pushAll(out, layerTensors(c, i, true, c.mtpIndexerType === 'full'));
    out.push({ key: 'mtp.headNorm', name: `${p}.shared_head.norm.weight`, shape: [D], role: 'norm' });
    if (c.architecture.mtpOwnEmbedding) pushAll(out, mtpOwnEmbedding(c, i));
  }
  out.push({ key: 'norm', name: 'model.norm.weight', shape: [D], role: 'norm' });
  if (!c.tieWordEmbeddings) out.push(lmHeadTensor(c));
  return out;
}

/** lm_head (absent from checkpoints that tie it to the embedding; some tied exports still carry it). */
export function lmHeadTensor(c: ModelConfig): TensorSpec {
  return { key: 'lmHead', name: 'lm_head.weight', shape: [c.vocabSize, c.hiddenSize], role: 'head' };
}

/** The MTP layer's own embedding and head ([V, hidden] each): the drafter's in glm4_moe_lite (spec glm47-flash.md §4). */
function mtpOwnEmbedding(c: ModelConfig, i: number): TensorSpec[] {
  return [
    { key: 'mtp.embed', name: `model.layers.${i}.embed_tokens.weight`, shape: [c.vocabSize, c.hiddenSize], role: 'embed' },
    { key: 'mtp.head', name: `model.layers.${i}.shared_head.head.weight`, shape: [c.vocabSize, c.hiddenSize], role: 'head' },
  ];
}

/** Names some glm_moe_dsa exports add to an MTP layer that duplicate the main embedding and head (accepted, unused). */
export function mtpDuplicateNames(i: number): string[] {
  return [`model.layers.${i}.embed_tokens.weight`, `model.layers.${i}.shared_head.head.weight`];
}

/** Layer index of a per-layer tensor name, with the rest of its name (or null). */
export function parseLayerName(name: string): { layer: number; rest: string } | null {
  const m = /^model\.layers\.(\d+)\.(.*)$/.exec(name);
  return m ? { layer: Number(m[1]), rest: m[2]! } : null;
}
