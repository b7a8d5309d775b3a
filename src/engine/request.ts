// One request inside the engine (vLLM v1's `Request`, llama.cpp's `server_slot`): it owns its tokens, its
// views of the paged cache (the main layers' and, when it speculates, the MTP layer's), its sampling state,
// and the channel its events go out on. The scheduler reads and moves `numComputed` / the block table; the
// engine appends chosen tokens through `appendToken`, which applies stop conditions and emits events.
//
// Invariants: tokens = prompt ‖ resumed output ‖ this run's output; numComputed ≤ tokens.length is how many of
// them have rows in the cache (the scheduler's "catch up" target is tokens.length); once `done` is set the
// request emits nothing more and the engine retires it from the scheduler.

import type { IncrementalDecoder } from '../text/incremental-decoder.js';
import type { PagedSequence } from '../model/paged-cache.js';
import { logprobsOf, type PenaltyState, type Rng } from './sampler.js';
import type { StopStringMatcher } from './stop-strings.js';
import type { DoneEvent, EngineEvent, FinishReason, GenerationResult, RequestStream, SamplingParams, TokenLogprob, Usage } from './types.js';

/** What a request needs to know of the vocabulary to report logprobs. */
export interface Vocab {
  /** Logit columns that are real tokens (the tokenizer may be smaller than the embedding). */
  readonly size: number;
  /** One token's text (for logprobs). */
  piece(id: number): string;
}

/** The first draft of a speculating request, proposed by the MTP row at its last computed position. */
export interface FirstDraft {
  readonly token: number;
  /** The draft distribution q it was drawn from (null: greedy, a one-hot argmax). */
  readonly q: Float64Array | null;
  /** The MTP layer's output row at that position [D]: the input of the next chained draft. */
  readonly hidden: Float32Array;
}

/** The MTP layer's view of a speculating request's blocks; its length lags the main view until caught up. */
export interface MtpView {
  readonly seq: PagedSequence;
  /** Set once the MTP layer has caught up with the last sampled token; cleared when the rows move. */
  next: FirstDraft | undefined;
  /**
   * Final hidden rows the MTP layer has not seen yet (one per decode step while the request does not draft:
   * speculation.ts keepUp), fed in one batched catch-up when it drafts again: `rows` of D floats at the start
   * of `data` (grown by doubling, reused: no allocation per token).
   */
  readonly lag: { data: Float32Array; rows: number };
}

export interface RequestInit {
  readonly id: string;
  readonly prompt: readonly number[];
  /** Output of an earlier run, prefilled like the prompt but counted as output. */
  readonly resumed: readonly number[];
  readonly params: SamplingParams;
  readonly seq: PagedSequence;
  /** Speculating requests carry the MTP layer's view (a sibling of `seq`); others null. */
  readonly mtp: PagedSequence | null;
  readonly rng: Rng;
  readonly stopIds: ReadonlySet<number>;
  readonly stopper: StopStringMatcher;
  readonly decoder: IncrementalDecoder | null;
  /** tokens.length at which generation ends with reason `length`. */
  readonly maxTotal: number;
  readonly vocab: Vocab;
}

export class Request {
  readonly id: string;
  /** Every known token: prompt, resumed output, then this run's output. */
  readonly tokens: number[];
  /** Tokens whose rows are in the cache. */
  numComputed = 0;
  readonly seq: PagedSequence;
  readonly mtp: MtpView | null;
  /** Chained hashes of the full blocks already registered in the prefix cache. */
  hashes: string[] = [];
  /** Prompt tokens that came from the prefix cache at first admission (undefined until admitted). */
  cachedTokens: number | undefined;
  readonly params: SamplingParams;
  /** tokens.length when this run started (prompt + resumed output). */
  readonly startLen: number;
  readonly maxTotal: number;
  readonly rng: Rng;
  readonly penalty: PenaltyState;
  text = '';
  done: DoneEvent | undefined;
  readonly result: Promise<GenerationResult>;
  private readonly logprobs: TokenLogprob[] | undefined;
  private readonly stopIds: ReadonlySet<number>;
  private readonly stopper: StopStringMatcher;
  private readonly decoder: IncrementalDecoder | null;
  private readonly vocab: Vocab;
  private readonly queue: EngineEvent[] = [];
  private wake: (() => void) | undefined;
  private resolve: (r: GenerationResult) => void = () => {};

  constructor(init: RequestInit) {
    this.id = init.id;
    this.tokens = [...init.prompt, ...init.resumed];
    this.startLen = this.tokens.length;
    this.params = init.params;
    this.seq = init.seq;
    this.mtp = init.mtp ? { seq: init.mtp, next: undefined, lag: { data: new Float32Array(0), rows: 0 } } : null;
    this.rng = init.rng;
    this.stopIds = init.stopIds;
    this.stopper = init.stopper;
    this.decoder = init.decoder;
    this.maxTotal = init.maxTotal;
    this.vocab = init.vocab;
    this.logprobs = init.params.logprobs !== undefined ? [] : undefined;
    const counts = new Map<number, number>();
    for (const t of init.resumed) counts.set(t, (counts.get(t) ?? 0) + 1);
    this.penalty = { outputCounts: counts, seen: new Set(this.tokens) };
    // Resumed output: the decoder must see it so the next piece continues the same UTF-8 stream.
    if (this.decoder) for (const t of init.resumed) this.decoder.push(t);
    this.result = new Promise<GenerationResult>((res) => (this.resolve = res));
  }

  /** Blocks of speculating requests also hold MTP rows: they are named apart from blocks without them. */
  get hashSalt(): string {
    return this.mtp ? 'mtp' : '';
  }

  /** Positions whose every cached row (main and, when speculating, the MTP layer's) is final. */
  get completePositions(): number {
    return this.mtp ? Math.min(this.numComputed, this.mtp.seq.length) : this.numComputed;
  }

  /** Tokens the request may still generate beyond the next one (bounds draft length). */
  get room(): number {
    return Math.max(0, this.maxTotal - this.tokens.length - 1);
  }

  /** The scheduler released the blocks: state tied to their rows goes too. */
  release(): void {
    this.numComputed = 0;
    this.hashes = [];
    if (this.mtp) {
      this.mtp.seq.rewind(0);
      this.mtp.next = undefined;
      this.mtp.lag.rows = 0;
    }
  }

  /** The scheduler adopted n cached positions; blocks named with the 'mtp' salt hold complete MTP rows too. */
  adopt(n: number): void {
    this.numComputed = n;
    this.mtp?.seq.extendTo(n);
  }

  /** Appends a chosen token: penalties, logprobs, text, stop conditions, the event. `row` holds its logits [V]. */
  appendToken(id: number, row: Float32Array): void {
    const p = this.params;
    this.tokens.push(id);
    this.penalty.seen.add(id);
    this.penalty.outputCounts.set(id, (this.penalty.outputCounts.get(id) ?? 0) + 1);
    const lp = p.logprobs !== undefined ? logprobsOf(row, this.vocab.size, id, p.logprobs, (t) => this.vocab.piece(t)) : undefined;
    if (lp) this.logprobs!.push(lp);
    if (this.stopIds.has(id)) {
      this.emit({ type: 'token', ids: [id], text: '', logprobs: lp ? [lp] : undefined });
      this.finish('stop', undefined, id);
      return;
    }
    const piece = this.decoder ? this.decoder.push(id) : '';
    const m = this.stopper.push(piece);
    this.text += m.text;
    this.emit({ type: 'token', ids: [id], text: m.text, logprobs: lp ? [lp] : undefined });
    if (m.stopped !== undefined) this.finish('stop', undefined, m.stopped);
    else if (this.tokens.length >= this.maxTotal) this.finish('length');
  }

  /** Ends the request (once): flushes held-back text, emits `done`, resolves `result`. */
  finish(reason: FinishReason, error?: string, stopReason?: string | number): void {
    if (this.done) return;
    // Text held back for stop-string matching (and an unfinished UTF-8 tail) ends the output.
    if (reason !== 'stop') {
      const tail = this.stopper.push(this.decoder ? this.decoder.flush() : '').text + this.stopper.flush();
      if (tail) {
        this.text += tail;
        this.emit({ type: 'token', ids: [], text: tail });
      }
    }
    const usage: Usage = { promptTokens: this.startLen, cachedTokens: this.cachedTokens ?? 0, completionTokens: this.tokens.length - this.startLen };
    this.done = { type: 'done', finishReason: reason, stopReason, error, usage };
    this.emit(this.done);
    this.resolve({
      id: this.id,
      ids: this.tokens.slice(this.startLen),
      text: this.text,
      finishReason: reason,
      stopReason,
      error,
      usage,
      logprobs: this.logprobs,
    });
  }

  /** The caller's side: events in order; leaving the loop early (or `abort`) calls `onAbort`. */
  stream(onAbort: () => void): RequestStream {
    const r = this;
    return {
      id: this.id,
      abort: onAbort,
      result: this.result,
      [Symbol.asyncIterator]: () => ({
        async next(): Promise<IteratorResult<EngineEvent>> {
          while (r.queue.length === 0) {
            if (r.done) return { done: true, value: undefined };
            await new Promise<void>((w) => (r.wake = w));
          }
          return { done: false, value: r.queue.shift()! };
        },
        async return(): Promise<IteratorResult<EngineEvent>> {
          if (!r.done) onAbort();
          return { done: true, value: undefined };
        },
      }),
    };
  }

  private emit(ev: EngineEvent): void {
    this.queue.push(ev);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
