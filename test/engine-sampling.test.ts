// Sampling and stop strings as pure functions: the candidate search (ratio buckets) gives exactly the
// naive sort-everything result; penalties and bias follow their definitions; stop strings are found
// across every split of the text into pieces and trimmed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseToken, logprobsOf, processLogits, Rng } from '../src/engine/sampler.js';
import { StopStringMatcher } from '../src/engine/stop-strings.js';
import { resolveSampling, samplingDefaults } from '../src/engine/sampling-params.js';
import type { SamplingParams } from '../src/engine/types.js';
import { maxOf, minOf } from '../src/tensor/arrays.js';

const base = samplingDefaults({});

/** The textbook pipeline: sort everything, top-k, renormalise, top-p, min-p; the draw walks the kept ids in order. */
function naive(x: Float32Array, p: SamplingParams, rng: Rng): number {
  const V = x.length,
    mx = maxOf(x);
  const q = Array.from(x, (v) => Math.exp((v - mx) / p.temperature));
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => q[b]! - q[a]! || a - b);
  if (p.topK > 0) order = order.slice(0, p.topK);
  if (p.topP < 1) {
    const kt = order.reduce((s, i) => s + q[i]!, 0);
    let acc = 0,
      keep = order.length;
    for (let j = 0; j < order.length; j++) {
      acc += q[order[j]!]!;
      if (acc >= p.topP * kt) {
        keep = j + 1;
        break;
      }
    }
    order = order.slice(0, keep);
  }
  if (p.minP > 0) order = order.filter((i) => q[i]! >= p.minP);
  order.sort((a, b) => a - b);
  const kept = order.reduce((s, i) => s + q[i]!, 0);
  let u = rng.next() * kept;
  for (const i of order) if ((u -= q[i]!) < 0) return i;
  return order[order.length - 1]!;
}

test('top-k / top-p / min-p sampling equals the naive full sort, draw for draw', () => {
  const g = new Rng(5);
  for (let c = 0; c < 300; c++) {
    const V = 50 + (c % 7) * 300;
    const spread = [0.5, 3, 12][c % 3]!;
    const x = Float32Array.from({ length: V }, () => (g.next() - 0.5) * spread + (g.next() < 0.01 ? 8 : 0));
    const p = resolveSampling(base, {
      temperature: [0.3, 0.7, 1, 1.8][c % 4],
      topK: [0, 1, 5, 40, 2000][c % 5],
      topP: [1, 0.95, 0.5, 0.1][(c >> 2) % 4],
      minP: [0, 0.05, 0.3][(c >> 3) % 3],
    });
    if (p.topK === 1) continue; // greedy shortcut
    const a = chooseToken(x, p, new Rng(c)),
      b = naive(x, p, new Rng(c));
    assert.equal(a, b, `case ${c}: V ${V} ${JSON.stringify({ t: p.temperature, k: p.topK, p: p.topP, m: p.minP })}`);
  }
});

test('temperature 0 is argmax; a seeded generator repeats; the distribution follows the probabilities', () => {
  const x = Float32Array.from([0.1, 2.5, 2.5, -1]);
  assert.equal(chooseToken(x, resolveSampling(base, { temperature: 0 }), new Rng(1)), 1);
  const y = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  const p = resolveSampling(base, { temperature: 1 });
  const rng = new Rng(42),
    counts = [0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[chooseToken(y, p, rng)]!++;
  [0.5, 0.3, 0.2].forEach((want, i) => assert.ok(Math.abs(counts[i]! / 20000 - want) < 0.015, `token ${i}: ${counts[i]! / 20000}`));
  const draws = (seed: number) => Array.from({ length: 5 }, (_, _i, r = new Rng(seed)) => r.nextU32());
  assert.deepEqual(draws(7), draws(7));
});

test('logit bias, repetition, presence and frequency penalties', () => {
  const logits = Float32Array.from([1, -1, 2, 0.5]);
  const p = resolveSampling(base, { logitBias: new Map([[3, 10]]), repetitionPenalty: 2, presencePenalty: 0.5, frequencyPenalty: 0.25 });
  const x = processLogits(logits, 4, p, { outputCounts: new Map([[2, 2]]), seen: new Set([0, 1, 2]) });
  assert.deepEqual(Array.from(x), [0.5, -2, 2 / 2 - 0.5 - 0.5, 10.5]);
  assert.deepEqual(Array.from(logits), [1, -1, 2, 0.5], 'input untouched');
});

test('logprobs: log-softmax of the raw logits and the top alternatives in order', () => {
  const l = Float32Array.from([0, Math.log(3), Math.log(2), Math.log(4)]);
  const r = logprobsOf(l, 4, 2, 3, (i) => `t${i}`);
  assert.ok(Math.abs(r.logprob - Math.log(2 / 10)) < 1e-6);
  assert.deepEqual(
    r.top.map((t) => t.id),
    [3, 1, 2],
  );
  assert.ok(Math.abs(r.top[0]!.logprob - Math.log(0.4)) < 1e-6);
});

test('stop strings are found across every split of the text and trimmed', () => {
  const text = 'Hello wörld, the END is near. 🙂 STOP here';
  for (const stops of [['END'], ['near. 🙂'], ['STOP', 'the E'], ['zzz']]) {
    const first = minOf(stops.map((s) => (text.indexOf(s) < 0 ? Infinity : text.indexOf(s))));
    const want = first === Infinity ? text : text.slice(0, first);
    for (let cut1 = 0; cut1 < text.length; cut1 += 3) {
      for (let cut2 = cut1; cut2 <= text.length; cut2 += 5) {
        const m = new StopStringMatcher(stops);
        let out = '',
          stopped: string | undefined;
        for (const piece of [text.slice(0, cut1), text.slice(cut1, cut2), text.slice(cut2)]) {
          const r = m.push(piece);
          out += r.text;
          if (r.stopped) {
            stopped = r.stopped;
            break;
          }
        }
        if (!stopped) out += m.flush();
        assert.equal(out, want, `${JSON.stringify(stops)} split at ${cut1}/${cut2}`);
        assert.equal(stopped !== undefined, first !== Infinity);
      }
    }
  }
});

test('generation_config.json gives the defaults; requests override them; bad values are refused', () => {
  const d = samplingDefaults({ temperature: 0.6, top_p: 0.95, top_k: 20 });
  assert.equal(d.temperature, 0.6);
  assert.equal(resolveSampling(d, { temperature: 0 }).temperature, 0);
  assert.equal(resolveSampling(d, {}).topP, 0.95);
  assert.equal(samplingDefaults({ do_sample: false, temperature: 0.6 }).temperature, 0);
  assert.throws(() => resolveSampling(d, { temperature: -1 }), /temperature/);
  assert.throws(() => resolveSampling(d, { maxTokens: 0 }), /max_tokens/);
  assert.throws(() => resolveSampling(d, { logprobs: 21 }), /logprobs/);
});
