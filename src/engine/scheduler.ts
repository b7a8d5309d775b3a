// Continuous batching over a fixed block budget (vLLM v1 style). Every step, within a per-step token budget:
//   1. decoders first — each running request that needs one token gets it (plus the draft positions it
//      wishes, as budget allows), in admission order, so a long prompt's prefill never stalls a stream;
//   2. then prefill chunks, shortest remaining prompt first, over the running requests still prefilling and
//      the head of the waiting queue (admitted FIFO, from its longest cached prefix, while the running cap
//      and free blocks allow): a short request that arrives behind a long prompt starts at once instead of
//      waiting for the whole prefill. A chunk is capped by the caller's `prefillCap` (the engine paces
//      prefill against decode latency) and by what is left of the budget.
// There is no prefill mode: a request just catches up from `numComputed` to `tokens.length`. When blocks run
// out, the most recently admitted request not yet scheduled this step is preempted (blocks released,
// recomputed later; recomputation gives the same tokens); the oldest always progresses, so no deadlock.

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

/** What the caller asks of one step's plan. */
export interface StepWishes {
  /** Draft positions a running decoder would like (0: none). */
  readonly drafts?: (r: Request) => number;
  /**
   * The most prompt tokens a prefilling request may compute this step (default: no cap but the budget). Asked
   * once per chunk, in the order chunks are planned (shortest remaining first), so a caller may spend one
   * allowance across the step; 0 ends the step's prefill.
   */
  readonly prefillCap?: (r: Request) => number;
}

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

  constructor(
    private readonly bm: BlockManager,
    private readonly opts: SchedulerOptions,
  ) {}

  get idle(): boolean {
    return this.waiting.length === 0 && this.running.length === 0;
  }

  add(r: Request): void {
    this.waiting.push(r);
  }

  /** Removes a request wherever it is and releases its blocks; false if it was in neither queue. */
  remove(r: Request): boolean {
    const i = this.running.indexOf(r),
      j = this.waiting.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
    if (j >= 0) this.waiting.splice(j, 1);
    if (i < 0 && j < 0) return false;
    this.releaseAll(r);
    return true;
  }

  /** Plans one step: decoders first, then prefill chunks shortest-first, admitting waiting requests as room allows. */
  schedule(wishes: StepWishes = {}): StepPlan {
    const plan = new PlanBuilder(this.opts.maxStepTokens);
    const need = (r: Request): number => r.tokens.length - r.numComputed;
    for (const r of [...this.running]) {
      if (plan.budget <= 0) break;
      if (need(r) !== 1 || !this.running.includes(r)) continue;
      const drafts = Math.max(0, Math.min(wishes.drafts?.(r) ?? 0, plan.budget - 1));
      if (!this.reserve(r, 1 + drafts, plan)) continue;
      plan.add({ req: r, n: 1, sample: true, drafts });
    }
    // 0: the caller's prefill allowance for this step is spent.
    const cap = (r: Request): number => Math.max(0, Math.min(need(r), plan.budget, wishes.prefillCap?.(r) ?? Infinity));
    while (plan.budget > 0) {
      // The running prefill with the fewest tokens left, or the waiting head if it has fewer.
      let best: Request | undefined;
      for (const r of this.running) if (need(r) > 1 && !plan.has(r) && (!best || need(r) < need(best))) best = r;
      const head = this.waiting[0];
      if (head && this.running.length < this.opts.maxRunning && (!best || this.remainingIfAdmitted(head) < need(best))) {
        if (!this.admit(head, cap, plan)) break;
        continue;
      }
      if (!best) break;
      const n = cap(best);
      if (n <= 0) break;
      if (this.reserve(best, n, plan)) plan.add({ req: best, n, sample: n === need(best), drafts: 0 });
    }
    return { entries: plan.entries, preempted: plan.preempted };
  }

  /** Prompt tokens a waiting request still needs (its cached prefix not yet known: all of them). */
  private remainingIfAdmitted(r: Request): number {
    return r.tokens.length - r.numComputed;
  }

  /** Admits the waiting head with its first chunk; false when it does not fit now (it keeps no blocks). */
  private admit(r: Request, cap: (r: Request) => number, plan: PlanBuilder): boolean {
    if (r.numComputed === 0 && r.seq.numBlocks === 0) {
      if (this.opts.prefixCache) this.adoptPrefix(r);
      else r.cachedTokens ??= 0;
    }
    const n = cap(r);
    if (n <= 0 || !this.ensureBlocks(r, r.numComputed + n)) {
      // Not now: give the adopted prefix back so waiting requests hold no blocks.
      if (n <= 0 || this.running.length > 0 || plan.entries.length > 0) {
        this.releaseAll(r);
        return false;
      }
      throw new Error('scheduler: a request does not fit the whole cache (submit should have refused it)');
    }
    this.waiting.shift();
    this.running.push(r);
    plan.add({ req: r, n, sample: r.numComputed + n === r.tokens.length, drafts: 0 });
    return true;
  }

  /**
   * Blocks for `positions` more positions of a running request, preempting the most recently admitted request
   * not yet in this step's plan until they fit. False when `r` itself had to yield.
   */
  private reserve(r: Request, positions: number, plan: PlanBuilder): boolean {
    while (!this.ensureBlocks(r, r.numComputed + positions)) {
      let victim: Request | undefined;
      for (let i = this.running.length - 1; i >= 0 && !victim; i--) if (!plan.has(this.running[i]!)) victim = this.running[i];
      if (!victim) throw new Error('scheduler: no request left to preempt (the plan alone exceeds the cache)');
      this.preempt(victim);
      plan.preempted.push(victim);
      if (victim === r) return false;
    }
    return true;
  }

  /** After a step: registers the request's newly filled blocks in the prefix cache. */
  registerFullBlocks(r: Request): void {
    if (!this.opts.prefixCache) return;
    const B = this.bm.blockSize,
      full = Math.floor(r.completePositions / B);
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

/** The plan under construction: entries, the token budget left, and who is already in it. */
class PlanBuilder {
  readonly entries: PlanEntry[] = [];
  readonly preempted: Request[] = [];
  private readonly members = new Set<Request>();
  constructor(public budget: number) {}

  has(r: Request): boolean {
    return this.members.has(r);
  }

  add(e: PlanEntry): void {
    this.entries.push(e);
    this.members.add(e.req);
    this.budget -= e.n + e.drafts;
  }
}
