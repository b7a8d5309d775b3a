// Speculative decoding benchmark: decode tokens/s with and without MTP drafts.
//  - default model (models/glm5-nano, trained MTP layer): real acceptance at batch 1 and 4 streams, k = 0..3,
//    on chat prompts (greedy), with acceptance per draft position;
//  - `small` preset with an MTP layer (random weights): the forced-acceptance hook sets the acceptance
//    rate, so the cost of drafting and verifying is known as a function of acceptance.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SPECULATIVE, Engine } from '../src/engine/engine.js';
import { loadEngine } from '../src/cli/load-engine.js';
import type { GlmModel } from '../src/model/model.js';
import { Rng } from '../src/tensor/random.js';
import { maxOf } from '../src/tensor/arrays.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
export const DEFAULT_MODEL = join(ROOT, 'models', 'glm5-nano');

export interface SpecRow {
  k: number;
  streams: number;
  tok_s: number;
  acceptance: number | null;
  accepted_per_step: number | null;
  accepted_at: number[];
}

async function decodeRate(engine: Engine, prompts: number[][], maxTokens: number): Promise<number> {
  const t0 = performance.now();
  let firstDone = 0;
  const counts = await Promise.all(
    prompts.map(async (p) => {
      let n = 0;
      for await (const ev of engine.submit({ prompt: p, sampling: { temperature: 0, maxTokens, ignoreEos: true } })) {
        if (ev.type === 'token' && ev.ids.length > 0 && ++n === 1) firstDone = Math.max(firstDone, performance.now());
      }
      return n;
    }),
  );
  const t1 = performance.now();
  // Decode only: tokens after each stream's first, over the time after the last first token.
  return ((counts.reduce((a, b) => a + b, 0) - prompts.length) * 1000) / Math.max(1, t1 - Math.max(firstDone, t0));
}

function row(engine: Engine, k: number, streams: number, tokS: number): SpecRow {
  const s = engine.speculation();
  return {
    k,
    streams,
    tok_s: tokS,
    acceptance: s.drafted ? s.accepted / s.drafted : null,
    accepted_per_step: s.steps ? (s.accepted + s.steps) / s.steps : null,
    accepted_at: s.draftedAt.map((d, j) => (s.acceptedAt[j] ?? 0) / d),
  };
}

/** Real acceptance on the bundled model (null when it is absent). */
export async function benchDefaultModel(log: (s: string) => void): Promise<SpecRow[] | null> {
  if (!existsSync(join(DEFAULT_MODEL, 'config.json'))) return null;
  const probe = loadEngine(DEFAULT_MODEL, { speculative: 0 });
  if (probe.model.weights.mtp.length === 0 || !probe.tokenizer || !probe.template) return null;
  const questions = QUESTIONS.slice(0, 8);
  const prompts = questions.map((q) => probe.template!.encodeChat({ messages: [{ role: 'user', content: q }], thinking: false }, probe.tokenizer!).ids);
  const out: SpecRow[] = [];
  for (const streams of [1, 4]) {
    for (const k of [0, 1, 2, 3]) {
      const e = new Engine(probe.model, { tokenizer: probe.tokenizer, speculative: k, speculativeMaxBatch: 64, kvCacheGb: 0.5, maxRunning: 16 });
      await decodeRate(e, prompts.slice(0, streams), 16); // warm-up
      const fresh = new Engine(probe.model, { tokenizer: probe.tokenizer, speculative: k, speculativeMaxBatch: 64, kvCacheGb: 0.5, maxRunning: 16 });
      const rates: number[] = [];
      for (let rep = 0; rep < 2; rep++) rates.push(await decodeRate(fresh, rep === 0 ? prompts.slice(0, streams) : prompts.slice(4, 4 + streams), 96));
      const r = row(fresh, k, streams, maxOf(rates));
      out.push(r);
      log(
        `default model, ${streams} stream(s), k=${k}: ${r.tok_s.toFixed(1)} tok/s${r.acceptance !== null ? `, acceptance ${(r.acceptance * 100).toFixed(1)}% (by position ${r.accepted_at.map((a) => (a * 100).toFixed(0) + '%').join(' / ')}), ${r.accepted_per_step!.toFixed(2)} tokens per verify step` : ''}`,
      );
    }
  }
  return out;
}

/**
 * The bundled model answering to EOS (greedy chat answers, one request at a time), the default draft length
 * (DEFAULT_SPECULATIVE, gated by measurement) against k = 0: the two engines take turns (in alternating order)
 * for `reps` rounds of every prompt and the medians are compared (a round takes ~0.2 s on this model: single rounds are noise).
 */
export async function benchDefaultVsPlain(log: (s: string) => void, reps = 15): Promise<{ k0_ms: number; default_ms: number; speedup: number } | null> {
  if (!existsSync(join(DEFAULT_MODEL, 'config.json'))) return null;
  const probe = loadEngine(DEFAULT_MODEL, { speculative: 0 });
  if (probe.model.weights.mtp.length === 0 || !probe.tokenizer || !probe.template) return null;
  const prompts = QUESTIONS.map((q) => probe.template!.encodeChat({ messages: [{ role: 'user', content: q }], thinking: false }, probe.tokenizer!).ids);
  const engines = [0, DEFAULT_SPECULATIVE].map((k) => new Engine(probe.model, { tokenizer: probe.tokenizer, speculative: k, kvCacheGb: 0.5, maxRunning: 16 }));
  const ms: number[][] = [[], []];
  for (let rep = 0; rep <= reps; rep++) {
    // Alternating order (A B, B A, …): whichever runs second in a round was measured up to 10% faster.
    for (const i of rep % 2 ? [1, 0] : [0, 1]) {
      const e = engines[i]!;
      const t0 = performance.now();
      for (const p of prompts) await e.submit({ prompt: p, sampling: { temperature: 0, maxTokens: 256 } }).result;
      if (rep > 0) ms[i]!.push(performance.now() - t0); // round 0 warms up
    }
  }
  const median = (xs: number[]) => Float64Array.from(xs).sort()[xs.length >> 1]!;
  const [k0, def] = ms.map(median) as [number, number];
  log(
    `default model answering ${prompts.length} chat prompts to EOS, one at a time, median of ${reps} rounds: k = 0 ${k0.toFixed(0)} ms, default k = ${DEFAULT_SPECULATIVE} ${def.toFixed(0)} ms → ${(k0 / def).toFixed(2)}×`,
  );
  return { k0_ms: k0, default_ms: def, speedup: k0 / def };
}

const QUESTIONS = [
  'What is a cat?',
  'What is the capital of France?',
  'Tell me a short story about a dog.',
  'What is a river?',
  'Explain what a bicycle is.',
  'Who wrote Pride and Prejudice?',
  'What is rain?',
  'Describe a forest.',
  'What is a house?',
  'What is a computer?',
];

/**
 * Speed as a function of (forced) acceptance on a random-weight model with an MTP layer: batch 1 at k = 1..3,
 * then 4 streams (drafting allowed at that batch) at k = 3, acceptance 0.5 and 0.8.
 */
export async function benchForcedAcceptance(
  model: GlmModel,
  log: (s: string) => void,
): Promise<{ k: number; streams: number; acceptance: number; tok_s: number; speedup: number }[]> {
  const V = model.cfg.vocabSize,
    r = new Rng(5);
  const prompts = Array.from({ length: 4 }, () => Array.from({ length: 128 }, () => 2 + r.int(V - 2)));
  const rate = async (k: number, acc?: number, streams = 1) => {
    const e = new Engine(model, { speculative: k, forceAcceptance: acc, kvCacheGb: 0.5, speculativeMaxBatch: streams });
    const ps = prompts.slice(0, streams);
    await decodeRate(e, ps, 8);
    return Math.max(await decodeRate(e, ps, 48), await decodeRate(e, ps, 48));
  };
  const base = await rate(0);
  log(`small+MTP, batch 1, no speculation: ${base.toFixed(1)} tok/s`);
  const out = [];
  for (const k of [1, 2, 3]) {
    for (const acc of [0, 0.5, 0.8, 1]) {
      const t = await rate(k, acc);
      out.push({ k, streams: 1, acceptance: acc, tok_s: t, speedup: t / base });
      log(`  k=${k}, forced acceptance ${acc}: ${t.toFixed(1)} tok/s = ${(t / base).toFixed(2)}×`);
    }
  }
  const base4 = await rate(0, undefined, 4);
  log(`small+MTP, 4 streams, no speculation: ${base4.toFixed(1)} tok/s`);
  for (const acc of [0.5, 0.8]) {
    const t = await rate(3, acc, 4);
    out.push({ k: 3, streams: 4, acceptance: acc, tok_s: t, speedup: t / base4 });
    log(`  4 streams, k=3, forced acceptance ${acc}: ${t.toFixed(1)} tok/s = ${(t / base4).toFixed(2)}×`);
  }
  return out;
}
