// Continuous batching over a fixed block budget (vLLM v1 style): every step, running requests first (in
// admission order) each get the tokens they still need — one for a decoder, a chunk for a prompt — within
// a per-step token budget; then waiting requests are admitted FIFO while budget, the running cap and
// free blocks allow, starting from their longest cached prefix. There is no prefill mode: a request just
// catches up from `numComputed` to `tokens.length`. When blocks run out, the most recently admitted
// request is preempted (its blocks released, recomputed later): the oldest always progresses, so no
// deadlock, and recomputation gives the same tokens.

import type { BlockManager } from './block-manager.js';
import type { Request } from './request.js';

/** One request's share of a step: what the scheduler grants, read by the engine, never written back. */
export interface PlanEntry {
  readonly req: Request;
  /** Tokens to compute this step: tokens[numComputed, numComputed + n). */
  readonly n: number;
  /** The chunk reaches the last known token: sample the next one from its logits. */
  readonly sample: boolean;
  /** Draft positions granted beyond the known tokens (speculative decoding); their blocks are reserved. */
  readonly drafts: number;
}

export interface StepPlan {
  readonly entries: PlanEntry[];
  readonly preempted: Request[];
}

/** How many draft positions a running decoder would like this step (0: none). */
export type DraftWish = (r: Request) => number;

export interface SchedulerOptions {
  readonly maxRunning: number;
  readonly maxStepTokens: number;
  /** Adopt cached prefixes and register full blocks. */
  readonly prefixCache: boolean;
}

export class Scheduler {
  readonly waiting: Request[] = [];
  readonly running: Request[] = [];
  preemptions = 0;

  constructor(private readonly bm: BlockManager, private readonly opts: SchedulerOptions) {}

  get idle(): boolean {
    return this.waiting.length === 0 && this.running.length === 0;
  }

  add(r: Request): void {
    this.waiting.push(r);
  }

  /** Removes a request wherever it is and releases its blocks; false if it was in neither queue. */
  remove(r: Request): boolean {
    const i = this.running.indexOf(r), j = this.waiting.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
    if (j >= 0) this.waiting.splice(j, 1);
    if (i < 0 && j < 0) return false;
    this.releaseAll(r);
    return true;
  }

  /** Plans one step: running requests first (with the draft positions they wish, as budget allows), then admissions. */
  schedule(wish: DraftWish = () => 0): StepPlan {
    let budget = this.opts.maxStepTokens;
    const entries: PlanEntry[] = [];
    const preempted: Request[] = [];
    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const r = this.running[i]!;
      const need = r.tokens.length - r.numComputed;
      if (need <= 0) continue;
      const n = Math.min(need, budget);
      // Draft positions ride along only with a whole decode token, within the budget.
      const drafts = n === need ? Math.max(0, Math.min(wish(r), budget - n)) : 0;
      let ok = true;
      while (!this.ensureBlocks(r, r.numComputed + n + drafts)) {
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
      entries.push({ req: r, n, sample: r.numComputed + n === r.tokens.length, drafts });
      budget -= n + drafts;
    }
    while (budget > 0 && this.waiting.length > 0 && this.running.length < this.opts.maxRunning) {
      const r = this.waiting[0]!;
      if (r.numComputed === 0 && r.seq.numBlocks === 0) {
        if (this.opts.prefixCache) this.adoptPrefix(r);
        else r.cachedTokens ??= 0;
      }
      const n = Math.min(r.tokens.length - r.numComputed, budget);
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
      entries.push({ req: r, n, sample: r.numComputed + n === r.tokens.length, drafts: 0 });
      budget -= n;
    }
    return { entries, preempted };
  }

  /** After a step: registers the request's newly filled blocks in the prefix cache. */
  registerFullBlocks(r: Request): void {
    if (!this.opts.prefixCache) return;
    const B = this.bm.blockSize, full = Math.floor(r.completePositions / B);
    if (full <= r.hashes.length) return;
    const fresh = this.bm.blockHashes(r.tokens.slice(0, full * B), r.hashes.length, r.hashes[r.hashes.length - 1] ?? r.hashSalt);
    const table = r.seq.table;
    fresh.forEach((h, j) => this.bm.register(table[r.hashes.length + j]!, h));
    for (const h of fresh) r.hashes.push(h);
  }

  private adoptPrefix(r: Request): void {
    const B = this.bm.blockSize;
    // The last token is always computed (its logits start generation), so its block is never shared.
    const usable = Math.floor((r.tokens.length - 1) / B);
    const hashes = this.bm.blockHashes(r.tokens.slice(0, usable * B), 0, r.hashSalt);
    const blocks = this.bm.adoptPrefix(hashes);
    r.seq.adopt(blocks, blocks.length * B);
    r.adopt(blocks.length * B);
    r.hashes = hashes.slice(0, blocks.length);
    r.cachedTokens ??= r.numComputed;
  }

  private ensureBlocks(r: Request, positions: number): boolean {
    const need = Math.ceil(positions / this.bm.blockSize) - r.seq.numBlocks;
    if (need <= 0) return true;
    if (need > this.bm.available) return false;
    for (let i = 0; i < need; i++) r.seq.appendBlock(this.bm.allocate());
    return true;
  }

  private preempt(r: Request): void {
    const i = this.running.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
    this.releaseAll(r);
    this.waiting.unshift(r);
    this.preemptions++;
  }

  private releaseAll(r: Request): void {
    for (const b of r.seq.truncate(0)) this.bm.release(b);
    r.release();
  }
}
