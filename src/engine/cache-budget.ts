// How many cache blocks an engine gets: a byte budget (default 30% of free memory, at most 8 GB) divided by
// what one block takes across layers, capped at one full context per running request (more is never used).

import { freemem } from 'node:os';
import type { ModelConfig } from '../model/config.js';
import { PagedKvPool } from '../model/paged-cache.js';
import type { KvCacheDtype } from '../model/cache-rows.js';

export interface CacheBudget {
  /** Budget in GB; undefined = 30% of free memory, at most 8 GB. */
  readonly kvCacheGb: number | undefined;
  readonly blockSize: number;
  /** MTP layers stored in each block beside the main layers (0 or 1). */
  readonly mtpLayers: number;
  readonly maxRunning: number;
  /** Element types of the cache rows (bytes per block). */
  readonly dtype: KvCacheDtype;
}

/** Blocks of `blockSize` positions that fit the budget (at least one). */
export function cacheBlocks(cfg: ModelConfig, b: CacheBudget): number {
  const gb = b.kvCacheGb ?? Math.min(8, (0.3 * freemem()) / 1e9);
  const perBlock = PagedKvPool.bytesPerBlock(cfg, b.blockSize, b.mtpLayers, b.dtype);
  const cap = Math.ceil(cfg.maxPositionEmbeddings / b.blockSize) * b.maxRunning;
  return Math.max(1, Math.min(cap, Math.floor((gb * 1e9) / perBlock)));
}
