// What every block of one model step sees: the ops, the config, the step's rows (a batch of sequences,
// flattened) and, per sequence, its cache and where its rows sit in the batch.

import type { CacheArray, Ops, Pages } from '../kernels/interface.js';
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

/** Latent rows as the kernels read them: one f32 or bf16 array, optionally paged through a block table. */
export interface LatentStore {
  readonly data: Float32Array | Uint16Array;
  readonly pages?: Pages;
}

/** Indexer keys as the kernels read them: f32, bf16 or fp8 (with per-128-column scales), optionally paged. */
export interface KeyStore {
  readonly data: CacheArray;
  readonly scales?: Float32Array;
  readonly pages?: Pages;
}

/**
 * One sequence's cache as the model sees it (contiguous `SequenceCache`, or a paged view). Per layer:
 * latent rows [C+R] and, for full-indexer layers, indexer keys [Di]. A step writes rows [length, length+T)
 * of every layer, then commits them once at its end.
 */
export interface KvCache {
  /** Committed positions (every layer holds this many rows). */
  readonly length: number;
  /** Stores rows[rowOffset .. rowOffset+T) ([T, C+R]) at positions [length, length+T) of `layer`. */
  writeLatent(layer: number, rows: Float32Array, rowOffset: number, T: number): void;
  /** Same for indexer keys ([T, Di]); only full-indexer layers have them. */
  writeIndexKeys(layer: number, rows: Float32Array, rowOffset: number, T: number): void;
  latent(layer: number): LatentStore;
  indexKeys(layer: number): KeyStore;
  /** Called once at the end of a step over T new positions. */
  commit(T: number): void;
}

/** One sequence's slice of a step. */
export interface StepSequence {
  readonly cache: KvCache;
  /** Cache length before this step (position of the sequence's first row). */
  readonly start: number;
  /** New rows of this sequence. */
  readonly T: number;
  /** Index of its first row in the step's flattened rows. */
  readonly row0: number;
  /** mixed: rows that see ≤ index_topk keys expanded, the sparse rows after them absorbed (mla.ts). */
  readonly form: 'expanded' | 'absorbed' | 'mixed';
}

export interface StepContext {
  readonly ops: Ops;
  readonly cfg: ModelConfig;
  /** All rows of the step (every sequence's new tokens, concatenated). */
  readonly T: number;
  /** [T] absolute positions of the rows. */
  readonly positions: Int32Array;
  /** [T] causal key limits: position + 1 (within each row's own sequence). */
  readonly keyLimit: Int32Array;
  readonly seqs: readonly StepSequence[];
  readonly forceDense: boolean;
  readonly trace?: Trace;
  /** Scratch buffers reused across layers and calls. */
  readonly ws: Workspace;
}

/** A DSA selection for one sequence's rows: [T, k] absolute key positions (−1 = none), or null = dense causal. */
export type Selection = { readonly indices: Int32Array; readonly k: number } | null;
