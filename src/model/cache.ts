// Per-sequence contiguous cache for absorbed MLA + DSA: per layer, the normalised latent c and the rotated
// k_pe of every position ([L, C+R] rows, c first — exactly the "key" of latent-space attention and, its
// first C columns, the "value"), and for full-indexer layers the indexer keys ([L, Di], post-LayerNorm,
// post-RoPE). Shared-indexer layers keep no indexer keys. The engine's paged cache (paged-cache.ts)
// stores the same rows in shared blocks.
//
// Rows are stored in the cache dtype (cache-rows.ts: f32, bf16, or bf16 latent + fp8 keys).
//
// Invariant: every layer holds the same number of rows, `length`; rows are appended in position order
// during a forward call and committed together at its end; `truncate` rolls everything back (rejected drafts).

import type { ModelConfig } from './config.js';
import type { KeyStore, KvCache, LatentStore } from './context.js';
import { rowBytes, rowTypes, RowStore, type KvCacheDtype } from './cache-rows.js';

export class SequenceCache implements KvCache {
  /** Committed positions (same for every layer). */
  length = 0;
  readonly dtype: KvCacheDtype;
  private readonly latentRowsByLayer: RowStore[];
  private readonly indexKeyRows: (RowStore | null)[];

  constructor(
    readonly cfg: ModelConfig,
    opts: { layers?: number; fullIndexer?: readonly boolean[]; capacity?: number; dtype?: KvCacheDtype } = {},
  ) {
    const n = opts.layers ?? cfg.numLayers;
    const cap = Math.max(opts.capacity ?? 64, 1);
    const full = opts.fullIndexer ?? cfg.indexerTypes.map((t) => t === 'full');
    this.dtype = opts.dtype ?? 'f32';
    const types = rowTypes(this.dtype);
    this.latentRowsByLayer = Array.from({ length: n }, () => new RowStore(types.latent, cfg.kvLoraRank + cfg.qkRopeHeadDim, cap));
    this.indexKeyRows = Array.from({ length: n }, (_, i) => (full[i] ? new RowStore(types.keys, cfg.indexHeadDim, cap) : null));
  }

  get layers(): number {
    return this.latentRowsByLayer.length;
  }

  writeLatent(layer: number, rows: Float32Array, rowOffset: number, T: number): void {
    const g = this.latentRowsByLayer[layer]!;
    g.ensure(this.length + T);
    g.write(this.length, rows, rowOffset, T);
  }

  writeIndexKeys(layer: number, rows: Float32Array, rowOffset: number, T: number): void {
    const g = this.indexKeyRows[layer];
    if (!g) throw new Error(`layer ${layer} has no indexer key cache (shared indexer)`);
    g.ensure(this.length + T);
    g.write(this.length, rows, rowOffset, T);
  }

  latent(layer: number): LatentStore {
    return { data: this.latentRowsByLayer[layer]!.data as Float32Array | Uint16Array };
  }

  indexKeys(layer: number): KeyStore {
    const g = this.indexKeyRows[layer];
    if (!g) throw new Error(`layer ${layer} has no indexer key cache (shared indexer)`);
    return { data: g.data, scales: g.scales };
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
    let b = 0;
    for (const g of this.latentRowsByLayer) b += rowBytes(g.type, g.width);
    for (const g of this.indexKeyRows) b += g ? rowBytes(g.type, g.width) : 0;
    return b * this.length;
  }
}
