// What every block of one forward call sees: the ops, the config, the cache and the step's positions.

import type { Ops } from '../kernels/interface.js';
import type { SequenceCache } from './cache.js';
import type { ModelConfig } from './config.js';
import type { Workspace } from './workspace.js';

/** Debug hook: receives intermediates by name (free when absent). */
export type Trace = (name: string, layer: number, value: Float32Array | Int32Array | { ids: Int32Array; weights: Float32Array }) => void;

/** Which MLA form computes attention. */
export type AttentionForm = 'auto' | 'expanded' | 'absorbed';

export interface ForwardOptions {
  /** auto: expanded for multi-token calls (prefill), absorbed latent form for single-token decode. */
  readonly attention?: AttentionForm;
  /** Which rows get logits: every new position, only the last, or none (e.g. prefill of a prefix). */
  readonly logits?: 'all' | 'last' | 'none';
  /** Ignore the indexer's top-k and attend densely (benchmarks; identical when context ≤ index_topk). */
  readonly forceDense?: boolean;
  readonly trace?: Trace;
}

export interface StepContext {
  readonly ops: Ops;
  readonly cfg: ModelConfig;
  readonly cache: SequenceCache;
  /** New tokens in this call. */
  readonly T: number;
  /** Cache length before this call (position of the first new token). */
  readonly start: number;
  /** [T] absolute positions. */
  readonly positions: Int32Array;
  /** [T] causal key limits: position + 1. */
  readonly keyLimit: Int32Array;
  readonly form: 'expanded' | 'absorbed';
  readonly forceDense: boolean;
  readonly trace?: Trace;
  /** Scratch buffers reused across layers and calls. */
  readonly ws: Workspace;
}

/** A DSA selection for this call's rows: [T, k] absolute key positions (−1 = none), or null = dense causal. */
export type Selection = { readonly indices: Int32Array; readonly k: number } | null;
