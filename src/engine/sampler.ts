// Token choice for one request from one row of logits: logit bias, penalties, temperature, top-k, top-p,
// min-p, a draw from the request's own seeded generator, and log-probabilities. Pure functions over
// plain arrays (the engine keeps the per-request state).
//
// Cost: a few passes over the vocabulary (bias/penalties, softmax with a histogram of probability ratios,
// the draw) plus a sort of only the ratio bucket where a top-k / top-p cut falls, so a 150K vocabulary
// stays well under a decode step (measured in bench/serving.ts).

import type { SamplingParams, TokenLogprob } from './types.js';

/** Per-request penalty state: how often each token appeared in the output, and which appeared anywhere. */
export interface PenaltyState {
  readonly outputCounts: Map<number, number>;
  /** Tokens of prompt and output (repetition penalty). */
  readonly seen: Set<number>;
}

/** A small fast seeded generator (sfc32), one per request: its draws depend only on the seed and on how many came before. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    // splitmix32 expands the seed into the state; the first draws are discarded to decorrelate seeds.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }
  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    return (this.nextU32() * 2 ** 21 + (this.nextU32() >>> 11)) / 2 ** 53;
  }
}

let work = new Float32Array(0);
let probs = new Float64Array(0);
let bucketOf = new Uint8Array(0);
let member = new Uint8Array(0);
const NB = 64; // ratio buckets: bucket b holds p/pmax in (2^-(b+1)/2, 2^-b/2]; the last one everything below
const bucketCount = new Int32Array(NB);
const bucketMass = new Float64Array(NB);

/** Applies bias and penalties to logits[0..V) (copied; the input is not changed) and returns the working row. */
export function processLogits(logits: Float32Array, V: number, p: SamplingParams, state: PenaltyState): Float32Array {
  if (work.length < V) work = new Float32Array(V);
  const x = work.subarray(0, V);
  x.set(logits.subarray(0, V));
  for (const [id, b] of p.logitBias) if (id >= 0 && id < V) x[id] = x[id]! + b;
  if (p.repetitionPenalty !== 1) {
    for (const id of state.seen) {
      if (id >= V) continue;
      const v = x[id]!;
      x[id] = v > 0 ? v / p.repetitionPenalty : v * p.repetitionPenalty;
    }
  }
  if (p.presencePenalty !== 0 || p.frequencyPenalty !== 0) {
    for (const [id, n] of state.outputCounts) if (id < V) x[id] = x[id]! - p.presencePenalty - p.frequencyPenalty * n;
  }
  return x;
}

function argmaxOf(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * Chooses the next token from a processed row (processLogits). Temperature 0 → argmax (first on ties).
 * The kept set is exactly the textbook one (sort by probability, ties by lower id; top-k; top-p of what
 * top-k kept; min-p relative to the top token), but only the one or two ratio buckets where a cut falls
 * are sorted. The draw then walks the kept tokens in id order.
 */
export function chooseToken(x: Float32Array, p: SamplingParams, rng: Rng): number {
  if (p.temperature <= 0 || p.topK === 1) return argmaxOf(x);
  const kept = filtered(x, p);
  if (kept < 0) return argmaxOf(x);
  return drawFrom(probs, x.length, kept, rng);
}

/** Index drawn from weights w[0..V) (zeros are never drawn) with total `mass`. */
function drawFrom(w: Float64Array, V: number, mass: number, rng: Rng): number {
  let u = rng.next() * mass,
    pick = -1;
  for (let i = 0; i < V; i++) {
    const q = w[i]!;
    if (q === 0) continue;
    pick = i;
    if ((u -= q) < 0) break;
  }
  return pick;
}

/**
 * The sampling distribution of a processed row as probabilities summing to 1 (a fresh array): what
 * chooseToken draws from. Temperature 0 (or top-k 1) is the one-hot argmax.
 */
export function distribution(x: Float32Array, p: SamplingParams): Float64Array {
  const V = x.length,
    out = new Float64Array(V);
  const kept = p.temperature <= 0 || p.topK === 1 ? -1 : filtered(x, p);
  if (kept <= 0) {
    out[argmaxOf(x)] = 1;
    return out;
  }
  for (let i = 0; i < V; i++) out[i] = probs[i]! / kept;
  return out;
}

/** Draws from a distribution (sums to 1) with the request's generator. */
export function sampleFrom(d: Float64Array, rng: Rng): number {
  return drawFrom(d, d.length, 1, rng);
}

/**
 * Fills the module scratch `probs[0..V)` with the kept tokens' unnormalised probabilities (0 for dropped
 * ones) and returns their mass, or −1 when every logit is −∞.
 */
function filtered(x: Float32Array, p: SamplingParams): number {
  const V = x.length;
  const invT = 1 / p.temperature;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (x[i]! > mx) mx = x[i]!;
  if (mx === -Infinity) return -1;
  if (probs.length < V) {
    probs = new Float64Array(V);
    bucketOf = new Uint8Array(V);
    member = new Uint8Array(V);
  }
  const minRatio = p.minP > 0 ? p.minP : 0;
  const topK = p.topK > 0 ? p.topK : 0;
  if ((topK === 0 || topK >= V) && p.topP >= 1) {
    // No truncation (min-p at most): one pass.
    let kept = 0;
    for (let i = 0; i < V; i++) {
      const q = Math.exp((x[i]! - mx) * invT);
      if (q >= minRatio) {
        probs[i] = q;
        kept += q;
      } else probs[i] = 0;
    }
    return kept;
  }
  // Probabilities relative to the top token (pmax = 1 in these units) and their half-octave bucket:
  // −2·log2(p/pmax) = 2(mx − x)/(T·ln 2), so no logarithm is needed.
  const toBucket = (2 / Math.LN2) * invT;
  bucketCount.fill(0);
  bucketMass.fill(0);
  for (let i = 0; i < V; i++) {
    const d = mx - x[i]!;
    const q = Math.exp((x[i]! - mx) * invT);
    probs[i] = q;
    const b = Math.min(NB - 1, Math.floor(d * toBucket));
    bucketOf[i] = b;
    bucketCount[b]!++;
    bucketMass[b] += q;
  }
  // Kept so far: every token of a bucket < lb, and the lc best of bucket lb (lb = NB: everything).
  let lb = NB,
    lc = 0;
  let sorted: number[] = [];
  const sortBucket = (b: number) => {
    sorted = [];
    for (let i = 0; i < V; i++) if (bucketOf[i] === b) sorted.push(i);
    sorted.sort((a, c) => probs[c]! - probs[a]! || a - c);
  };
  if (topK > 0 && topK < V) {
    let before = 0,
      b = 0;
    while (before + bucketCount[b]! < topK) before += bucketCount[b++]!;
    lb = b;
    lc = topK - before;
    sortBucket(b);
  }
  if (p.topP < 1) {
    // The mass top-k kept, then the bucket where top-p of it is reached.
    let kept = 0;
    for (let b = 0; b < Math.min(lb, NB); b++) kept += bucketMass[b]!;
    if (lb < NB) for (let j = 0; j < lc; j++) kept += probs[sorted[j]!]!;
    const target = p.topP * kept;
    let acc = 0,
      b = 0;
    while (b < lb && acc + bucketMass[b]! < target) acc += bucketMass[b++]!;
    if (b < NB) {
      if (b < lb) {
        sortBucket(b);
        lb = b;
        lc = sorted.length;
      }
      for (let j = 0; j < lc; j++) {
        acc += probs[sorted[j]!]!;
        if (acc >= target) {
          lc = j + 1;
          break;
        }
      }
    }
  }
  if (lb < NB) for (let j = 0; j < lc; j++) member[sorted[j]!] = 1;
  // Dropped tokens get probability 0 (probs is scratch), then one draw pass.
  let keptMass = 0;
  for (let i = 0; i < V; i++) {
    const b = bucketOf[i]!,
      q = probs[i]!;
    if (b > lb || (b === lb && member[i] !== 1) || q < minRatio) probs[i] = 0;
    else keptMass += q;
  }
  if (lb < NB) for (let j = 0; j < lc; j++) member[sorted[j]!] = 0;
  return keptMass;
}

/** Log-probability of `id` and the `top` most likely tokens under the model's raw logits (before sampling transforms). */
export function logprobsOf(logits: Float32Array, V: number, id: number, top: number, text: (id: number) => string): TokenLogprob {
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i]! > mx) mx = logits[i]!;
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(logits[i]! - mx);
  const lse = mx + Math.log(s);
  const best: number[] = [];
  if (top > 0) {
    // One pass keeping the `top` largest in a small sorted array (ties: lower id first).
    for (let i = 0; i < V; i++) {
      const v = logits[i]!;
      if (best.length === top && v <= logits[best[top - 1]!]!) continue;
      let j = best.length < top ? best.length : top - 1;
      best[j] = i;
      while (j > 0 && logits[best[j - 1]!]! < v) {
        best[j] = best[j - 1]!;
        best[j - 1] = i;
        j--;
      }
    }
  }
  return {
    id,
    text: text(id),
    logprob: logits[id]! - lse,
    top: best.map((t) => ({ id: t, text: text(t), logprob: logits[t]! - lse })),
  };
}
