// Paces prefill against decode latency: while streams are decoding, a prompt's chunk per step is sized so
// that the step takes at most `itlRatio` × a decode-only step (measured), so a long prompt arriving never
// multiplies the running streams' inter-token latency by more than that. Without decoders prefill runs at
// the full step budget.
//
// Cost model: a prompt token at position p costs 1 + p / kCtx units, where kCtx = (the FLOPs one token
// spends in projections and experts) / (the FLOPs the indexer and attention spend per cached key it reads):
// the indexer scores every earlier key, so late chunks of a long prompt cost more per token. The time per
// unit and the decode-only step time are running averages of measured steps.

import type { ModelConfig } from '../model/config.js';

export interface PacerOptions {
  /** Largest step time while decoding, as a multiple of a decode-only step (≤ 1: no pacing). */
  readonly itlRatio: number;
  /** A prefilling request always gets at least this many tokens per step (progress guarantee). */
  readonly minChunk: number;
}

const EMA = 0.3;

export class PrefillPacer {
  private decodeMs: number | undefined;
  private msPerUnit: number | undefined;
  private readonly kCtx: number;

  constructor(
    cfg: ModelConfig,
    private readonly opts: PacerOptions,
  ) {
    this.kCtx = contextScale(cfg);
  }

  /** Cost units of computing prompt positions [p0, p0 + n). */
  units(p0: number, n: number): number {
    return n + (n * (p0 + n / 2)) / this.kCtx;
  }

  /** The most prompt tokens from position p0 this step, given how many streams decode in it. */
  cap(p0: number, decoding: number): number {
    if (decoding === 0 || this.opts.itlRatio <= 1) return Infinity;
    if (this.decodeMs === undefined || this.msPerUnit === undefined) return this.opts.minChunk;
    const units = ((this.opts.itlRatio - 1) * this.decodeMs) / this.msPerUnit;
    return Math.max(this.opts.minChunk, Math.floor(units / (1 + p0 / this.kCtx)));
  }

  /** A finished step: its time, and the prefill units in it (0 for a decode-only step). */
  observe(stepMs: number, prefillUnits: number, decoding: number): void {
    if (prefillUnits === 0) {
      if (decoding > 0) this.decodeMs = ema(this.decodeMs, stepMs);
      return;
    }
    const prefillMs = Math.max(0, stepMs - (decoding > 0 ? (this.decodeMs ?? 0) : 0));
    this.msPerUnit = ema(this.msPerUnit, prefillMs / prefillUnits);
  }
}

const ema = (old: number | undefined, x: number): number => (old === undefined ? x : old + EMA * (x - old));

/**
 * FLOPs per token in the dense parts (projections, routed + shared experts, dense MLPs) over FLOPs per cached
 * key (indexer scoring on full-indexer layers, plus attention's latent dot products and value sums, which DSA
 * bounds at index_topk keys: counting them for every key overstates long contexts a little; the measured rate
 * absorbs the scale).
 */
export function contextScale(cfg: ModelConfig): number {
  const H = cfg.numHeads,
    D = cfg.hiddenSize,
    C = cfg.kvLoraRank,
    R = cfg.qkRopeHeadDim;
  const attn = D * cfg.qLoraRank + cfg.qLoraRank * H * cfg.qkHeadDim + D * (C + R) + C * H * (cfg.qkNopeHeadDim + cfg.vHeadDim) + H * cfg.vHeadDim * D;
  let perToken = 0,
    perKey = 0;
  for (let l = 0; l < cfg.numLayers; l++) {
    const sparse = cfg.mlpLayerTypes[l] === 'sparse';
    const mlp = sparse ? 3 * D * cfg.moeIntermediateSize * (cfg.numExpertsPerTok + cfg.nSharedExperts) : 3 * D * cfg.intermediateSize;
    perToken += 2 * (attn + mlp);
    if (cfg.indexerTypes[l] === 'full') perKey += 2 * cfg.indexNHeads * cfg.indexHeadDim;
    perKey += 2 * H * (2 * C + R);
  }
  return perToken / Math.max(1, perKey);
}
