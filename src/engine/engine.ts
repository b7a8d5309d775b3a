// The serving engine: requests in, token events out. Each step is data in, data out —
//   scheduler plan (which requests, how many tokens each, how many draft positions) → MTP drafts → one
//   batched model step → acceptance / sampling (Request.appendToken) → MTP catch-up → retire finished —
// run on the caller's thread between event-loop turns, so a server in the same process keeps answering
// (a step is bounded by the per-step token budget). The engine receives a loaded model (cli/load-engine.ts
// loads checkpoints); speculation lives in speculation.ts, a request's state in request.ts.

import { randomBytes } from 'node:crypto';
import type { GlmModel } from '../model/model.js';
import { PagedKvPool, type PagedSequence } from '../model/paged-cache.js';
import { DEFAULT_KV_CACHE_DTYPE } from '../model/cache-rows.js';
import type { ChatTemplate } from '../text/chat-template.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { DEFAULT_SPECULATIVE, type EngineContext, type EngineOptions } from './options.js';
import { BlockManager } from './block-manager.js';
import { cacheBlocks } from './cache-budget.js';
export { DEFAULT_SPECULATIVE, type EngineContext, type EngineOptions } from './options.js';
import { Request, type Vocab } from './request.js';
import { chooseToken, processLogits, Rng } from './sampler.js';
import { resolveSampling, samplingDefaults } from './sampling-params.js';
import { PrefillPacer } from './prefill-pacer.js';
import { Scheduler, type PlanEntry, type StepPlan } from './scheduler.js';
import { type Drafts, Speculator, type SpeculationStats } from './speculation.js';
import { EngineCounters } from './stats.js';
import { StopStringMatcher } from './stop-strings.js';
import { ContextLengthError, RequestError, type EngineStats, type GenerateRequest, type RequestStream, type SamplingParams } from './types.js';

/** The longest a step waits for announced requests (Engine.announce), unless EngineOptions.arrivalWaitMs says. */
const ARRIVAL_WAIT_MS = 15;

export class Engine {
  readonly tokenizer: Tokenizer | null;
  readonly template: ChatTemplate | null;
  /** max_position_embeddings: prompt + output must fit. */
  readonly maxContext: number;
  readonly blocks: BlockManager;
  readonly defaults: SamplingParams;
  readonly modelDir: string;
  private readonly pool: PagedKvPool;
  private readonly sched: Scheduler;
  private readonly speculator: Speculator;
  private readonly pacer: PrefillPacer;
  private readonly vocab: Vocab;
  private readonly counters = new EngineCounters();
  private loopRunning = false;
  /** Announced requests not yet submitted, submits so far (and as last seen), and since when the loop waits. */
  private arrivals = 0;
  private submits = 0;
  private seenSubmits = 0;
  private waitingSince: number | undefined;
  private readonly arrivalWaitMs: number;
  private closed = false;
  private nextId = 0;

  constructor(
    readonly model: GlmModel,
    opts: EngineOptions & EngineContext = {},
  ) {
    const cfg = model.cfg;
    this.tokenizer = opts.tokenizer ?? null;
    this.template = opts.template ?? null;
    this.maxContext = cfg.maxPositionEmbeddings;
    this.modelDir = opts.modelDir ?? '';
    this.arrivalWaitMs = opts.arrivalWaitMs ?? ARRIVAL_WAIT_MS;
    this.defaults = samplingDefaults(opts.generationConfig ?? {});
    const hasMtp = model.weights.mtp.length > 0;
    const k = hasMtp ? Math.max(0, Math.floor(opts.speculative ?? DEFAULT_SPECULATIVE)) : 0;
    const mtpLayers = k > 0 ? 1 : 0;
    const blockSize = opts.blockSize ?? 32;
    const dtype = opts.kvCacheDtype ?? DEFAULT_KV_CACHE_DTYPE;
    const numBlocks = cacheBlocks(cfg, { kvCacheGb: opts.kvCacheGb, blockSize, mtpLayers, maxRunning: opts.maxRunning ?? 32, dtype });
    this.pool = new PagedKvPool(cfg, { numBlocks, blockSize, mtpLayers, dtype });
    this.blocks = new BlockManager(numBlocks, blockSize, opts.salt ?? '');
    this.sched = new Scheduler(this.blocks, {
      maxRunning: opts.maxRunning ?? 32,
      maxStepTokens: opts.maxStepTokens ?? 512,
      prefixCache: opts.prefixCache ?? true,
    });
    const size = this.tokenizer ? Math.min(cfg.vocabSize, this.tokenizer.vocabSize) : cfg.vocabSize;
    const tok = this.tokenizer;
    this.vocab = { size, piece: (id) => pieceOf(tok, id) };
    this.speculator = new Speculator(model, {
      k,
      maxBatch: opts.speculativeMaxBatch ?? 16,
      gate: opts.speculationGate ?? true,
      forceAcceptance: opts.forceAcceptance,
      vocabSize: size,
    });
    this.pacer = new PrefillPacer(cfg, { itlRatio: opts.prefillItlRatio ?? 2, minChunk: opts.minPrefillChunk ?? 4, shortPrompt: opts.maxStepTokens ?? 512 });
  }

  /** Draft tokens per verify step (0: speculation off). */
  get k(): number {
    return this.speculator.k;
  }

  /** Positions the whole cache holds. */
  get cacheTokens(): number {
    return this.blocks.numBlocks * this.blocks.blockSize;
  }

  /** The longest prompt (plus resumed output) a request may have: it must fit the context and, alone, the whole cache. */
  get maxPromptTokens(): number {
    return Math.min(this.maxContext, this.cacheTokens) - 1;
  }

  /** Throws ContextLengthError when n prompt tokens leave no room for one generated token. */
  checkPromptLength(n: number): void {
    if (n <= this.maxPromptTokens) return;
    const byContext = n >= this.maxContext;
    throw new ContextLengthError(n, byContext ? this.maxContext : this.cacheTokens, byContext ? 'context' : 'cache');
  }

  submit(request: GenerateRequest): RequestStream {
    if (this.closed) throw new RequestError('the engine is shutting down', 'engine_closed');
    const id = request.id ?? `req-${++this.nextId}`;
    const prompt = request.prompt,
      resumed = request.generated ?? [];
    if (prompt.length === 0) throw new RequestError('the prompt is empty', 'invalid_request');
    this.checkTokenIds(prompt);
    this.checkTokenIds(resumed);
    const params = resolveSampling(this.defaults, request.sampling ?? {});
    const startLen = prompt.length + resumed.length;
    this.checkPromptLength(startLen);
    this.submits++;
    const seq = this.pool.view();
    const r = new Request({
      id,
      prompt,
      resumed,
      params,
      seq,
      mtp: this.k > 0 && request.speculative !== false ? seq.sibling() : null,
      rng: new Rng(params.seed ?? randomBytes(4).readUInt32LE(0)),
      stopIds: new Set([...params.stopTokenIds, ...(params.ignoreEos ? [] : this.model.cfg.eosTokenIds)]),
      stopper: new StopStringMatcher(params.stop),
      decoder: this.tokenizer?.createDecoder() ?? null,
      maxTotal: Math.min(this.maxPromptTokens + 1, prompt.length + params.maxTokens),
      vocab: this.vocab,
    });
    this.counters.promptTokens += startLen;
    if (r.maxTotal <= startLen) r.finish('length');
    else {
      this.sched.add(r);
      this.kick();
    }
    return r.stream(() => this.retire(r, 'abort'));
  }

  stats(): EngineStats {
    return {
      running: this.sched.running.length,
      waiting: this.sched.waiting.length,
      blockSize: this.blocks.blockSize,
      blocksTotal: this.blocks.numBlocks,
      blocksUsed: this.blocks.used,
      blocksFree: this.blocks.available - this.blocks.cached,
      blocksCached: this.blocks.cached,
      preemptions: this.sched.preemptions,
      ...this.counters.snapshot(),
      ...draftCounts(this.speculator.snapshot()),
    };
  }

  /** Time inside model calls vs the whole step (engine overhead = 1 − model / step), since start. */
  timing(): { modelMs: number; stepMs: number } {
    return { modelMs: this.counters.modelMs, stepMs: this.counters.stepMs };
  }

  /** Draft acceptance so far (speculative decoding). */
  speculation(): SpeculationStats {
    return this.speculator.snapshot();
  }

  /** Aborts everything in flight; later submits fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of [...this.sched.running, ...this.sched.waiting]) this.retire(r, 'abort');
  }

  /** Runs steps until idle (tests and benchmarks that drive the engine synchronously). */
  runUntilIdle(): void {
    while (!this.sched.idle) this.step();
  }

  /**
   * One engine step: plan → drafts (MTP chain) → one batched model step → acceptance / sampling → MTP
   * catch-up over the new rows (which also yields each speculating request's next first draft) → retire.
   */
  step(): void {
    const t0 = performance.now();
    const running = this.sched.running.length;
    const decoding = this.sched.running.filter((r) => r.tokens.length - r.numComputed === 1).length;
    const caps = this.pacer.stepCaps(decoding);
    const plan = this.sched.schedule({
      drafts: (r) => this.speculator.wish(r, running),
      prefillCap: (r) => caps(r.tokens.length, r.numComputed, r.tokens.length - r.numComputed),
    });
    if (plan.entries.length === 0) return;
    const paced = this.prefillUnits(plan);
    const model = this.counters.modelTimer();
    const drafts = model.time(
      () => this.speculator.draft(plan.entries.filter((e) => e.drafts > 0)),
      (err) => this.failAll(plan.entries, err),
    );
    if (!drafts) return;
    const inputs = plan.entries.map((e) => stepInput(e, drafts.get(e.req)));
    // A failed step leaves the caches of its requests half-written: they end with an error.
    const out = model.time(
      () => this.model.step(inputs),
      (err) => this.failAll(plan.entries, err),
    );
    if (!out) return;
    const V = this.model.cfg.vocabSize,
      D = this.model.cfg.hiddenSize;
    let generated = 0,
      row0 = 0;
    const catchUp: { r: Request; hidden: Float32Array }[] = [];
    plan.entries.forEach((e, i) => {
      const r = e.req,
        n0 = r.numComputed,
        rows = inputs[i]!.tokens.length,
        first = out.logitRows[i]!.first;
      const hidden = out.hidden.subarray(row0 * D, (row0 + rows) * D);
      row0 += rows;
      const before = r.tokens.length,
        d = drafts.get(r);
      let valid = e.n; // rows whose cache entries stay
      if (d) {
        valid = 1 + this.speculator.accept(r, d, out.logits.subarray(first * V, (first + d.tokens.length + 1) * V));
        if (!r.done) {
          // Rejected drafts: their main rows and the chained MTP rows are rolled back (blocks stay reserved).
          r.seq.rewind(n0 + valid);
          r.mtp!.seq.rewind(n0);
        }
      } else if (e.sample) {
        const row = out.logits.subarray(first * V, (first + 1) * V);
        r.appendToken(chooseToken(processLogits(row, this.vocab.size, r.params, r.penalty), r.params, r.rng), row);
      }
      generated += r.tokens.length - before;
      r.numComputed = n0 + valid;
      if (r.done) this.retire(r);
      else if (r.mtp && this.speculator.keepUp(r, valid, running)) catchUp.push({ r, hidden: hidden.subarray(0, valid * D) });
      else {
        if (r.mtp) this.speculator.defer(r, hidden.subarray(0, valid * D));
        this.sched.registerFullBlocks(r);
      }
    });
    model.time(
      () => this.speculator.catchUp(catchUp),
      (err) => catchUp.forEach((c) => this.retire(c.r, 'error', err)),
    );
    for (const c of catchUp) if (!c.r.done) this.sched.registerFullBlocks(c.r);
    this.counters.endStep(t0, generated, model.ms);
    this.counters.prefillTokens += paced.tokens;
    const ms = performance.now() - t0;
    this.pacer.observe(ms, paced.units, paced.decoders);
    if (paced.tokens === 0) this.speculator.observeStep(running, ms, generated);
  }

  /** The plan's prefill work (tokens and the pacer's cost units), and how many of its entries decode. */
  private prefillUnits(plan: StepPlan): { tokens: number; units: number; decoders: number } {
    let tokens = 0,
      units = 0,
      decoders = 0;
    for (const e of plan.entries) {
      if (e.n === 1 && e.sample) decoders++;
      else {
        tokens += e.n;
        units += this.pacer.units(e.req.numComputed, e.n);
      }
    }
    return { tokens, units, decoders };
  }

  private checkTokenIds(ids: readonly number[]): void {
    const V = this.model.cfg.vocabSize;
    for (const t of ids) {
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new RequestError(`token id ${t} is outside the vocabulary (size ${V})`, 'invalid_request');
    }
  }

  private failAll(entries: readonly PlanEntry[], err: string): void {
    for (const e of entries) this.retire(e.req, 'error', err);
  }

  /** Ends a request (if a reason is given and it has not ended) and removes it from the scheduler, freeing its blocks. */
  private retire(r: Request, reason?: 'abort' | 'error', error?: string): void {
    if (reason) r.finish(reason, error);
    if (r.done && this.sched.remove(r)) this.counters.cachedPromptTokens += r.cachedTokens ?? 0;
  }

  private kick(): void {
    if (this.loopRunning) return;
    this.loopRunning = true;
    setImmediate(() => this.loop());
  }

  /**
   * A caller announces a request on its way (say, an HTTP body still being read, parsed and rendered): until it
   * submits, the next step waits for it — arrivalWaitMs at most — so requests that arrive together start
   * together (one prefill step for a burst, not one per event-loop turn, each stalling every decoder).
   * Returns the function that ends the announcement: call it once the request is submitted or has failed.
   * The loop also lets event-loop turns pass while each brings a new submit: Node's HTTP server hands over one
   * new connection's request per turn (measured: 16 simultaneous requests entered over 16 steps of ~0.6 s).
   */
  announce(): () => void {
    this.arrivals++;
    let open = true;
    return () => {
      if (open) this.arrivals--;
      open = false;
    };
  }

  private loop(): void {
    if (this.sched.idle) {
      this.loopRunning = false;
      return;
    }
    if (this.arrivals > 0 || this.submits !== this.seenSubmits) {
      this.seenSubmits = this.submits;
      const now = performance.now();
      this.waitingSince ??= now;
      if (now - this.waitingSince < this.arrivalWaitMs) {
        // setImmediate: the next turn's I/O phase runs first, without blocking when nothing is ready.
        setImmediate(() => this.loop());
        return;
      }
    }
    this.waitingSince = undefined;
    this.step();
    setImmediate(() => this.loop());
  }
}

/** A plan entry as model input: its chunk of known tokens, then its drafts; logits for what will be sampled or verified. */
function stepInput(e: PlanEntry, d: Drafts | undefined): { tokens: number[]; cache: PagedSequence; logits: 'all' | 'last' | 'none' } {
  const r = e.req,
    tokens = r.tokens.slice(r.numComputed, r.numComputed + e.n);
  if (d) for (const t of d.tokens) tokens.push(t);
  return { tokens, cache: r.seq, logits: d ? 'all' : e.sample ? 'last' : 'none' };
}

function draftCounts(s: SpeculationStats): Pick<EngineStats, 'draftTokens' | 'acceptedDraftTokens' | 'speculativeSteps'> {
  return { draftTokens: s.drafted, acceptedDraftTokens: s.accepted, speculativeSteps: s.steps };
}

function pieceOf(tokenizer: Tokenizer | null, id: number): string {
  try {
    return tokenizer ? tokenizer.decode([id]) : '';
  } catch {
    return '';
  }
}
