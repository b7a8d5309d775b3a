// Speculative decoding with the checkpoint's MTP layer, as the engine's step uses it:
//   wish     — how many drafts a decoder asks for this step (the scheduler grants within budget and blocks);
//   draft    — chains the MTP layer from each request's first draft to its granted length (batched);
//   accept   — verifies drafts against the target rows and appends what is emitted;
//   catchUp  — runs the MTP layer over a request's newly final rows, which yields its next first draft.
// The acceptance rule (Leviathan et al. / Chen et al.) is `verifyDraft`: a draft d drawn from q is kept with
// probability min(1, p(d)/q(d)); a rejection draws from norm(max(0, p − q)), so emitted tokens follow p
// exactly. Greedy is the one-hot case: keep d iff it is the target's argmax.

import type { GlmModel } from '../model/model.js';
import { mtpStep, type MtpInput } from '../model/mtp.js';
import type { Request } from './request.js';
import { type Gate, type GateSnapshot, SpeculationGate } from './speculation-gate.js';
import { chooseToken, distribution, processLogits, Rng, sampleFrom, type PenaltyState } from './sampler.js';
import type { SamplingParams } from './types.js';

export type Verdict = { readonly accepted: true } | { readonly accepted: false; readonly token: number };

export function verifyDraft(p: Float64Array, q: Float64Array, d: number, rng: Rng): Verdict {
  const pd = p[d]!,
    qd = q[d]!;
  if (qd > 0 && (pd >= qd || rng.next() * qd < pd)) return { accepted: true };
  const r = new Float64Array(p.length);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += r[i] = Math.max(0, p[i]! - q[i]!);
  if (!(s > 0)) return { accepted: false, token: sampleFrom(p, rng) };
  for (let i = 0; i < r.length; i++) r[i] = r[i]! / s;
  return { accepted: false, token: sampleFrom(r, rng) };
}

/** One request's drafts for this step: tokens d_1..d_k and the distributions they were drawn from. */
export interface Drafts {
  readonly tokens: number[];
  readonly qs: (Float64Array | null)[];
}

export interface SpeculationStats {
  readonly k: number;
  /** Verify steps, drafts proposed, drafts accepted, and accepted drafts by position (0 = first draft). */
  readonly steps: number;
  readonly drafted: number;
  readonly accepted: number;
  readonly acceptedAt: readonly number[];
  readonly draftedAt: readonly number[];
  /** Rows the MTP layer caught up on after skipping them (steps without drafts, speculation-gate.ts). */
  readonly lagRows: number;
  /** Per batch bucket: drafting on or off, and the ms per token last measured for each. */
  readonly gate: GateSnapshot;
}

export interface SpeculatorOptions {
  /** Draft tokens per verify step (0: off). */
  readonly k: number;
  /** Draft only while at most this many requests run. */
  readonly maxBatch: number;
  /** Measure whether drafting pays per batch size (speculation-gate.ts); false: always draft; or a gate of its own. */
  readonly gate?: boolean | Gate;
  /** Benchmark hook: accept each greedy draft with this probability instead of checking it. */
  readonly forceAcceptance?: number;
  /** Logit columns that are real tokens. */
  readonly vocabSize: number;
}

/** Per-request acceptance, decayed counts of drafts kept over drafts checked. */
interface AcceptanceEma {
  hits: number;
  trials: number;
  verifies: number;
  /** Steps without a draft since the last probe. */
  idle: number;
  /** Drafts decided for the next step (keepUp). */
  next: number;
}

/**
 * Cost of one more draft position (an MTP row plus a verify row) as a share of a decode step at one stream: on
 * `small` a 2-row step reads 1.29× the bytes of a 1-row one (the extra row's 8 routed experts), plus the MTP row.
 */
const DRAFT_COST = 0.4;
/** How much that share grows per extra running request (verify rows compete with the other streams' rows). */
const BATCH_COST = 0.05;
const EMA_DECAY = 0.8;
const PRIOR_HITS = 2,
  PRIOR_TRIALS = 3;
const WARMUP = 4,
  PROBE_EVERY = 8;
/** Most hidden rows a request's MTP layer may lag behind before it catches up anyway (memory: D floats each). */
const MAX_LAG = 64;

export class Speculator {
  readonly k: number;
  private readonly stats = { steps: 0, drafted: 0, accepted: 0, acceptedAt: [] as number[], draftedAt: [] as number[], lagRows: 0 };
  private readonly forceRng = new Rng(12345);
  private readonly ema = new WeakMap<Request, AcceptanceEma>();
  private readonly gate: Gate;

  constructor(
    private readonly model: GlmModel,
    private readonly opts: SpeculatorOptions,
  ) {
    this.k = opts.k;
    this.gate = typeof opts.gate === 'object' ? opts.gate : new SpeculationGate(opts.gate ?? true);
  }

  /**
   * Drafts a decoder asks for: only while few requests run, once its MTP has caught up, within what it may still
   * generate, and as many as keepUp decided after the last step.
   */
  wish(r: Request, running: number): number {
    if (running > this.opts.maxBatch || !r.mtp?.next || r.numComputed !== r.tokens.length - 1) return 0;
    return Math.min(this.acceptance(r).next, r.room);
  }

  /**
   * After a step that computed `rows` final rows of `r`: its draft length for the next step (the gate, then its
   * acceptance: `chooseK`), and whether its MTP layer must catch up now — when it will draft, or when it would
   * lag more than MAX_LAG rows. Otherwise the rows wait (`defer`, prompt chunks too) and this step does no MTP
   * work for it.
   */
  keepUp(r: Request, rows: number, running: number): boolean {
    const st = this.acceptance(r);
    const decoding = r.tokens.length === r.numComputed + 1;
    // A seeded sampled request draws its random numbers in an order that depends on its drafts: the gate, which
    // follows measured times, does not decide for it (the same seed gives the same output).
    const seeded = r.params.temperature > 0 && r.params.seed !== undefined;
    st.next = decoding && running <= this.opts.maxBatch && (seeded || this.gate.on(running)) ? this.chooseK(r, running) : 0;
    return st.next > 0 || r.mtp!.lag.rows + rows > MAX_LAG;
  }

  /** The rows of a step keepUp let wait. */
  defer(r: Request, hidden: Float32Array): void {
    const m = r.mtp!;
    m.next = undefined;
    const D = this.model.cfg.hiddenSize,
      lag = m.lag,
      end = lag.rows * D + hidden.length;
    if (lag.data.length < end) {
      const grown = new Float32Array(Math.max(end, 2 * lag.data.length));
      grown.set(lag.data.subarray(0, lag.rows * D));
      lag.data = grown;
    }
    lag.data.set(hidden, lag.rows * D);
    lag.rows += hidden.length / D;
  }

  /** A finished decode-only step (no prompt rows) at this batch size: the gate's measurement. */
  observeStep(running: number, ms: number, tokens: number): void {
    if (this.k > 0 && running <= this.opts.maxBatch) this.gate.observe(running, ms, tokens);
  }

  /**
   * Draft length for this step from the request's acceptance EMA a: draft position j (1-based) is reached with
   * probability a^(j-1) and adds a^j expected tokens, worth it while a^j ≥ the cost of one more draft and verify
   * row relative to a step (DRAFT_COST at one stream, rising with the batch as verify rows stop riding free on
   * the weight reads). The first WARMUP verifies use the full k; a request that settles at 0 probes with one
   * draft every PROBE_EVERY steps so its estimate can recover.
   */
  private chooseK(r: Request, running: number): number {
    const st = this.acceptance(r);
    if (st.verifies < WARMUP) return this.k;
    const a = st.hits / st.trials,
      cost = Math.min(0.95, DRAFT_COST * (1 + BATCH_COST * (running - 1)));
    let k = 0;
    for (let p = a; k < this.k && p >= cost; p *= a) k++;
    if (k === 0 && ++st.idle >= PROBE_EVERY) {
      st.idle = 0;
      return 1;
    }
    return k;
  }

  private acceptance(r: Request): AcceptanceEma {
    let st = this.ema.get(r);
    if (!st) this.ema.set(r, (st = { hits: PRIOR_HITS, trials: PRIOR_TRIALS, verifies: 0, idle: 0, next: 0 }));
    return st;
  }

  /** A verify of `drafted` drafts kept `accepted`: the drafts checked were the accepted ones and the first rejected. */
  private observe(r: Request, drafted: number, accepted: number): void {
    const st = this.acceptance(r);
    st.hits = EMA_DECAY * st.hits + accepted;
    st.trials = EMA_DECAY * st.trials + accepted + (accepted < drafted ? 1 : 0);
    st.verifies++;
  }

  /** Chains the MTP layer from each request's first draft to its granted number of drafts (batched across requests). */
  draft(grants: readonly { readonly req: Request; readonly drafts: number }[]): Map<Request, Drafts> {
    const D = this.model.cfg.hiddenSize,
      V = this.model.cfg.vocabSize;
    const out = new Map<Request, Drafts>(),
      hidden = new Map<Request, Float32Array>();
    for (const { req } of grants) {
      const next = req.mtp!.next!;
      out.set(req, { tokens: [next.token], qs: [next.q] });
      hidden.set(req, next.hidden);
    }
    for (let j = 2; ; j++) {
      const active = grants.filter((g) => g.drafts >= j).map((g) => g.req);
      if (active.length === 0) break;
      const inputs: MtpInput[] = active.map((r) => ({ hidden: hidden.get(r)!, tokens: [out.get(r)!.tokens[j - 2]!], cache: r.mtp!.seq, logits: 'last' }));
      const res = mtpStep(this.model, inputs);
      active.forEach((r, i) => {
        const d = out.get(r)!;
        const first = res.logitRows[i]!.first;
        const { token, q } = this.proposal(r, res.logits.subarray(first * V, (first + 1) * V), d.tokens);
        d.tokens.push(token);
        d.qs.push(q);
        hidden.set(r, res.hidden.slice(i * D, (i + 1) * D));
      });
    }
    for (const d of out.values()) {
      this.stats.drafted += d.tokens.length;
      for (let j = 0; j < d.tokens.length; j++) this.stats.draftedAt[j] = (this.stats.draftedAt[j] ?? 0) + 1;
    }
    return out;
  }

  /**
   * Verifies drafts against the target rows [k + 1, V] (row j scores the token after the j-th input) and
   * appends the emitted tokens to the request; returns how many drafts were accepted.
   */
  accept(r: Request, d: Drafts, rows: Float32Array): number {
    const accepted = this.verifyRows(r, d, rows);
    this.observe(r, d.tokens.length, accepted);
    return accepted;
  }

  private verifyRows(r: Request, d: Drafts, rows: Float32Array): number {
    const V = this.model.cfg.vocabSize,
      p = r.params;
    this.stats.steps++;
    let accepted = 0;
    for (let j = 0; j < d.tokens.length; j++) {
      const row = rows.subarray(j * V, (j + 1) * V),
        draft = d.tokens[j]!;
      const x = processLogits(row, this.opts.vocabSize, p, r.penalty);
      let token: number;
      if (this.opts.forceAcceptance !== undefined && p.temperature <= 0) {
        // Benchmark hook: the coin decides; a rejection emits some token other than the draft.
        const target = chooseToken(x, p, r.rng);
        token = this.forceRng.next() < this.opts.forceAcceptance ? draft : target !== draft ? target : (draft + 1) % this.opts.vocabSize;
      } else if (p.temperature <= 0 || !d.qs[j]) {
        token = chooseToken(x, p, r.rng);
      } else {
        const v = verifyDraft(distribution(x, p), d.qs[j]!, draft, r.rng);
        token = v.accepted ? draft : v.token;
      }
      r.appendToken(token, row);
      if (token !== draft) return accepted;
      accepted++;
      this.stats.accepted++;
      this.stats.acceptedAt[j] = (this.stats.acceptedAt[j] ?? 0) + 1;
      if (r.done) return accepted;
    }
    // Every draft accepted: the last row gives one more token for free.
    const last = rows.subarray(d.tokens.length * V, (d.tokens.length + 1) * V);
    r.appendToken(chooseToken(processLogits(last, this.opts.vocabSize, p, r.penalty), p, r.rng), last);
    return accepted;
  }

  /**
   * Runs the MTP layer over each speculating request's new rows (hidden h_i paired with token t_{i+1}); the
   * last row's logits give the next first draft once the sampled token is known.
   */
  catchUp(items: readonly { readonly r: Request; readonly hidden: Float32Array }[]): void {
    const D = this.model.cfg.hiddenSize,
      V = this.model.cfg.vocabSize;
    for (const c of items) c.r.mtp!.next = undefined;
    const todo = items
      .map(({ r, hidden }) => {
        this.stats.lagRows += r.mtp!.lag.rows;
        return { r, hidden: withLag(r, hidden, D) };
      })
      .filter((c) => c.hidden.length > 0);
    if (todo.length === 0) return;
    const inputs: MtpInput[] = todo.map(({ r, hidden }) => {
      const m = r.mtp!.seq.length,
        n = hidden.length / D;
      if (m + n !== r.numComputed) throw new Error(`internal: MTP at ${m} + ${n} rows ≠ ${r.numComputed} computed`);
      return { hidden, tokens: r.tokens.slice(m + 1, m + n + 1), cache: r.mtp!.seq, logits: r.tokens.length === r.numComputed + 1 ? 'last' : 'none' };
    });
    const res = mtpStep(this.model, inputs);
    let rowEnd = 0;
    todo.forEach(({ r }, i) => {
      rowEnd += inputs[i]!.tokens.length;
      const lr = res.logitRows[i]!;
      if (lr.count === 0) return;
      const { token, q } = this.proposal(r, res.logits.subarray(lr.first * V, (lr.first + 1) * V), []);
      r.mtp!.next = { token, q, hidden: res.hidden.slice((rowEnd - 1) * D, rowEnd * D) };
    });
  }

  /** Draft acceptance so far, and the gate's arms. */
  snapshot(): SpeculationStats {
    return { k: this.k, ...this.stats, acceptedAt: [...this.stats.acceptedAt], draftedAt: [...this.stats.draftedAt], gate: this.gate.snapshot() };
  }

  /** A draft token from MTP logits under the request's sampling (greedy: argmax; else drawn from q, kept for verification). */
  private proposal(r: Request, row: Float32Array, pending: readonly number[]): { token: number; q: Float64Array | null } {
    const x = processLogits(row, this.opts.vocabSize, r.params, withTokens(r.penalty, r.params, pending));
    if (r.params.temperature <= 0) return { token: chooseToken(x, r.params, r.rng), q: null };
    const q = distribution(x, r.params);
    return { token: sampleFrom(q, r.rng), q };
  }
}

/** A request's lagging hidden rows (oldest first) followed by this step's, as one block; the lag is consumed. */
function withLag(r: Request, hidden: Float32Array, D: number): Float32Array {
  const lag = r.mtp!.lag;
  if (lag.rows === 0) return hidden;
  const out = new Float32Array(lag.rows * D + hidden.length);
  out.set(lag.data.subarray(0, lag.rows * D));
  out.set(hidden, lag.rows * D);
  lag.rows = 0;
  return out;
}

/** The penalty state as if `pending` (drafts not yet accepted) had been generated; shared when no penalty reads it. */
function withTokens(state: PenaltyState, p: SamplingParams, pending: readonly number[]): PenaltyState {
  if (pending.length === 0 || (p.repetitionPenalty === 1 && p.presencePenalty === 0 && p.frequencyPenalty === 0)) return state;
  const counts = new Map(state.outputCounts),
    seen = new Set(state.seen);
  for (const t of pending) {
    counts.set(t, (counts.get(t) ?? 0) + 1);
    seen.add(t);
  }
  return { outputCounts: counts, seen };
}
