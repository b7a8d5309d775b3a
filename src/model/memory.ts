// What a model takes in memory, from its config alone (before a byte is loaded or even downloaded): the
// weights in their stored format or re-quantised at load, and the cache per token. Sizes come from the one
// tensor table (tensor-names.ts), so every architecture and layer rule is counted the way the loader reads it.

import type { ModelConfig } from './config.js';
import { PagedKvPool } from './paged-cache.js';
import { DEFAULT_KV_CACHE_DTYPE, type KvCacheDtype } from './cache-rows.js';
import { checkpointTensors, parseLayerName, type TensorSpec } from './tensor-names.js';

/** How a weight matrix is held: a stored format (f32 / bf16 / f16 / fp8 blocks) or a load-time quantisation. */
export type HeldFormat = 'f32' | 'bf16' | 'f16' | 'fp8' | 'int8' | 'int4';
export type LoadQuantization = 'int8' | 'int4';

/** Bytes of a [rows, cols] matrix in each format, scales included. */
const MATRIX_BYTES: Readonly<Record<HeldFormat, (rows: number, cols: number) => number>> = {
  f32: (r, c) => 4 * r * c,
  bf16: (r, c) => 2 * r * c,
  f16: (r, c) => 2 * r * c,
  fp8: (r, c) => r * c + 4 * Math.ceil(r / 128) * Math.ceil(c / 128), // e4m3 + f32 scale per 128×128 block
  int8: (r, c) => r * c + 4 * r * Math.ceil(c / 32), // + f32 scale per row per 32 columns
  int4: (r, c) => r * (32 * Math.ceil(c / 64) + 2 * Math.ceil(c / 32)), // packed 64-column blocks + f16 scale per 32
};

/** Roles that `--quantize` re-quantises (every projection, expert and the heads: model.ts mapLinears). */
const QUANTISED_ROLES: ReadonlySet<TensorSpec['role']> = new Set(['linear', 'head']);

export interface WeightBytes {
  /** Everything loaded for the main model (embedding, layers, norm, lm_head). */
  readonly main: number;
  /** The MTP layers (read only while drafting). */
  readonly mtp: number;
}

/** The format a tensor is held in once loaded. */
function heldFormat(cfg: ModelConfig, spec: TensorSpec, quantize: LoadQuantization | undefined): HeldFormat {
  if (spec.role === 'router_bias') return 'f32'; // e_score_correction_bias is F32 in every release
  // int4 keeps the vocabulary heads at int8 (model.ts GlmModel.load)
  if (quantize === 'int4' && spec.role === 'head') return 'int8';
  if (quantize && QUANTISED_ROLES.has(spec.role)) return quantize;
  if (cfg.fp8BlockSize && spec.role === 'linear') return 'fp8';
  return cfg.storedDtype;
}

/** Bytes the loaded weights hold (stored format, or `quantize` applied to the projections). */
export function weightBytes(cfg: ModelConfig, quantize?: LoadQuantization): WeightBytes {
  let main = 0,
    mtp = 0;
  for (const spec of checkpointTensors(cfg)) {
    const [rows, cols] = spec.shape.length === 2 ? spec.shape : [1, spec.shape[0]];
    const bytes = MATRIX_BYTES[heldFormat(cfg, spec, quantize)](rows, cols);
    const layer = parseLayerName(spec.name)?.layer ?? -1;
    if (layer >= cfg.numLayers) mtp += bytes;
    else main += bytes;
  }
  return { main, mtp };
}

/** Cache bytes per position (latent rows, indexer keys of full layers, the MTP layer's when drafting) in `dtype`. */
export function cacheBytesPerToken(cfg: ModelConfig, mtpLayers: number, dtype: KvCacheDtype = DEFAULT_KV_CACHE_DTYPE): number {
  return PagedKvPool.bytesPerBlock(cfg, 1, mtpLayers, dtype);
}

/**
 * Weight bytes one decoded token reads (main model): every projection (the indexer's included: past index_topk
 * it scores every query), the shared expert, the router, the num_experts_per_tok routed experts it is sent to,
 * one embedding row and lm_head. Decode on a CPU is bound by
 * these bytes, so speeds scale between models of the same format by their ratio.
 */
export function decodeWeightBytes(cfg: ModelConfig, quantize?: LoadQuantization): number {
  let total = 0;
  for (const spec of checkpointTensors(cfg)) {
    const layer = parseLayerName(spec.name);
    if ((layer?.layer ?? -1) >= cfg.numLayers) continue;
    const [rows, cols] = spec.shape.length === 2 ? spec.shape : [1, spec.shape[0]];
    const bytes = MATRIX_BYTES[heldFormat(cfg, spec, quantize)](rows, cols);
    if (spec.role === 'embed') total += bytes / rows;
    else if (/^mlp\.experts\./.test(layer?.rest ?? '')) total += (bytes * cfg.numExpertsPerTok) / cfg.nRoutedExperts;
    else total += bytes;
  }
  return total;
}
