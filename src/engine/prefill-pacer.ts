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
  /** Prompts up to this long are not paced (the step token budget). */
  readonly shortPrompt: number;
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

  /**
   * This step's prompt chunks: a function from a prefilling request (prompt length, position p0, tokens left)
   * to its chunk. Prompts of at most `shortPrompt` tokens are not paced: one step's budget covers them, so
   * each costs the decoders at most one longer step, and a burst of them is best prefilled at once (measured:
   * pacing a burst of 16 short prompts cost throughput, p90 inter-token latency and time to first token alike).
   * Longer prompts share one budget for the step — prompts prefilling side by side cost the decoders no more
   * than one would — of (itlRatio − 1) decode steps of work; the step's first paced chunk gets at least
   * minChunk (progress); 0 ends the step's paced prefill. The scheduler asks in shortest-remaining order.
   */
  stepCaps(decoding: number): (promptLen: number, p0: number, need: number) => number {
    if (decoding === 0 || this.opts.itlRatio <= 1) return () => Infinity;
    let left = this.decodeMs === undefined || this.msPerUnit === undefined ? 0 : ((this.opts.itlRatio - 1) * this.decodeMs) / this.msPerUnit;
    let first = true;
    return (promptLen, p0, need) => {
      if (promptLen <= this.opts.shortPrompt) return Infinity;
      let n = Math.floor(left / (1 + p0 / this.kCtx));
      if (first) n = Math.max(n, this.opts.minChunk);
      first = false;
      if (n <= 0) return 0;
      left -= this.units(p0, Math.min(n, need));
      return n;
    };
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
