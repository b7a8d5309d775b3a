// Cache blocks under a fixed budget: reference-counted allocation plus the prefix cache.
//
// A block is in exactly one of three states:
//   free      — refCount 0, no content worth keeping (on the free list);
//   in use    — refCount ≥ 1 (held by that many sequences);
//   cached    — refCount 0 but named by a prefix hash: its content is a valid prefix block that a later
//               request may adopt; evicted least-recently-released first when a free block is needed.
// Full blocks are named by a chained hash of every token up to their end (and a salt that changes with
// anything else that shapes their content, e.g. the weights); a new request adopts the longest chain of
// named blocks that matches its prompt.

import { createHash } from 'node:crypto';

export class BlockManager {
  private readonly refCount: Int32Array;
  private readonly free: number[] = [];
  /** Hash → block holding that prefix block. */
  private readonly byHash = new Map<string, number>();
  private readonly hashOf: (string | undefined)[];
  /** Cached (refCount 0, hashed) blocks in release order: the first is the least recently used. */
  private readonly evictable = new Map<number, true>();

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
    private readonly salt = '',
  ) {
    this.refCount = new Int32Array(numBlocks);
    this.hashOf = new Array(numBlocks).fill(undefined);
    for (let b = numBlocks - 1; b >= 0; b--) this.free.push(b);
  }

  /** Blocks held by at least one sequence. */
  get used(): number {
    return this.numBlocks - this.free.length - this.evictable.size;
  }
  /** Blocks holding a reusable prefix and held by nobody (evictable). */
  get cached(): number {
    return this.evictable.size;
  }
  /** Blocks an allocation can take now (free + evictable). */
  get available(): number {
    return this.free.length + this.evictable.size;
  }

  /** A block for new content (refCount 1), evicting the least recently used cached block if needed; -1 if none. */
  allocate(): number {
    let b = this.free.pop();
    if (b === undefined) {
      const lru = this.evictable.keys().next();
      if (lru.done) return -1;
      b = lru.value;
      this.evictable.delete(b);
      this.byHash.delete(this.hashOf[b]!);
      this.hashOf[b] = undefined;
    }
    this.refCount[b] = 1;
    return b;
  }

  /** Drops one reference; a block nobody holds becomes cached (if named) or free. */
  release(b: number): void {
    // `!(… > 0)` and not `<= 0`: a number outside the pool reads undefined and must throw too, not join the free list.
    if (!(this.refCount[b]! > 0)) throw new Error(`release of block ${b}, which nobody holds`);
    if (--this.refCount[b]! > 0) return;
    if (this.hashOf[b] !== undefined) this.evictable.set(b, true);
    else this.free.push(b);
  }

  /** Chained hashes of the full blocks of `tokens` (the last partial block has none). */
  blockHashes(tokens: readonly number[], from = 0, parent = ''): string[] {
    const B = this.blockSize,
      out: string[] = [];
    // The first block's parent is the manager's salt (the weights) plus the caller's (the kind of content).
    let prev = from === 0 ? `${this.salt}|${parent}` : parent;
    for (let i = from; (i + 1) * B <= tokens.length; i++) {
      const h = createHash('sha1')
        .update(prev)
        .update(Int32Array.from(tokens.slice(i * B, (i + 1) * B)))
        .digest('base64');
      out.push(h);
      prev = h;
    }
    return out;
  }

  /**
   * The longest run of cached blocks matching `hashes` from the first, each taken with one more reference
   * (the caller releases them like its own blocks).
   */
  adoptPrefix(hashes: readonly string[]): number[] {
    const out: number[] = [];
    for (const h of hashes) {
      const b = this.byHash.get(h);
      if (b === undefined) break;
      if (this.refCount[b] === 0) this.evictable.delete(b);
      this.refCount[b]!++;
      out.push(b);
    }
    return out;
  }

  /** Names a block that has just been filled; a block with the same content already named keeps its name. */
  register(b: number, hash: string): void {
    if (this.hashOf[b] !== undefined || this.byHash.has(hash)) return;
    this.byHash.set(hash, b);
    this.hashOf[b] = hash;
  }

  /** Frees every cached block (e.g. tests checking the counters). */
  clearCache(): void {
    for (const b of this.evictable.keys()) {
      this.byHash.delete(this.hashOf[b]!);
      this.hashOf[b] = undefined;
      this.free.push(b);
    }
    this.evictable.clear();
  }
}
