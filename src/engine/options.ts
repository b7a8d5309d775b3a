// What an engine is built with: its serving options (cache budget, batching, speculation, pacing) and what comes
// with a model besides its weights (tokenizer, template, generation defaults, the weights' fingerprint).

import type { KvCacheDtype } from '../model/cache-rows.js';
import type { ChatTemplate } from '../text/chat-template.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { Gate } from './speculation-gate.js';

export interface EngineOptions {
  /** KV cache budget in GB (default: 30% of free memory, at most 8 GB). */
  readonly kvCacheGb?: number;
  /**
   * Element types of the latent and indexer-key caches (model/cache-rows.ts): f32, bf16 (default: half the
   * bytes, so the budget holds twice the tokens) or fp8 (bf16 latent + e4m3 indexer keys).
   */
  readonly kvCacheDtype?: KvCacheDtype;
  /** Positions per cache block (default 32). */
  readonly blockSize?: number;
  /** Most requests running at once (default 32). */
  readonly maxRunning?: number;
  /** Most tokens computed in one step, prefill chunks included (default 512). */
  readonly maxStepTokens?: number;
  /** Reuse cached prompt prefixes (default true). */
  readonly prefixCache?: boolean;
  /**
   * Draft tokens per step from the checkpoint's MTP layer (0 = off). Default: DEFAULT_SPECULATIVE when the
   * checkpoint has an MTP layer, else 0.
   */
  readonly speculative?: number;
  /**
   * Draft only while at most this many requests are running (default 16). Within it the speculation gate
   * (speculation-gate.ts) measures ms per token with drafting and without, per batch size, and keeps the
   * faster: the bundled model's steps are mostly fixed cost and run plain; bandwidth-bound models draft.
   */
  readonly speculativeMaxBatch?: number;
  /** Measure whether drafting pays and turn it off where it does not (default true; false: always draft). */
  readonly speculationGate?: boolean | Gate;
  /**
   * While streams decode, a prompt's prefill chunk per step is sized so the step takes at most this multiple
   * of a decode-only step (prefill-pacer.ts; default 2; ≤ 1 turns pacing off: chunks take the whole budget).
   */
  readonly prefillItlRatio?: number;
  /** A prefilling request gets at least this many tokens per step while paced (default 4). */
  readonly minPrefillChunk?: number;
  /** The longest a step waits for announced requests (Engine.announce; default 15 ms). */
  readonly arrivalWaitMs?: number;
  /**
   * Benchmark hook only (never for real output): accept each greedy draft with this probability instead of
   * checking it, to measure speed as a function of acceptance on random-weight models.
   */
  readonly forceAcceptance?: number;
}

/** What comes with a model besides its weights (all optional: a bare model serves token ids). */
export interface EngineContext {
  readonly tokenizer?: Tokenizer | null;
  readonly template?: ChatTemplate | null;
  /** generation_config.json: sampling defaults. */
  readonly generationConfig?: Record<string, unknown>;
  /** Names the weights' content in prefix-cache hashes (cli/load-engine.ts: weightsFingerprint). */
  readonly salt?: string;
  /** The folder the model came from (reported by the server). */
  readonly modelDir?: string;
}

/** Draft length used when the checkpoint has an MTP layer and nothing else is asked (measured: BENCHMARKS.md). */
export const DEFAULT_SPECULATIVE = 1;
