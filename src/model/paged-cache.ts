// Paged storage of the model's cache: fixed-size blocks of positions in one pool per layer, shared by
// every sequence, and per-sequence views that address it through a block table. A block holds, per
// layer, B latent rows [C+R] and, for full-indexer layers, B indexer keys [Di] — the same rows as the
// contiguous SequenceCache. Kernels read blocks in place (the table goes to attention, the indexer and the
// expanded form's readCache).
//
// Which blocks a sequence owns, and block sharing between sequences, is the engine's business
// (engine/block-manager.ts): the pool only stores rows, the view only maps positions to rows.

import { layerIndexerType, type ModelConfig } from './config.js';
import type { KeyStore, KvCache, LatentStore } from './context.js';
import { rowBytes, rowTypes, RowStore, type KvCacheDtype } from './cache-rows.js';

export interface PagedPoolOptions {
  readonly numBlocks: number;
  /** Positions per block. */
  readonly blockSize: number;
  /** MTP layers stored after the main ones (layer slots numLayers..; indexer keys when cfg.mtpIndexerType is full). */
  readonly mtpLayers?: number;
  /** Element types of the rows (cache-rows.ts; default f32). */
  readonly dtype?: KvCacheDtype;
}

export class PagedKvPool {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly dtype: KvCacheDtype;
  /** Per layer: [numBlocks·B, C+R]. */
  readonly latent: RowStore[];
  /** Per layer: [numBlocks·B, Di] for full-indexer layers, else null. */
  readonly indexKeys: (RowStore | null)[];
  readonly latentWidth: number;
  readonly keyWidth: number;

  constructor(
    readonly cfg: ModelConfig,
    opts: PagedPoolOptions,
  ) {
    if (!(opts.numBlocks >= 1) || !(opts.blockSize >= 1)) throw new RangeError('paged cache needs ≥ 1 block of ≥ 1 position');
    this.numBlocks = opts.numBlocks;
    this.blockSize = opts.blockSize;
    this.latentWidth = cfg.kvLoraRank + cfg.qkRopeHeadDim;
    this.keyWidth = cfg.indexHeadDim;
    const rows = opts.numBlocks * opts.blockSize;
    const mtp = opts.mtpLayers ?? 0;
    // Zero-filled lazily by the OS: pages are touched only as blocks are first written.
    this.dtype = opts.dtype ?? 'f32';
    const types = rowTypes(this.dtype);
    this.latent = Array.from({ length: cfg.numLayers + mtp }, () => new RowStore(types.latent, this.latentWidth, rows));
    this.indexKeys = Array.from({ length: cfg.numLayers + mtp }, (_, i) =>
      layerIndexerType(cfg, i) === 'full' ? new RowStore(types.keys, this.keyWidth, rows) : null,
    );
  }

  /** Bytes one block takes across all layers (and `mtpLayers` MTP layers). */
  static bytesPerBlock(cfg: ModelConfig, blockSize: number, mtpLayers = 0, dtype: KvCacheDtype = 'f32'): number {
    let full = 0;
    for (let i = 0; i < cfg.numLayers + mtpLayers; i++) if (layerIndexerType(cfg, i) === 'full') full++;
    const types = rowTypes(dtype);
    return (
      blockSize * ((cfg.numLayers + mtpLayers) * rowBytes(types.latent, cfg.kvLoraRank + cfg.qkRopeHeadDim) + full * rowBytes(types.keys, cfg.indexHeadDim))
    );
  }

  /** A fresh empty view (no blocks); the caller appends blocks before writing. */
  view(): PagedSequence {
    return new PagedSequence(this);
  }
}

/**
 * One sequence's positions in the pool: position p is row table[⌊p/B⌋]·B + p mod B of every layer.
 * A sibling view (the MTP layer's) shares the owner's blocks but keeps its own length.
 */
export class PagedSequence implements KvCache {
  length = 0;
  /** Block ids in position order; only the first `blocks` entries are meaningful. */
  private tableBuf = new Int32Array(8);
  private blocks = 0;

  constructor(
    readonly pool: PagedKvPool,
    private readonly owner: PagedSequence | null = null,
  ) {}

  /** A view over the same blocks with its own length (the MTP layer lags the main layers). */
  sibling(): PagedSequence {
    return new PagedSequence(this.pool, this);
  }

  /** Positions [length, n) of the blocks already hold this view's rows (a sibling on adopted prefix blocks). */
  extendTo(n: number): void {
    if (n < this.length || n > this.capacity) throw new RangeError(`extendTo(${n}) outside [${this.length}, ${this.capacity}]`);
    this.length = n;
  }

  /** Rolls the view back to n positions, keeping its blocks (rejected drafts; a sibling's blocks belong to the owner). */
  rewind(n: number): void {
    if (n < 0 || n > this.length) throw new RangeError(`rewind(${n}) outside [0, ${this.length}]`);
    this.length = n;
  }

  get numBlocks(): number {
    return this.owner ? this.owner.numBlocks : this.blocks;
  }

  /** Positions the current blocks can hold. */
  get capacity(): number {
    return this.numBlocks * this.pool.blockSize;
  }

  get table(): Int32Array {
    return this.owner ? this.owner.table : this.tableBuf.subarray(0, this.blocks);
  }

  appendBlock(id: number): void {
    if (this.owner) throw new Error('appendBlock on a sibling view (blocks belong to the owner)');
    if (!(id >= 0 && id < this.pool.numBlocks)) throw new RangeError(`block ${id} outside the pool (${this.pool.numBlocks} blocks)`);
    if (this.blocks === this.tableBuf.length) {
      const next = new Int32Array(this.tableBuf.length * 2);
      next.set(this.tableBuf);
      this.tableBuf = next;
    }
    this.tableBuf[this.blocks++] = id;
  }

  /** Drops positions ≥ n and the blocks no longer needed; returns the dropped block ids (for the owner to release). */
  truncate(n: number): number[] {
    if (n < 0 || n > this.length) throw new RangeError(`truncate(${n}) outside [0, ${this.length}]`);
    this.length = n;
    const keep = Math.ceil(n / this.pool.blockSize);
    const dropped = Array.from(this.tableBuf.subarray(keep, this.blocks));
    this.blocks = keep;
    return dropped;
  }

  /** Starts the sequence on already-filled blocks (a prefix-cache hit): positions [0, n) are in them. */
  adopt(blockIds: readonly number[], n: number): void {
    if (this.length !== 0 || this.blocks !== 0) throw new Error('adopt: the sequence is not empty');
    if (n > blockIds.length * this.pool.blockSize) throw new RangeError(`adopt: ${n} positions do not fit ${blockIds.length} blocks`);
    for (const id of blockIds) this.appendBlock(id);
    this.length = n;
  }

  writeLatent(layer: number, rows: Float32Array, rowOffset: number, T: number): void {
    this.scatter(this.pool.latent[layer]!, rows, rowOffset, T);
  }

  writeIndexKeys(layer: number, rows: Float32Array, rowOffset: number, T: number): void {
    const dst = this.pool.indexKeys[layer];
    if (!dst) throw new Error(`layer ${layer} has no indexer key cache (shared indexer)`);
    this.scatter(dst, rows, rowOffset, T);
  }

  latent(layer: number): LatentStore {
    return { data: this.pool.latent[layer]!.data as Float32Array | Uint16Array, pages: { table: this.table, blockSize: this.pool.blockSize } };
  }

  indexKeys(layer: number): KeyStore {
    const data = this.pool.indexKeys[layer];
    if (!data) throw new Error(`layer ${layer} has no indexer key cache (shared indexer)`);
    return { data: data.data, scales: data.scales, pages: { table: this.table, blockSize: this.pool.blockSize } };
  }

  commit(T: number): void {
    if (this.length + T > this.capacity) throw new RangeError(`commit: ${this.length + T} positions exceed the ${this.numBlocks} blocks held`);
    this.length += T;
  }

  private scatter(dst: RowStore, rows: Float32Array, rowOffset: number, T: number): void {
    const B = this.pool.blockSize,
      table = this.table;
    if (this.length + T > this.capacity)
      throw new RangeError(`write of ${T} rows at ${this.length}: only ${this.numBlocks} blocks (${this.capacity} positions) held`);
    for (let t = 0; t < T; ) {
      const p = this.length + t,
        b = table[Math.floor(p / B)]!,
        off = p % B,
        n = Math.min(B - off, T - t);
      dst.write(b * B + off, rows, rowOffset + t, n);
      t += n;
    }
  }
}
