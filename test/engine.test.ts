// The engine against the plain path: greedy tokens are identical alone, in a batch of 16 of different
// lengths, with chunked prefill, after a prefix-cache hit and after preemption; a batched step's logits
// equal single-sequence forwards; seeded sampling is reproducible whatever else runs; the allocator's
// counters return to zero after completion and after abort. Every case runs on the reference ops and
// on the native addon per ISA.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlmModel } from '../src/model/model.js';
import { PagedKvPool } from '../src/model/paged-cache.js';
import { DEFAULT_KV_CACHE_DTYPE } from '../src/model/cache-rows.js';
import { Engine } from '../src/engine/engine.js';
import { RequestError } from '../src/engine/types.js';
import { argmax } from '../src/model/sampling.js';
import { Rng } from '../src/tensor/random.js';
import { maxAbsDiff } from './helpers/golden.js';
import { tinyCheckpoint } from './helpers/tmp-model.js';
import { opsUnderTest } from './helpers/ops.js';

const dir = tinyCheckpoint({ seed: 11, overrides: { index_topk: 5, indexer_types: ['full', 'shared', 'full', 'shared'] } });
const prompt = (seed: number, n: number) => Array.from({ length: n }, (_, i) => 2 + new Rng(seed * 100 + i).int(290));

/** Greedy tokens through a contiguous cache of the engine's default element types (the engine's rows, exactly). */
function greedyPlain(model: GlmModel, ids: number[], n: number): number[] {
  const cache = model.newCache(undefined, DEFAULT_KV_CACHE_DTYPE);
  let r = model.forward(ids, cache, { logits: 'last' });
  const out: number[] = [];
  for (;;) {
    const t = argmax(r.logits, 0, model.cfg.vocabSize);
    out.push(t);
    if (out.length === n) return out;
    r = model.forward([t], cache, { logits: 'last' });
  }
}

const greedy = { temperature: 0, ignoreEos: true };
const kvGb = (model: GlmModel, blocks: number, B: number) => (blocks * PagedKvPool.bytesPerBlock(model.cfg, B, 0, DEFAULT_KV_CACHE_DTYPE)) / 1e9;

for (const ops of opsUnderTest()) {
  const model = GlmModel.load(dir, { ops });

  test(`batched step logits equal single-sequence forwards [${ops.name}]`, () => {
    const pool = new PagedKvPool(model.cfg, { numBlocks: 64, blockSize: 4 });
    const seqs = [prompt(1, 9), prompt(2, 3), prompt(3, 13)];
    // Prefill each alone (paged), then one step mixing: a decode token, a 4-token chunk and a decode token.
    let nextBlock = 63;
    const views = seqs.map((s) => {
      const v = pool.view();
      for (let b = 0; b < 8; b++) v.appendBlock(nextBlock--); // blocks out of position order on purpose
      model.forward(s, v, { logits: 'none' });
      return v;
    });
    const step = model.step([
      { tokens: [5], cache: views[0]!, logits: 'last' },
      { tokens: [6, 7, 8, 9], cache: views[1]!, logits: 'all' },
      { tokens: [10], cache: views[2]!, logits: 'last' },
    ]);
    const V = model.cfg.vocabSize;
    const expect = [
      model.forward([...seqs[0]!, 5], model.newCache()).logits.subarray(9 * V),
      model.forward([...seqs[1]!, 6, 7, 8, 9], model.newCache()).logits.subarray(3 * V),
      model.forward([...seqs[2]!, 10], model.newCache()).logits.subarray(13 * V),
    ];
    step.logitRows.forEach((lr, i) => {
      const got = step.logits.subarray(lr.first * V, (lr.first + lr.count) * V);
      const d = maxAbsDiff(got, expect[i]!);
      assert.ok(d < 1e-5, `sequence ${i}: max |Δlogit| ${d}`);
    });
  });

  test(`greedy tokens: alone = batch of 16 = chunked prefill = prefix hit = preemption [${ops.name}]`, async () => {
    const lens = Array.from({ length: 16 }, (_, i) => 3 + ((i * 7) % 19));
    const prompts = lens.map((n, i) => prompt(20 + i, n));
    const want = prompts.map((p) => greedyPlain(model, p, 8));

    const alone = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 256, 4) });
    for (let i = 0; i < 3; i++) assert.deepEqual([...(await alone.submit({ prompt: prompts[i]!, sampling: { ...greedy, maxTokens: 8 } }).result).ids], want[i]);

    const batch = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 256, 4), maxStepTokens: 48 });
    const res = await Promise.all(prompts.map((p) => batch.submit({ prompt: p, sampling: { ...greedy, maxTokens: 8 } }).result));
    res.forEach((r, i) => assert.deepEqual([...r.ids], want[i], `request ${i} in a batch of 16`));
    assert.ok(batch.stats().steps < 16 * 8, 'requests shared steps');

    // Prefix hit: the same prompts again reuse full blocks and still give the same tokens.
    const again = await Promise.all(prompts.slice(0, 4).map((p) => batch.submit({ prompt: p, sampling: { ...greedy, maxTokens: 8 } }).result));
    again.forEach((r, i) => {
      assert.deepEqual([...r.ids], want[i]);
      assert.equal(r.usage.cachedTokens, Math.floor((prompts[i]!.length - 1) / 4) * 4, 'cached tokens are the full blocks before the last token');
    });

    // A tiny budget forces preemption (and recompute) — same tokens, no deadlock.
    const tight = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 12, 4), maxStepTokens: 16, prefixCache: false });
    const res2 = await Promise.all(prompts.map((p) => tight.submit({ prompt: p, sampling: { ...greedy, maxTokens: 8 } }).result));
    res2.forEach((r, i) => assert.deepEqual([...r.ids], want[i], `request ${i} under preemption`));
    assert.ok(tight.stats().preemptions > 0, 'the tight budget preempted');
    for (const e of [alone, batch, tight]) {
      const s = e.stats();
      assert.equal(s.blocksUsed, 0);
      assert.equal(s.running + s.waiting, 0);
    }
  });

  test(`seeded sampling is reproducible whatever else is in the batch [${ops.name}]`, async () => {
    const sampling = { temperature: 0.9, topP: 0.9, topK: 50, seed: 1234, maxTokens: 10, ignoreEos: true };
    const e1 = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 128, 4) });
    const a = await e1.submit({ prompt: prompt(5, 7), sampling }).result;
    const e2 = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 128, 4) });
    const others = [1, 2, 3].map((i) => e2.submit({ prompt: prompt(40 + i, 5 + i), sampling: { temperature: 1, maxTokens: 12, ignoreEos: true } }).result);
    const b = await e2.submit({ prompt: prompt(5, 7), sampling }).result;
    await Promise.all(others);
    assert.deepEqual([...b.ids], [...a.ids]);
    const c = await e1.submit({ prompt: prompt(5, 7), sampling: { ...sampling, seed: 99 } }).result;
    assert.notDeepEqual([...c.ids], [...a.ids], 'another seed gives another sample');
  });
}

test('abort frees blocks at once and returns what was generated; resume continues the same greedy output', async () => {
  const model = GlmModel.load(dir, { ops: opsUnderTest()[0]! });
  const engine = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 64, 4) });
  const p = prompt(7, 10);
  const want = greedyPlain(model, p, 12);
  const s = engine.submit({ prompt: p, sampling: { ...greedy, maxTokens: 12 } });
  let seen = 0;
  for await (const ev of s) {
    if (ev.type === 'token' && ++seen === 5) s.abort();
  }
  const r = await s.result;
  assert.equal(r.finishReason, 'abort');
  assert.deepEqual([...r.ids], want.slice(0, 5));
  assert.equal(engine.stats().blocksUsed, 0);
  // Resume: prompt + generated so far, the rest of the budget.
  const rest = await engine.submit({ prompt: p, generated: r.ids, sampling: { ...greedy, maxTokens: 12 } }).result;
  assert.deepEqual([...r.ids, ...rest.ids], want);
  assert.equal(rest.usage.completionTokens, 7);
});

test('a request larger than the context or the whole cache fails with a clear error', () => {
  const model = GlmModel.load(dir, { ops: opsUnderTest()[0]! });
  const engine = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 4, 4) });
  assert.throws(
    () => engine.submit({ prompt: prompt(1, 40) }),
    (e: unknown) => e instanceof RequestError && e.code === 'context_length_exceeded' && /KV cache holds 16/.test(e.message),
  );
  assert.throws(() => engine.submit({ prompt: [] }), /empty/);
  assert.throws(() => engine.submit({ prompt: [1, 2, 100000] }), /outside the vocabulary/);
  assert.throws(() => engine.submit({ prompt: [1, 2], sampling: { topP: 0 } }), /top_p/);
});

test('stop token ids, max_tokens and the event stream', async () => {
  const model = GlmModel.load(dir, { ops: opsUnderTest()[0]! });
  const engine = new Engine(model, { blockSize: 4, kvCacheGb: kvGb(model, 64, 4) });
  const p = prompt(9, 6);
  const want = greedyPlain(model, p, 6);
  const r = await engine.submit({ prompt: p, sampling: { ...greedy, maxTokens: 20, stopTokenIds: [want[3]!] } }).result;
  assert.equal(r.finishReason, 'stop');
  assert.equal(r.stopReason, want[3]);
  assert.deepEqual([...r.ids], want.slice(0, want.indexOf(want[3]!) + 1));
  const events = [];
  for await (const ev of engine.submit({ prompt: p, sampling: { ...greedy, maxTokens: 3, logprobs: 2 } })) events.push(ev);
  assert.equal(events.length, 4);
  const done = events[3]!;
  assert.equal(done.type, 'done');
  if (done.type === 'done') {
    assert.equal(done.finishReason, 'length');
    assert.deepEqual(done.usage, { promptTokens: 6, cachedTokens: 4, completionTokens: 3 });
  }
  const first = events[0]!;
  assert.ok(first.type === 'token' && first.logprobs![0]!.top.length === 2 && first.logprobs![0]!.top[0]!.id === want[0]);
});

test('an announced request is waited for: requests arriving together start in one step', async () => {
  const model = GlmModel.load(dir, { ops: opsUnderTest()[0]! });
  // The wait is long here and the second request comes late, so neither outcome hangs on a loaded machine's timing:
  // announced, the first step waits the 200 ms for it; not announced, the first step runs at once, alone.
  const run = async (announce: boolean) => {
    const engine = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, arrivalWaitMs: 60_000 });
    const done = announce ? engine.announce() : () => {};
    const a = engine.submit({ prompt: prompt(7, 6), sampling: { ...greedy, maxTokens: 1 } }).result;
    // The second request is still on its way (a body being read) when the first is submitted.
    await new Promise((r) => setTimeout(r, 200));
    const b = engine.submit({ prompt: prompt(8, 6), sampling: { ...greedy, maxTokens: 1 } }).result;
    done();
    await Promise.all([a, b]);
    return engine.stats().steps;
  };
  assert.equal(await run(true), 1);
  assert.equal(await run(false), 2);
});
