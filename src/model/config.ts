// GLM-5 family config (HF model_type glm_moe_dsa, and the architectures registered in architectures.ts):
// parsed once with zod at the edge into a readonly, camelCase object with every derived size and per-layer
// table computed here. Rules: shared/spec/architecture.md §1, shared/spec/glm47-flash.md §1, §6.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CheckpointError } from '../checkpoint/errors.js';
import { ARCHITECTURES, resolveArchitecture, type Architecture, type MlpType } from './architectures.js';

const posInt = z.number().int().positive();

const RawConfig = z.looseObject({
  model_type: z.string().optional(),
  vocab_size: posInt,
  hidden_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  q_lora_rank: posInt.nullable(),
  kv_lora_rank: posInt,
  qk_nope_head_dim: posInt,
  qk_rope_head_dim: posInt,
  v_head_dim: posInt,
  index_n_heads: posInt.optional(),
  index_head_dim: posInt.optional(),
  index_topk: posInt.optional(),
  indexer_types: z
    .array(z.enum(['full', 'shared']))
    .optional()
    .nullable(),
  index_topk_freq: z.number().int().optional().nullable(),
  index_skip_topk_offset: z.number().int().optional().nullable(),
  index_topk_pattern: z.string().optional().nullable(),
  index_share_for_mtp_iteration: z.boolean().optional().nullable(),
  rope_interleave: z.boolean().optional().nullable(),
  indexer_rope_interleave: z.boolean().optional().nullable(),
  rope_parameters: z
    .looseObject({ rope_theta: z.number().positive().optional(), rope_type: z.string().optional(), partial_rotary_factor: z.number().optional() })
    .optional()
    .nullable(),
  rope_theta: z.number().positive().optional(),
  partial_rotary_factor: z.number().optional().nullable(),
  rope_scaling: z.unknown().optional(),
  max_position_embeddings: posInt.optional(),
  rms_norm_eps: z.number().positive().optional(),
  n_routed_experts: posInt,
  num_experts_per_tok: posInt,
  n_shared_experts: z.number().int().nonnegative().optional().nullable(),
  moe_intermediate_size: posInt,
  intermediate_size: posInt,
  first_k_dense_replace: z.number().int().nonnegative().optional().nullable(),
  mlp_layer_types: z
    .array(z.enum(['dense', 'sparse']))
    .optional()
    .nullable(),
  routed_scaling_factor: z.number().optional().nullable(),
  n_group: posInt.optional().nullable(),
  topk_group: posInt.optional().nullable(),
  norm_topk_prob: z.boolean().optional().nullable(),
  scoring_func: z.string().optional().nullable(),
  topk_method: z.string().optional().nullable(),
  moe_router_dtype: z.string().optional().nullable(),
  hidden_act: z.string().optional().nullable(),
  attention_bias: z.boolean().optional().nullable(),
  tie_word_embeddings: z.boolean().optional().nullable(),
  num_nextn_predict_layers: z.number().int().nonnegative().optional().nullable(),
  eos_token_id: z
    .union([z.number().int(), z.array(z.number().int())])
    .optional()
    .nullable(),
  pad_token_id: z.number().int().optional().nullable(),
  bos_token_id: z.number().int().optional().nullable(),
  dtype: z.string().optional().nullable(),
  torch_dtype: z.string().optional().nullable(),
  quantization_config: z
    .looseObject({
      quant_method: z.string().optional(),
      fmt: z.string().optional(),
      weight_block_size: z.array(posInt).length(2).optional(),
    })
    .optional()
    .nullable(),
});
export type RawConfigJson = z.input<typeof RawConfig>;

/** full: own indexer; shared: reuses the top-k of the full layer below (GLM-5.2); none: every causal key (GLM-4.7-Flash). */
export type IndexerType = 'full' | 'shared' | 'none';
export type { MlpType } from './architectures.js';

export interface ModelConfig {
  /** The registered architecture (architectures.ts) the config's model_type resolved to. */
  readonly architecture: Architecture;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly qLoraRank: number;
  /** C: width of the compressed KV latent. */
  readonly kvLoraRank: number;
  readonly qkNopeHeadDim: number;
  /** R: rotary width of MLA q/k and of the indexer heads. */
  readonly qkRopeHeadDim: number;
  readonly qkHeadDim: number;
  readonly vHeadDim: number;
  /** MLA softmax scale qk_head_dim^-0.5 (no mscale: rope_type default). */
  readonly softmaxScale: number;
  /** Indexer heads and head width (0 without an indexer). */
  readonly indexNHeads: number;
  readonly indexHeadDim: number;
  /** Keys each query keeps; without an indexer max_position_embeddings (top-k never drops a key). */
  readonly indexTopk: number;
  /** Per decoder layer of the main stack. */
  readonly indexerTypes: readonly IndexerType[];
  /** The MTP layers' indexer: 'full' (glm_moe_dsa) or 'none'. */
  readonly mtpIndexerType: IndexerType;
  /** For each layer, the full layer whose top-k it uses (itself when full or none). */
  readonly indexerSource: readonly number[];
  readonly indexShareForMtpIteration: boolean;
  readonly ropeInterleave: boolean;
  readonly indexerRopeInterleave: boolean;
  readonly ropeTheta: number;
  readonly maxPositionEmbeddings: number;
  readonly rmsNormEps: number;
  /** eps of q_a_layernorm / kv_a_layernorm: HF uses the class default 1e-6 (spec §9.3). */
  readonly latentNormEps: number;
  readonly nRoutedExperts: number;
  readonly numExpertsPerTok: number;
  readonly nSharedExperts: number;
  readonly moeIntermediateSize: number;
  readonly intermediateSize: number;
  readonly mlpLayerTypes: readonly MlpType[];
  readonly routedScalingFactor: number;
  readonly nGroup: number;
  readonly topkGroup: number;
  readonly normTopkProb: boolean;
  readonly tieWordEmbeddings: boolean;
  readonly numNextnPredictLayers: number;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  readonly bosTokenId: number | null;
  /** FP8 block size [rows, cols] when the checkpoint is block-quantised. */
  readonly fp8BlockSize: readonly [number, number] | null;
  /** Element type of the stored tensors (`dtype` / `torch_dtype`; the linears are e4m3 when fp8BlockSize is set). */
  readonly storedDtype: StoredDtype;
}

export type StoredDtype = 'f32' | 'bf16' | 'f16';
const STORED_DTYPES: Readonly<Record<string, StoredDtype>> = { float32: 'f32', bfloat16: 'bf16', float16: 'f16' };

export class ConfigError extends Error {
  constructor(message: string) {
    super(`config.json: ${message}`);
    this.name = 'ConfigError';
  }
}

/** HF __post_init__ rule: layer i is full iff max(i − offset + 1, 0) mod freq == 0. */
export function deriveIndexerTypes(numLayers: number, opts: { pattern?: string | null; freq?: number | null; offset?: number | null }): IndexerType[] {
  if (opts.pattern) {
    if (opts.pattern.length !== numLayers || /[^FS]/.test(opts.pattern)) {
      throw new ConfigError(`index_topk_pattern must be ${numLayers} characters of F/S, got '${opts.pattern}'`);
    }
    return [...opts.pattern].map((c) => (c === 'F' ? 'full' : 'shared'));
  }
  const freq = Math.max(opts.freq ?? 1, 1);
  const offset = opts.offset ?? 2;
  return Array.from({ length: numLayers }, (_, i) => (Math.max(i - offset + 1, 0) % freq === 0 ? 'full' : 'shared'));
}

type Raw = z.infer<typeof RawConfig>;

function supported(what: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value)) throw new ConfigError(`${what} '${value}' is not supported (only ${allowed.join(', ')})`);
}

/** Math-changing fields this implementation does not cover: a clear error, never a guess. */
function checkSupported(c: Raw, arch: Architecture): void {
  supported('rope_type', c.rope_parameters?.rope_type ?? 'default', ['default']);
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) throw new ConfigError('rope_scaling is not supported');
  // Rotary width = qk_rope_head_dim × factor; anything but 1 breaks the HF forward itself (glm47-flash.md §1).
  const prf = c.rope_parameters?.partial_rotary_factor ?? c.partial_rotary_factor ?? 1;
  if (prf !== 1) throw new ConfigError(`partial_rotary_factor ${prf} is not supported (only 1.0)`);
  if (arch.routerFieldsInConfig) {
    supported('scoring_func', c.scoring_func ?? 'sigmoid', ['sigmoid']);
    supported('topk_method', c.topk_method ?? 'noaux_tc', ['noaux_tc']);
  }
  supported('hidden_act', c.hidden_act ?? 'silu', ['silu']);
  if (c.attention_bias) throw new ConfigError('attention_bias true is not supported');
  const routerDtype = c.moe_router_dtype ?? 'float32';
  if (routerDtype !== 'float32' && routerDtype !== 'bfloat16') throw new ConfigError(`moe_router_dtype '${routerDtype}' unknown`);
  if (c.q_lora_rank === null) throw new ConfigError('q_lora_rank: null (a plain q_proj) is not supported');
}

interface IndexerTable {
  readonly indexNHeads: number;
  readonly indexHeadDim: number;
  readonly indexTopk: number;
  readonly indexerTypes: IndexerType[];
  readonly mtpIndexerType: IndexerType;
  readonly indexerSource: number[];
}

/** Per-layer indexer types and sources: explicit list, pattern, freq/offset rule — or none at all. */
function indexerTable(c: Raw, arch: Architecture, maxPositions: number): IndexerTable {
  const N = c.num_hidden_layers;
  if (!arch.indexer) {
    const none = Array.from({ length: N }, (): IndexerType => 'none');
    return { indexNHeads: 0, indexHeadDim: 0, indexTopk: maxPositions, indexerTypes: none, mtpIndexerType: 'none', indexerSource: none.map((_, i) => i) };
  }
  for (const k of ['index_n_heads', 'index_head_dim', 'index_topk'] as const) {
    if (c[k] === undefined) throw new ConfigError(`${k}: required for ${arch.modelType}`);
  }
  const indexerTypes: IndexerType[] =
    c.indexer_types ?? deriveIndexerTypes(N, { pattern: c.index_topk_pattern, freq: c.index_topk_freq, offset: c.index_skip_topk_offset });
  if (indexerTypes.length !== N) throw new ConfigError(`indexer_types has ${indexerTypes.length} entries, expected ${N}`);
  const indexerSource: number[] = [];
  let lastFull = -1;
  for (let i = 0; i < N; i++) {
    if (indexerTypes[i] === 'full') lastFull = i;
    else if (lastFull < 0) throw new ConfigError(`layer ${i} shares an indexer but no full indexer layer precedes it`);
    indexerSource.push(lastFull);
  }
  if (c.qk_rope_head_dim > c.index_head_dim!) throw new ConfigError('qk_rope_head_dim exceeds index_head_dim');
  return { indexNHeads: c.index_n_heads!, indexHeadDim: c.index_head_dim!, indexTopk: c.index_topk!, indexerTypes, mtpIndexerType: 'full', indexerSource };
}

export function parseConfig(json: unknown): ModelConfig {
  const r = RawConfig.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const c = r.data;
  const arch = resolveArchitecture(c.model_type);
  if (!arch) throw new ConfigError(`model_type '${c.model_type}' is not supported (expected one of ${Object.keys(ARCHITECTURES).join(', ')})`);
  checkSupported(c, arch);

  const N = c.num_hidden_layers;
  const maxPositionEmbeddings = c.max_position_embeddings ?? 202752;
  const idx = indexerTable(c, arch, maxPositionEmbeddings);
  const mlpLayerTypes: MlpType[] = c.mlp_layer_types ?? arch.defaultMlpLayers(N, c.first_k_dense_replace);
  if (mlpLayerTypes.length !== N) throw new ConfigError(`mlp_layer_types has ${mlpLayerTypes.length} entries, expected ${N}`);

  const nGroup = c.n_group ?? 1;
  const topkGroup = c.topk_group ?? 1;
  if (c.n_routed_experts % nGroup !== 0) throw new ConfigError(`n_routed_experts ${c.n_routed_experts} not divisible by n_group ${nGroup}`);
  if (topkGroup > nGroup) throw new ConfigError(`topk_group ${topkGroup} > n_group ${nGroup}`);
  if (c.num_experts_per_tok > (c.n_routed_experts / nGroup) * topkGroup)
    throw new ConfigError('num_experts_per_tok exceeds the experts reachable through topk_group groups');
  if (c.qk_rope_head_dim % 2 !== 0) throw new ConfigError('qk_rope_head_dim must be even');

  let fp8BlockSize: [number, number] | null = null;
  const q = c.quantization_config;
  if (q && q.quant_method !== undefined) {
    if (q.quant_method !== 'fp8') throw new ConfigError(`quantization_config.quant_method '${q.quant_method}' is not supported (only fp8)`);
    if (q.fmt !== undefined && q.fmt !== 'e4m3') throw new ConfigError(`quantization_config.fmt '${q.fmt}' is not supported (only e4m3)`);
    fp8BlockSize = (q.weight_block_size as [number, number] | undefined) ?? [128, 128];
  }

  const qkHeadDim = c.qk_nope_head_dim + c.qk_rope_head_dim;
  const eos = c.eos_token_id;
  return Object.freeze({
    architecture: arch,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: N,
    numHeads: c.num_attention_heads,
    qLoraRank: c.q_lora_rank!,
    kvLoraRank: c.kv_lora_rank,
    qkNopeHeadDim: c.qk_nope_head_dim,
    qkRopeHeadDim: c.qk_rope_head_dim,
    qkHeadDim,
    vHeadDim: c.v_head_dim,
    softmaxScale: qkHeadDim ** -0.5,
    indexNHeads: idx.indexNHeads,
    indexHeadDim: idx.indexHeadDim,
    indexTopk: idx.indexTopk,
    indexerTypes: Object.freeze(idx.indexerTypes),
    mtpIndexerType: idx.mtpIndexerType,
    indexerSource: Object.freeze(idx.indexerSource),
    indexShareForMtpIteration: c.index_share_for_mtp_iteration ?? false,
    ropeInterleave: c.rope_interleave ?? true,
    indexerRopeInterleave: c.indexer_rope_interleave ?? true,
    ropeTheta: c.rope_parameters?.rope_theta ?? c.rope_theta ?? arch.defaults.ropeTheta,
    maxPositionEmbeddings,
    rmsNormEps: c.rms_norm_eps ?? 1e-5,
    latentNormEps: 1e-6,
    nRoutedExperts: c.n_routed_experts,
    numExpertsPerTok: c.num_experts_per_tok,
    nSharedExperts: c.n_shared_experts ?? arch.defaults.nSharedExperts,
    moeIntermediateSize: c.moe_intermediate_size,
    intermediateSize: c.intermediate_size,
    mlpLayerTypes: Object.freeze(mlpLayerTypes),
    routedScalingFactor: c.routed_scaling_factor ?? arch.defaults.routedScalingFactor,
    nGroup,
    topkGroup,
    normTopkProb: c.norm_topk_prob ?? true,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    numNextnPredictLayers: c.num_nextn_predict_layers ?? 0,
    eosTokenIds: Object.freeze(eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos]),
    padTokenId: c.pad_token_id ?? null,
    bosTokenId: c.bos_token_id ?? null,
    fp8BlockSize,
    storedDtype: STORED_DTYPES[c.dtype ?? c.torch_dtype ?? 'bfloat16'] ?? 'bf16',
  });
}

/** The indexer type of any cache layer: the main stack's table, then the MTP layers'. */
export function layerIndexerType(cfg: ModelConfig, layer: number): IndexerType {
  return layer < cfg.numLayers ? cfg.indexerTypes[layer]! : cfg.mtpIndexerType;
}

export function loadConfig(dir: string): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch (e) {
    const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `bad JSON (${(e as Error).message})`;
    throw new CheckpointError('config.json', msg);
  }
  return parseConfig(json);
}
