// Prefill interference: 4 streams decode on the `long` preset; a 32K-token prompt arrives. The p90 inter-token
// latency of the streams while it prefills, over the same without it (`prefill_interference_itl_ratio`, goal
// ≤ 2), with the engine's prefill pacing on (the default) and off (`prefillItlRatio: 0`, chunks take the whole
// step budget), and how fast the long prompt prefills meanwhile.

import { Engine } from '../src/engine/engine.js';
import type { GlmModel } from '../src/model/model.js';
import { Rng } from '../src/tensor/random.js';

const STREAMS = 4;
const LONG = 32768;
const WINDOW_MS = 8000;

export interface InterferenceResult {
  readonly itl_p90_ms_alone: number;
  readonly itl_p90_ms_during_prefill: number;
  readonly prefill_interference_itl_ratio: number;
  /** Prompt tokens of the long request computed per second during the window. */
  readonly long_prefill_tok_s_during: number;
}

const ids = (n: number, V: number, seed: number): number[] => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => 2 + r.int(V - 2));
};

function p90(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.9 * s.length))] ?? NaN;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

async function run(model: GlmModel, pacing: boolean): Promise<InterferenceResult> {
  const V = model.cfg.vocabSize;
  const engine = new Engine(model, { kvCacheGb: 1, maxRunning: 8, prefixCache: false, prefillItlRatio: pacing ? 2 : 0 });
  const times: number[][] = Array.from({ length: STREAMS }, () => []);
  const streams = Array.from({ length: STREAMS }, (_, i) =>
    engine.submit({ prompt: ids(64, V, i), sampling: { temperature: 0, ignoreEos: true, maxTokens: 1_000_000 } }),
  );
  const readers = streams.map(async (s, i) => {
    for await (const ev of s) if (ev.type === 'token' && ev.ids.length) times[i]!.push(performance.now());
  });
  const gaps = (from: number, to: number): number[] => {
    const out: number[] = [];
    for (const t of times) for (let j = 1; j < t.length; j++) if (t[j - 1]! >= from && t[j]! <= to) out.push(t[j]! - t[j - 1]!);
    return out;
  };
  await sleep(1500); // warm-up: every stream decoding
  const a0 = performance.now();
  await sleep(WINDOW_MS);
  const alone = p90(gaps(a0, performance.now()));
  const before = engine.stats().prefillTokens;
  const long = engine.submit({ prompt: ids(LONG, V, 99), sampling: { temperature: 0, maxTokens: 1 } });
  const b0 = performance.now();
  await sleep(WINDOW_MS);
  const b1 = performance.now();
  const during = p90(gaps(b0, b1));
  const prefilled = engine.stats().prefillTokens - before;
  long.abort();
  for (const s of streams) s.abort();
  await Promise.all(readers);
  await engine.close();
  return {
    itl_p90_ms_alone: alone,
    itl_p90_ms_during_prefill: during,
    prefill_interference_itl_ratio: during / alone,
    long_prefill_tok_s_during: prefilled / ((b1 - b0) / 1000),
  };
}

export async function benchPrefillInterference(model: GlmModel, log: (s: string) => void): Promise<{ paced: InterferenceResult; unpaced: InterferenceResult }> {
  const paced = await run(model, true);
  log(
    `prefill interference (${STREAMS} streams, a ${LONG}-token prompt arrives; pacing on): p90 ITL ${paced.itl_p90_ms_alone.toFixed(1)} → ${paced.itl_p90_ms_during_prefill.toFixed(1)} ms (${paced.prefill_interference_itl_ratio.toFixed(2)}×), long prompt at ${paced.long_prefill_tok_s_during.toFixed(0)} tok/s`,
  );
  const unpaced = await run(model, false);
  log(
    `  pacing off: p90 ITL ${unpaced.itl_p90_ms_alone.toFixed(1)} → ${unpaced.itl_p90_ms_during_prefill.toFixed(1)} ms (${unpaced.prefill_interference_itl_ratio.toFixed(2)}×), long prompt at ${unpaced.long_prefill_tok_s_during.toFixed(0)} tok/s`,
  );
  return { paced, unpaced };
}
