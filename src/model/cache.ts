// Per-sequence contiguous cache for absorbed MLA + DSA: per layer, the normalised latent c and the rotated
// k_pe of every position ([L, C+R] rows, c first — exactly the "key" of latent-space attention and, its
// first C columns, the "value"), and for full-indexer layers the indexer keys ([L, Di], post-LayerNorm,
// post-RoPE). Shared-indexer layers keep no indexer keys. The engine's paged cache (paged-cache.ts)
// stores the same rows in shared blocks.
//
// Invariant: every layer holds the same number of rows, `length`; rows are appended in position order
// during a forward call and committed together at its end; `truncate` rolls everything back (rejected drafts).

import type { ModelConfig } from './config.js';
import type { KeyStore, KvCache } from './context.js';

class GrowableRows {
  data: Float32Array;
  constructor(readonly width: number, capacity: number) {
    this.data = new Float32Array(width * Math.max(capacity, 1));
  }
  ensure(rows: number): void {
    if (rows * this.width <= this.data.length) return;
    let cap = this.data.length / this.width;
    while (cap < rows) cap *= 2;
    const next = new Float32Array(cap * this.width);
    next.set(this.data);
    this.data = next;
  }
  write(at: number, rows: Float32Array, rowOffset: number, T: number): void {
    this.ensure(at + T);
    this.data.set(rows.subarray(rowOffset * this.width, (rowOffset + T) * this.width), at * this.width);
  }
}

export class SequenceCache implements KvCache {
  /** Committed positions (same for every layer). */
  length = 0;
  private readonly latentRowsByLayer: GrowableRows[];
  private readonly indexKeyRows: (GrowableRows | null)[];

  constructor(readonly cfg: ModelConfig, opts: { layers?: number; fullIndexer?: readonly boolean[]; capacity?: number } = {}) {
    const n = opts.layers ?? cfg.numLayers;
    const cap = opts.capacity ?? 64;
    const full = opts.fullIndexer ?? cfg.indexerTypes.map((t) => t === 'full');
    this.latentRowsByLayer = Array.from({ length: n }, () => new GrowableRows(cfg.kvLoraRank + cfg.qkRopeHeadDim, cap));
    this.indexKeyRows = Array.from({ length: n }, (_, i) => (full[i] ? new GrowableRows(cfg.indexHeadDim, cap) : null));
  }

  get layers(): number {
    return this.latentRowsByLayer.length;
  }

  writeLatent(layer: number, rows: Float32Array, rowOffset: number, T: number): void {
    this.latentRowsByLayer[layer]!.write(this.length, rows, rowOffset, T);
  }

  writeIndexKeys(layer: number, rows: Float32Array, rowOffset: number, T: number): void {
    const g = this.indexKeyRows[layer];
    if (!g) throw new Error(`layer ${layer} has no indexer key cache (shared indexer)`);
    g.write(this.length, rows, rowOffset, T);
  }

  latent(layer: number): KeyStore {
    return { data: this.latentRowsByLayer[layer]!.data };
  }

  indexKeys(layer: number): KeyStore {
    const g = this.indexKeyRows[layer];
    if (!g) throw new Error(`layer ${layer} has no indexer key cache (shared indexer)`);
    return { data: g.data };
  }

  latentRows(layer: number, L: number): Float32Array {
    const g = this.latentRowsByLayer[layer]!;
    return g.data.subarray(0, L * g.width);
  }

  /** Called once at the end of a forward call over T new positions. */
  commit(T: number): void {
    this.length += T;
  }

  /** Drops positions ≥ n (speculative rollback, prefix reuse). */
  truncate(n: number): void {
    if (n < 0 || n > this.length) throw new RangeError(`truncate(${n}) outside [0, ${this.length}]`);
    this.length = n;
  }

  /** Bytes held for the committed positions. */
  bytesUsed(): number {
    let w = 0;
    for (const g of this.latentRowsByLayer) w += g.width;
    for (const g of this.indexKeyRows) w += g ? g.width : 0;
    return w * 4 * this.length;
  }
}
