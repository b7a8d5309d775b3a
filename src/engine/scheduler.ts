// Continuous batching over a fixed block budget (vLLM v1 style): every step, running requests first (in
// admission order) each get the tokens they still need — one for a decoder, a chunk for a prompt — within
// a per-step token budget; then waiting requests are admitted FIFO while budget, the running cap and
// free blocks allow, starting from their longest cached prefix. There is no prefill mode: a request just
// catches up from `numComputed` to `tokens.length`. When blocks run out, the most recently admitted
// request is preempted (its blocks released, recomputed later): the oldest always progresses, so no
// deadlock, and recomputation gives the same tokens.

import type { PagedSequence } from '../model/paged-cache.js';
import type { BlockManager } from './block-manager.js';

export interface SchedRequest {
  /** Every known token: prompt, then generated. */
  readonly tokens: number[];
  /** Tokens whose rows are in the cache. */
  numComputed: number;
  readonly seq: PagedSequence;
  /** Chained hashes of the full blocks already registered in the prefix cache. */
  hashes: string[];
  /** Prompt tokens that came from the prefix cache at first admission (undefined until admitted). */
  cachedTokens: number | undefined;
  /** Extra positions wanted beyond the known tokens this step (speculative drafts); set to what was granted. */
  lookahead: number;
  /** Starts the prefix-hash chain: requests whose blocks hold different content (e.g. MTP rows or not) never share. */
  readonly hashSalt: string;
  /** Positions whose every cached row (main and, with speculation, the MTP layer's) is final. */
  readonly completePositions: number;
  /** Called when the request's blocks are released (preemption, removal): drop state tied to them. */
  onRelease(): void;
  /** Called after the request adopted n cached positions. */
  onAdopt(n: number): void;
}

export interface PlanEntry<R> {
  readonly req: R;
  /** Tokens to compute this step: tokens[numComputed, numComputed + n). */
  readonly n: number;
  /** The chunk reaches the last known token: sample the next one from its logits. */
  readonly sample: boolean;
}

export interface StepPlan<R> {
  readonly entries: PlanEntry<R>[];
  readonly preempted: R[];
}

export interface SchedulerOptions {
  readonly maxRunning: number;
  readonly maxStepTokens: number;
  /** Adopt cached prefixes and register full blocks. */
  readonly prefixCache: boolean;
}

export class Scheduler<R extends SchedRequest> {
  readonly waiting: R[] = [];
  readonly running: R[] = [];
  preemptions = 0;

  constructor(private readonly bm: BlockManager, private readonly opts: SchedulerOptions) {}

  get idle(): boolean {
    return this.waiting.length === 0 && this.running.length === 0;
  }

  add(r: R): void {
    this.waiting.push(r);
  }

  /** Removes a request wherever it is and releases its blocks. */
  remove(r: R): void {
    let i = this.running.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
    i = this.waiting.indexOf(r);
    if (i >= 0) this.waiting.splice(i, 1);
    this.releaseAll(r);
  }

  schedule(): StepPlan<R> {
    let budget = this.opts.maxStepTokens;
    const entries: PlanEntry<R>[] = [];
    const preempted: R[] = [];
    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const r = this.running[i]!;
      const need = r.tokens.length - r.numComputed;
      if (need <= 0) continue;
      const n = Math.min(need, budget);
      // Draft positions ride along only with a whole decode token, within the budget.
      r.lookahead = n === need ? Math.max(0, Math.min(r.lookahead, budget - n)) : 0;
      let ok = true;
      while (!this.ensureBlocks(r, r.numComputed + n + r.lookahead)) {
        // Victims come from the end, so they were not scheduled yet this step.
        const victim = this.running[this.running.length - 1]!;
        this.preempt(victim);
        preempted.push(victim);
        if (victim === r) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
      entries.push({ req: r, n, sample: r.numComputed + n === r.tokens.length });
      budget -= n + r.lookahead;
    }
    while (budget > 0 && this.waiting.length > 0 && this.running.length < this.opts.maxRunning) {
      const r = this.waiting[0]!;
      if (r.numComputed === 0 && r.seq.numBlocks === 0) {
        if (this.opts.prefixCache) this.adoptPrefix(r);
        else r.cachedTokens ??= 0;
      }
      const n = Math.min(r.tokens.length - r.numComputed, budget);
      r.lookahead = 0;
      if (!this.ensureBlocks(r, r.numComputed + n)) {
        // Not now: give the adopted prefix back so waiting requests hold no blocks.
        if (this.running.length > 0 || entries.length > 0) {
          this.releaseAll(r);
          break;
        }
        throw new Error('scheduler: a request does not fit the whole cache (submit should have refused it)');
      }
      this.waiting.shift();
      this.running.push(r);
      entries.push({ req: r, n, sample: r.numComputed + n === r.tokens.length });
      budget -= n;
    }
    return { entries, preempted };
  }

  /** After a step: registers the request's newly filled blocks in the prefix cache. */
  registerFullBlocks(r: R): void {
    if (!this.opts.prefixCache) return;
    const B = this.bm.blockSize, full = Math.floor(r.completePositions / B);
    if (full <= r.hashes.length) return;
    const fresh = this.bm.blockHashes(r.tokens.slice(0, full * B), r.hashes.length, r.hashes[r.hashes.length - 1] ?? r.hashSalt);
    const table = r.seq.table;
    fresh.forEach((h, j) => this.bm.register(table[r.hashes.length + j]!, h));
    r.hashes.push(...fresh);
  }

  private adoptPrefix(r: R): void {
    const B = this.bm.blockSize;
    // The last token is always computed (its logits start generation), so its block is never shared.
    const usable = Math.floor((r.tokens.length - 1) / B);
    const hashes = this.bm.blockHashes(r.tokens.slice(0, usable * B), 0, r.hashSalt);
    const blocks = this.bm.adoptPrefix(hashes);
    r.seq.adopt(blocks, blocks.length * B);
    r.numComputed = blocks.length * B;
    r.hashes = hashes.slice(0, blocks.length);
    r.cachedTokens ??= r.numComputed;
    r.onAdopt(r.numComputed);
  }

  private ensureBlocks(r: R, positions: number): boolean {
    const need = Math.ceil(positions / this.bm.blockSize) - r.seq.numBlocks;
    if (need <= 0) return true;
    if (need > this.bm.available) return false;
    for (let i = 0; i < need; i++) r.seq.appendBlock(this.bm.allocate());
    return true;
  }

  private preempt(r: R): void {
    const i = this.running.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
    this.releaseAll(r);
    this.waiting.unshift(r);
    this.preemptions++;
  }

  private releaseAll(r: R): void {
    for (const b of r.seq.truncate(0)) this.bm.release(b);
    r.numComputed = 0;
    r.hashes = [];
    r.lookahead = 0;
    r.onRelease();
  }
}
