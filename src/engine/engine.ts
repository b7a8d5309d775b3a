// The serving engine: requests in, token events out. Each step is data in, data out —
// scheduler plan (which requests, how many tokens each) → one batched model step → sampling → updates and
// events — run on the caller's thread between event-loop turns, so a server in the same process keeps
// answering (a step is bounded by the per-step token budget).

import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { GlmModel } from '../model/model.js';
import { PagedKvPool, PagedSequence } from '../model/paged-cache.js';
import { selectOps, type BackendName } from '../kernels/select.js';
import { Tokenizer } from '../text/tokenizer.js';
import { ChatTemplate } from '../text/chat-template.js';
import type { IncrementalDecoder } from '../text/incremental-decoder.js';
import { BlockManager } from './block-manager.js';
import { Scheduler, type SchedRequest } from './scheduler.js';
import { chooseToken, distribution, logprobsOf, processLogits, Rng, sampleFrom, type PenaltyState } from './sampler.js';
import { verifyDraft } from './speculative.js';
import { mtpStep, type MtpInput } from '../model/mtp.js';
import { StopStringMatcher } from './stop-strings.js';
import {
  RequestError, type DoneEvent, type EngineEvent, type EngineStats, type FinishReason, type GenerateRequest, type GenerationResult,
  type SamplingParams, type TokenLogprob,
} from './types.js';

export interface EngineOptions {
  /** KV cache budget in GB (default: 30% of free memory, at most 8 GB). */
  readonly kvCacheGb?: number;
  /** Positions per cache block (default 32). */
  readonly blockSize?: number;
  /** Most requests running at once (default 32). */
  readonly maxRunning?: number;
  /** Most tokens computed in one step, prefill chunks included (default 512). */
  readonly maxStepTokens?: number;
  /** Reuse cached prompt prefixes (default true). */
  readonly prefixCache?: boolean;
  readonly backend?: BackendName;
  readonly quantize?: 'int8';
  /**
   * Draft tokens per step from the checkpoint's MTP layer (0 = off). Default: DEFAULT_SPECULATIVE when the
   * checkpoint has an MTP layer, else 0.
   */
  readonly speculative?: number;
  /**
   * Draft only while at most this many requests are running (default 1). Measured on the default model:
   * drafts win at batch 1 (1.44x with k = 1) and lose at 4 streams (0.64x), where a batch already fills
   * the step and every verify token touches more experts. The MTP layer keeps up with every request either
   * way, so drafting resumes as soon as the batch shrinks.
   */
  readonly speculativeMaxBatch?: number;
  /**
   * Benchmark hook only (never for real output): accept each greedy draft with this probability instead of
   * checking it, to measure speed as a function of acceptance on random-weight models.
   */
  readonly forceAcceptance?: number;
}

/** Draft length used when the checkpoint has an MTP layer and nothing else is asked (measured: BENCHMARKS.md). */
export const DEFAULT_SPECULATIVE = 1;

export interface RequestStream extends AsyncIterable<EngineEvent> {
  readonly id: string;
  /** Stops the request now: its blocks are freed and the stream ends with finish reason `abort`. */
  abort(): void;
  readonly result: Promise<GenerationResult>;
}

/** Checkpoint-independent defaults (OpenAI's), under generation_config.json. */
const BASE_SAMPLING: SamplingParams = {
  temperature: 1, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: undefined, stopTokenIds: [], stop: [], maxTokens: Infinity, ignoreEos: false, logprobs: undefined,
};

interface Req extends SchedRequest {
  readonly id: string;
  readonly params: SamplingParams;
  /** tokens.length when this run started (prompt + resumed output). */
  readonly startLen: number;
  readonly promptLen: number;
  readonly rng: Rng;
  readonly penalty: PenaltyState;
  readonly decoder: IncrementalDecoder | null;
  readonly stopper: StopStringMatcher;
  readonly stopIds: Set<number>;
  readonly maxTotal: number;
  text: string;
  logprobs: TokenLogprob[] | undefined;
  done: DoneEvent | undefined;
  readonly queue: EngineEvent[];
  wake: (() => void) | undefined;
  resolve: (r: GenerationResult) => void;
  /** Speculation state (null: this request does not speculate). */
  readonly spec: SpecState | null;
  lookahead: number;
  readonly hashSalt: string;
  readonly completePositions: number;
  onRelease(): void;
  onAdopt(n: number): void;
}

interface SpecState {
  /** The MTP layer's view of the request's blocks (its length lags the main one until caught up). */
  readonly mtp: PagedSequence;
  /** The first draft (from the MTP row at the last computed position) once the MTP has caught up. */
  next: { token: number; q: Float64Array | null; hidden: Float32Array } | undefined;
}

export interface SpeculationStats {
  readonly k: number;
  /** Verify steps, drafts proposed, drafts accepted, and accepted drafts by position (0 = first draft). */
  readonly steps: number;
  readonly drafted: number;
  readonly accepted: number;
  readonly acceptedAt: readonly number[];
  readonly draftedAt: readonly number[];
}

export class Engine {
  readonly tokenizer: Tokenizer | null;
  readonly template: ChatTemplate | null;
  readonly maxContext: number;
  readonly blocks: BlockManager;
  readonly defaults: SamplingParams;
  private readonly pool: PagedKvPool;
  private readonly sched: Scheduler<Req>;
  private readonly V: number;
  private loopRunning = false;
  private closed = false;
  private nextId = 0;
  private readonly counters = { promptTokens: 0, cachedPromptTokens: 0, generatedTokens: 0, steps: 0, modelMs: 0, stepMs: 0 };
  private readonly recent: { t: number; n: number }[] = [];
  /** Draft tokens per verify step (0: speculation off). */
  readonly k: number;
  private readonly forceAcceptance: number | undefined;
  private readonly specMaxBatch: number;
  private readonly forceRng = new Rng(12345);
  private readonly spec = { steps: 0, drafted: 0, accepted: 0, acceptedAt: [] as number[], draftedAt: [] as number[] };

  constructor(readonly model: GlmModel, opts: EngineOptions & { tokenizer?: Tokenizer | null; template?: ChatTemplate | null; generationConfig?: Record<string, unknown>; salt?: string; modelDir?: string } = {}) {
    const cfg = model.cfg;
    this.tokenizer = opts.tokenizer ?? null;
    this.template = opts.template ?? null;
    this.maxContext = cfg.maxPositionEmbeddings;
    this.modelDir = opts.modelDir ?? '';
    const B = opts.blockSize ?? 32;
    const gb = opts.kvCacheGb ?? Math.min(8, (0.3 * freemem()) / 1e9);
    const mtpLayers = model.weights.mtp.length > 0 ? 1 : 0;
    this.k = mtpLayers ? Math.max(0, Math.floor(opts.speculative ?? DEFAULT_SPECULATIVE)) : 0;
    this.forceAcceptance = opts.forceAcceptance;
    this.specMaxBatch = opts.speculativeMaxBatch ?? 1;
    const perBlock = PagedKvPool.bytesPerBlock(cfg, B, this.k > 0 ? mtpLayers : 0);
    // At most one max-length context per running request is ever useful.
    const cap = Math.ceil(cfg.maxPositionEmbeddings / B) * (opts.maxRunning ?? 32);
    const numBlocks = Math.max(1, Math.min(cap, Math.floor((gb * 1e9) / perBlock)));
    this.pool = new PagedKvPool(cfg, { numBlocks, blockSize: B, mtpLayers: this.k > 0 ? mtpLayers : 0 });
    this.blocks = new BlockManager(numBlocks, B, opts.salt ?? '');
    this.sched = new Scheduler<Req>(this.blocks, { maxRunning: opts.maxRunning ?? 32, maxStepTokens: opts.maxStepTokens ?? 512, prefixCache: opts.prefixCache ?? true });
    this.V = this.tokenizer ? Math.min(cfg.vocabSize, this.tokenizer.vocabSize) : cfg.vocabSize;
    this.defaults = samplingDefaults(opts.generationConfig ?? {});
  }

  readonly modelDir: string;

  /** Loads a checkpoint folder: model, tokenizer and chat template when present, generation defaults. */
  static load(dir: string, opts: EngineOptions = {}): Engine {
    const model = GlmModel.load(dir, { ops: selectOps(opts.backend ?? 'auto'), quantize: opts.quantize });
    const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? Tokenizer.fromDir(dir) : null;
    const template = tokenizer ? ChatTemplate.fromDir(dir) : null;
    const gcPath = join(dir, 'generation_config.json');
    const generationConfig = existsSync(gcPath) ? (JSON.parse(readFileSync(gcPath, 'utf8')) as Record<string, unknown>) : {};
    return new Engine(model, { ...opts, tokenizer, template, generationConfig, salt: weightsFingerprint(dir, opts.quantize), modelDir: dir });
  }

  /** Positions the whole cache holds. */
  get cacheTokens(): number {
    return this.blocks.numBlocks * this.blocks.blockSize;
  }

  submit(request: GenerateRequest): RequestStream {
    if (this.closed) throw new RequestError('the engine is shutting down', 'engine_closed');
    const id = request.id ?? `req-${++this.nextId}`;
    const prompt = [...request.prompt], resumed = [...(request.generated ?? [])];
    const tokens = [...prompt, ...resumed];
    if (prompt.length === 0) throw new RequestError('the prompt is empty', 'invalid_request');
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.model.cfg.vocabSize) throw new RequestError(`token id ${t} is outside the vocabulary (size ${this.model.cfg.vocabSize})`, 'invalid_request');
    }
    const params = resolveSampling(this.defaults, request.sampling ?? {});
    // A request must fit the context and, alone, the whole cache (else it could wait forever).
    const limit = Math.min(this.maxContext, this.cacheTokens);
    if (tokens.length + 1 > limit) {
      throw new RequestError(
        tokens.length >= this.maxContext
          ? `the prompt has ${tokens.length} tokens; this model's context is ${this.maxContext} tokens`
          : `the prompt has ${tokens.length} tokens; the KV cache holds ${this.cacheTokens} (raise --kv-cache-gb)`,
        'context_length_exceeded',
      );
    }
    const maxTotal = Math.min(limit, tokens.length - resumed.length + params.maxTokens);
    const seq = this.pool.view();
    const spec: SpecState | null = this.k > 0 && request.speculative !== false ? { mtp: seq.sibling(), next: undefined } : null;
    const r: Req = {
      id, tokens, numComputed: 0, seq, hashes: [], cachedTokens: undefined,
      params, startLen: tokens.length, promptLen: prompt.length,
      rng: new Rng(params.seed ?? randomBytes(4).readUInt32LE(0)),
      penalty: { outputCounts: countsOf(resumed), seen: new Set(tokens) },
      decoder: this.tokenizer?.createDecoder() ?? null,
      stopper: new StopStringMatcher(params.stop),
      stopIds: new Set([...params.stopTokenIds, ...(params.ignoreEos ? [] : this.model.cfg.eosTokenIds)]),
      maxTotal, text: '', logprobs: params.logprobs !== undefined ? [] : undefined, done: undefined, queue: [], wake: undefined, resolve: () => {},
      spec, lookahead: 0,
      // Blocks of speculating requests also hold MTP rows: they are named apart from blocks without them.
      hashSalt: spec ? 'mtp' : '',
      // A position is complete once its main row and (when speculating) its MTP row are both written.
      get completePositions() {
        return spec ? Math.min(this.numComputed, spec.mtp.length) : this.numComputed;
      },
      onRelease: () => {
        if (spec) {
          spec.mtp.rewind(0);
          spec.next = undefined;
        }
      },
      // Adopted blocks were named with the 'mtp' salt: their MTP rows are complete too.
      onAdopt: (n: number) => spec?.mtp.extendTo(n),
    };
    // Resumed output: the decoder must see it so the next piece continues the same UTF-8 stream.
    if (r.decoder) for (const t of resumed) r.decoder.push(t);
    const result = new Promise<GenerationResult>((res) => (r.resolve = res));
    this.counters.promptTokens += tokens.length;
    if (maxTotal <= tokens.length) this.finish(r, 'length');
    else {
      this.sched.add(r);
      this.kick();
    }
    const engine = this;
    return {
      id,
      abort: () => engine.abort(r),
      result,
      [Symbol.asyncIterator]: () => ({
        async next(): Promise<IteratorResult<EngineEvent>> {
          while (r.queue.length === 0) {
            if (r.done && r.queue.length === 0) return { done: true, value: undefined };
            await new Promise<void>((w) => (r.wake = w));
          }
          const ev = r.queue.shift()!;
          return { done: false, value: ev };
        },
        async return(): Promise<IteratorResult<EngineEvent>> {
          if (!r.done) engine.abort(r);
          return { done: true, value: undefined };
        },
      }),
    };
  }

  stats(): EngineStats {
    const now = performance.now();
    while (this.recent.length && now - this.recent[0]!.t > 5000) this.recent.shift();
    const n = this.recent.reduce((a, x) => a + x.n, 0);
    const span = this.recent.length ? Math.max(1000, now - this.recent[0]!.t) : 1000;
    const c = this.counters;
    return {
      running: this.sched.running.length, waiting: this.sched.waiting.length,
      blockSize: this.blocks.blockSize, blocksTotal: this.blocks.numBlocks, blocksUsed: this.blocks.used,
      blocksFree: this.blocks.available - this.blocks.cached, blocksCached: this.blocks.cached,
      prefixHitRate: c.promptTokens ? c.cachedPromptTokens / c.promptTokens : 0,
      promptTokens: c.promptTokens, cachedPromptTokens: c.cachedPromptTokens, generatedTokens: c.generatedTokens,
      preemptions: this.sched.preemptions, steps: c.steps, tokensPerS: (n * 1000) / span,
      draftTokens: this.spec.drafted, acceptedDraftTokens: this.spec.accepted, speculativeSteps: this.spec.steps,
    };
  }

  /** Time inside model.step vs the whole step (engine overhead = 1 − model / step), since start. */
  timing(): { modelMs: number; stepMs: number } {
    return { modelMs: this.counters.modelMs, stepMs: this.counters.stepMs };
  }

  /** Aborts everything in flight; later submits fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of [...this.sched.running, ...this.sched.waiting]) this.abort(r);
  }

  /** Runs steps until idle (tests and benchmarks that drive the engine synchronously). */
  runUntilIdle(): void {
    while (!this.sched.idle) this.step();
  }

  private abort(r: Req): void {
    if (r.done) return;
    this.finish(r, 'abort');
  }

  private kick(): void {
    if (this.loopRunning) return;
    this.loopRunning = true;
    setImmediate(() => this.loop());
  }

  private loop(): void {
    if (this.sched.idle) {
      this.loopRunning = false;
      return;
    }
    this.step();
    setImmediate(() => this.loop());
  }

  /**
   * One engine step: plan → drafts (MTP chain) → one batched model step → acceptance / sampling → MTP
   * catch-up over the new rows (which also yields each speculating request's next first draft).
   */
  step(): void {
    const t0 = performance.now();
    // Decoders whose MTP has caught up propose drafts this step (bounded by what they may still generate).
    const drafting = this.sched.running.length <= this.specMaxBatch;
    for (const r of this.sched.running) {
      r.lookahead = drafting && r.spec?.next && r.numComputed === r.tokens.length - 1 ? Math.max(0, Math.min(this.k, r.maxTotal - r.tokens.length - 1)) : 0;
    }
    const plan = this.sched.schedule();
    if (plan.entries.length === 0) return;
    let modelMs = 0;
    const drafts = new Map<Req, { tokens: number[]; qs: (Float64Array | null)[] }>();
    try {
      const ts = performance.now();
      this.draft(plan.entries.map((e) => e.req).filter((r) => r.lookahead > 0), drafts);
      modelMs += performance.now() - ts;
    } catch (err) {
      for (const e of plan.entries) this.finish(e.req, 'error', (err as Error).message);
      return;
    }
    const inputs = plan.entries.map((e) => {
      const d = drafts.get(e.req);
      return {
        tokens: [...e.req.tokens.slice(e.req.numComputed, e.req.numComputed + e.n), ...(d ? d.tokens : [])],
        cache: e.req.seq as PagedSequence,
        logits: d ? ('all' as const) : e.sample ? ('last' as const) : ('none' as const),
      };
    });
    let out;
    try {
      const ts = performance.now();
      out = this.model.step(inputs);
      modelMs += performance.now() - ts;
    } catch (err) {
      // A failed step leaves the caches of its requests half-written: they end with an error.
      for (const e of plan.entries) this.finish(e.req, 'error', (err as Error).message);
      return;
    }
    const V = this.model.cfg.vocabSize, D = this.model.cfg.hiddenSize;
    let generated = 0, row0 = 0;
    const catchUp: { r: Req; hidden: Float32Array }[] = [];
    plan.entries.forEach((e, i) => {
      const r = e.req, n0 = r.numComputed, rows = inputs[i]!.tokens.length, first = out.logitRows[i]!.first;
      const hidden = out.hidden.subarray(row0 * D, (row0 + rows) * D);
      row0 += rows;
      const d = drafts.get(r);
      let valid = e.n; // rows whose cache entries stay
      if (d) {
        const before = r.tokens.length;
        const accepted = this.acceptDrafts(r, d, out.logits.subarray(first * V, (first + d.tokens.length + 1) * V));
        generated += r.tokens.length - before;
        valid = 1 + accepted;
        if (!r.done) {
          // Rejected drafts: their main rows and the chained MTP rows are rolled back (blocks stay reserved).
          (r.seq as PagedSequence).rewind(n0 + valid);
          r.spec!.mtp.rewind(n0);
        }
      } else if (e.sample) {
        this.sampleInto(r, out.logits.subarray(first * V, (first + 1) * V));
        generated++;
      }
      r.numComputed = n0 + valid;
      if (r.done) return;
      if (r.spec) catchUp.push({ r, hidden: hidden.subarray(0, valid * D) });
      else this.sched.registerFullBlocks(r);
    });
    try {
      const ts = performance.now();
      this.catchUp(catchUp);
      modelMs += performance.now() - ts;
    } catch (err) {
      for (const c of catchUp) this.finish(c.r, 'error', (err as Error).message);
    }
    for (const c of catchUp) if (!c.r.done) this.sched.registerFullBlocks(c.r);
    this.counters.steps++;
    this.counters.generatedTokens += generated;
    const t1 = performance.now();
    this.recent.push({ t: t1, n: generated });
    while (this.recent.length > 0 && t1 - this.recent[0]!.t > 5000) this.recent.shift();
    this.counters.modelMs += modelMs;
    this.counters.stepMs += t1 - t0;
  }

  /** Chains the MTP layer from each request's first draft to `lookahead` drafts (batched across requests). */
  private draft(reqs: Req[], out: Map<Req, { tokens: number[]; qs: (Float64Array | null)[] }>): void {
    const D = this.model.cfg.hiddenSize, V = this.model.cfg.vocabSize;
    const hidden = new Map<Req, Float32Array>();
    for (const r of reqs) {
      const next = r.spec!.next!;
      out.set(r, { tokens: [next.token], qs: [next.q] });
      hidden.set(r, next.hidden);
    }
    for (let j = 2; ; j++) {
      const active = reqs.filter((r) => r.lookahead >= j);
      if (active.length === 0) break;
      const inputs: MtpInput[] = active.map((r) => ({ hidden: hidden.get(r)!, tokens: [out.get(r)!.tokens[j - 2]!], cache: r.spec!.mtp, logits: 'last' }));
      const res = mtpStep(this.model, inputs);
      active.forEach((r, i) => {
        const d = out.get(r)!;
        const row = res.logits.subarray(res.logitRows[i]!.first * V, (res.logitRows[i]!.first + 1) * V);
        const { token, q } = this.proposal(r, row, d.tokens);
        d.tokens.push(token);
        d.qs.push(q);
        hidden.set(r, res.hidden.slice(i * D, (i + 1) * D));
      });
    }
    for (const r of reqs) {
      const n = out.get(r)!.tokens.length;
      this.spec.drafted += n;
      for (let j = 0; j < n; j++) this.spec.draftedAt[j] = (this.spec.draftedAt[j] ?? 0) + 1;
    }
  }

  /** A draft token from MTP logits under the request's sampling (greedy: argmax; else drawn from q, returned for verification). */
  private proposal(r: Req, row: Float32Array, pending: readonly number[]): { token: number; q: Float64Array | null } {
    const x = processLogits(row, this.V, r.params, withTokens(r.penalty, r.params, pending));
    if (r.params.temperature <= 0) return { token: chooseToken(x, r.params, r.rng), q: null };
    const q = distribution(x, r.params);
    return { token: sampleFrom(q, r.rng), q };
  }

  /**
   * Verifies drafts against the target rows [k + 1, V] (row j scores the token after the j-th input) and
   * appends the emitted tokens; returns how many drafts were accepted.
   */
  private acceptDrafts(r: Req, d: { tokens: number[]; qs: (Float64Array | null)[] }, rows: Float32Array): number {
    const V = this.model.cfg.vocabSize, p = r.params;
    this.spec.steps++;
    let accepted = 0;
    for (let j = 0; j < d.tokens.length; j++) {
      const row = rows.subarray(j * V, (j + 1) * V), draft = d.tokens[j]!;
      const x = processLogits(row, this.V, p, r.penalty);
      let token: number;
      if (this.forceAcceptance !== undefined && p.temperature <= 0) {
        // Benchmark hook: the coin decides; a rejection emits some token other than the draft.
        const target = chooseToken(x, p, r.rng);
        token = this.forceRng.next() < this.forceAcceptance ? draft : target !== draft ? target : (draft + 1) % this.V;
      } else if (p.temperature <= 0 || !d.qs[j]) {
        token = chooseToken(x, p, r.rng);
      } else {
        const v = verifyDraft(distribution(x, p), d.qs[j]!, draft, r.rng);
        token = v.accepted ? draft : v.token;
      }
      this.appendToken(r, token, row);
      if (token !== draft) return accepted;
      accepted++;
      this.spec.accepted++;
      this.spec.acceptedAt[j] = (this.spec.acceptedAt[j] ?? 0) + 1;
      if (r.done) return accepted;
    }
    // Every draft accepted: the last row gives one more token for free.
    this.sampleInto(r, rows.subarray(d.tokens.length * V, (d.tokens.length + 1) * V));
    return accepted;
  }

  /** Runs the MTP layer over each speculating request's new rows (hidden h_i with token t_{i+1}); the last row's logits give the next first draft. */
  private catchUp(items: { r: Req; hidden: Float32Array }[]): void {
    const D = this.model.cfg.hiddenSize, V = this.model.cfg.vocabSize;
    const todo = items.filter((c) => c.hidden.length > 0);
    for (const c of items) c.r.spec!.next = undefined;
    if (todo.length === 0) return;
    const inputs: MtpInput[] = todo.map(({ r, hidden }) => {
      const m = r.spec!.mtp.length, n = hidden.length / D;
      if (m + n !== r.numComputed) throw new Error(`internal: MTP at ${m} + ${n} rows ≠ ${r.numComputed} computed`);
      // Row i pairs h_i with t_{i+1}; a first draft exists once t_{numComputed} (the sampled token) is known.
      return { hidden, tokens: r.tokens.slice(m + 1, m + n + 1), cache: r.spec!.mtp, logits: r.tokens.length === r.numComputed + 1 ? 'last' : 'none' };
    });
    const res = mtpStep(this.model, inputs);
    todo.forEach(({ r }, i) => {
      const lr = res.logitRows[i]!;
      if (lr.count === 0) return;
      const row = res.logits.subarray(lr.first * V, (lr.first + 1) * V);
      const rowIndex = inputs.slice(0, i + 1).reduce((a, x) => a + x.tokens.length, 0) - 1;
      const { token, q } = this.proposal(r, row, []);
      r.spec!.next = { token, q, hidden: res.hidden.slice(rowIndex * D, (rowIndex + 1) * D) };
    });
  }

  /** Draft acceptance so far (speculative decoding). */
  speculation(): SpeculationStats {
    return { k: this.k, ...this.spec, acceptedAt: [...this.spec.acceptedAt], draftedAt: [...this.spec.draftedAt] };
  }

  private sampleInto(r: Req, row: Float32Array): void {
    const x = processLogits(row, this.V, r.params, r.penalty);
    this.appendToken(r, chooseToken(x, r.params, r.rng), row);
  }

  /** Appends a chosen token: penalties, logprobs, text, stop conditions, the event. */
  private appendToken(r: Req, id: number, row: Float32Array): void {
    const p = r.params;
    r.tokens.push(id);
    r.penalty.seen.add(id);
    r.penalty.outputCounts.set(id, (r.penalty.outputCounts.get(id) ?? 0) + 1);
    const lp = p.logprobs !== undefined ? logprobsOf(row, this.V, id, p.logprobs, (t) => this.pieceOf(t)) : undefined;
    if (lp) r.logprobs!.push(lp);
    if (r.stopIds.has(id)) {
      this.emit(r, { type: 'token', ids: [id], text: '', logprobs: lp ? [lp] : undefined });
      this.finish(r, 'stop', undefined, id);
      return;
    }
    const piece = r.decoder ? r.decoder.push(id) : '';
    const m = r.stopper.push(piece);
    r.text += m.text;
    this.emit(r, { type: 'token', ids: [id], text: m.text, logprobs: lp ? [lp] : undefined });
    if (m.stopped !== undefined) this.finish(r, 'stop', undefined, m.stopped);
    else if (r.tokens.length >= r.maxTotal) this.finish(r, 'length');
  }

  private pieceOf(id: number): string {
    try {
      return this.tokenizer ? this.tokenizer.decode([id]) : '';
    } catch {
      return '';
    }
  }

  private emit(r: Req, ev: EngineEvent): void {
    r.queue.push(ev);
    const w = r.wake;
    r.wake = undefined;
    w?.();
  }

  private finish(r: Req, reason: FinishReason, error?: string, stopReason?: string | number): void {
    if (r.done) return;
    this.sched.remove(r);
    // Text held back for stop-string matching (and an unfinished UTF-8 tail) ends the output.
    if (reason !== 'stop') {
      const tail = r.stopper.push(r.decoder ? r.decoder.flush() : '').text + r.stopper.flush();
      if (tail) {
        r.text += tail;
        this.emit(r, { type: 'token', ids: [], text: tail });
      }
    }
    const cached = r.cachedTokens ?? 0;
    this.counters.cachedPromptTokens += cached;
    const usage = { promptTokens: r.startLen, cachedTokens: cached, completionTokens: r.tokens.length - r.startLen };
    const done: DoneEvent = { type: 'done', finishReason: reason, stopReason, error, usage };
    r.done = done;
    this.emit(r, done);
    r.resolve({
      id: r.id, ids: r.tokens.slice(r.startLen), text: r.text, finishReason: reason, stopReason, error, usage, logprobs: r.logprobs,
    });
  }
}

/** The penalty state as if `pending` (drafts not yet accepted) had been generated; shared when no penalty reads it. */
function withTokens(state: PenaltyState, p: SamplingParams, pending: readonly number[]): PenaltyState {
  if (pending.length === 0 || (p.repetitionPenalty === 1 && p.presencePenalty === 0 && p.frequencyPenalty === 0)) return state;
  const counts = new Map(state.outputCounts), seen = new Set(state.seen);
  for (const t of pending) {
    counts.set(t, (counts.get(t) ?? 0) + 1);
    seen.add(t);
  }
  return { outputCounts: counts, seen };
}

function countsOf(ids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of ids) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** generation_config.json → defaults (temperature, top_p, top_k, repetition_penalty; eos handled by the model config). */
export function samplingDefaults(gc: Record<string, unknown>): SamplingParams {
  const num = (k: string) => (typeof gc[k] === 'number' ? (gc[k] as number) : undefined);
  const doSample = gc.do_sample;
  return {
    ...BASE_SAMPLING,
    temperature: doSample === false ? 0 : num('temperature') ?? BASE_SAMPLING.temperature,
    topP: num('top_p') ?? BASE_SAMPLING.topP,
    topK: num('top_k') ?? BASE_SAMPLING.topK,
    repetitionPenalty: num('repetition_penalty') ?? BASE_SAMPLING.repetitionPenalty,
  };
}

export function resolveSampling(defaults: SamplingParams, p: Partial<SamplingParams>): SamplingParams {
  const s: SamplingParams = { ...defaults };
  for (const [k, v] of Object.entries(p)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  const bad = (m: string) => new RequestError(m, 'invalid_request');
  if (!(s.temperature >= 0)) throw bad(`temperature must be ≥ 0, got ${s.temperature}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw bad(`top_p must be in (0, 1], got ${s.topP}`);
  if (!Number.isInteger(s.topK) || s.topK < -1) throw bad(`top_k must be an integer ≥ −1, got ${s.topK}`);
  if (!(s.minP >= 0 && s.minP <= 1)) throw bad(`min_p must be in [0, 1], got ${s.minP}`);
  if (!(s.repetitionPenalty > 0)) throw bad(`repetition_penalty must be > 0, got ${s.repetitionPenalty}`);
  if (!Number.isFinite(s.presencePenalty) || !Number.isFinite(s.frequencyPenalty)) throw bad('penalties must be finite numbers');
  if (!(s.maxTokens >= 1)) throw bad(`max_tokens must be ≥ 1, got ${s.maxTokens}`);
  if (s.logprobs !== undefined && !(Number.isInteger(s.logprobs) && s.logprobs >= 0 && s.logprobs <= 20)) throw bad(`logprobs must be an integer in [0, 20], got ${s.logprobs}`);
  if (s.seed !== undefined && !Number.isInteger(s.seed)) throw bad(`seed must be an integer, got ${s.seed}`);
  return s;
}

/** Names the weights' content for prefix-cache hashes: config and the safetensors files' sizes and times. */
function weightsFingerprint(dir: string, quantize: string | undefined): string {
  const h = createHash('sha1').update(readFileSync(join(dir, 'config.json'))).update(quantize ?? '');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.safetensors')).sort()) {
    const st = statSync(join(dir, f));
    h.update(`${f}:${st.size}:${st.mtimeMs}`);
  }
  return h.digest('base64');
}
