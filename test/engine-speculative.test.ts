// MTP speculative decoding: the MTP step batches like the main step; greedy output with speculation is
// token-for-token the output without, alone, in batches, after prefix-cache hits and under preemption;
// the acceptance rule keeps the target distribution (statistical test on a small vocabulary); GLM-4.7-Flash
// (glm4_moe_lite, no indexer) drafts with its MTP layer's own embedding and head.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlmModel } from '../src/model/model.js';
import { PagedKvPool } from '../src/model/paged-cache.js';
import { DEFAULT_KV_CACHE_DTYPE } from '../src/model/cache-rows.js';
import { mtpStep } from '../src/model/mtp.js';
import { Engine } from '../src/engine/engine.js';
import { verifyDraft } from '../src/engine/speculation.js';
import { SpeculationGate } from '../src/engine/speculation-gate.js';
import { Rng as SampleRng } from '../src/engine/sampler.js';
import { Rng } from '../src/tensor/random.js';
import { maxAbsDiff } from './helpers/golden.js';
import { tinyCheckpoint, tinyFlashCheckpoint, tmpDir } from './helpers/tmp-model.js';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { refOps } from '../src/kernels/ref/index.js';
import { opsUnderTest } from './helpers/ops.js';

const dir = tinyCheckpoint({ seed: 21, overrides: { index_topk: 5, num_nextn_predict_layers: 1 } });
const prompt = (seed: number, n: number) => Array.from({ length: n }, (_, i) => 2 + new Rng(seed * 31 + i).int(290));
const greedy = { temperature: 0, ignoreEos: true };

test('the acceptance rule keeps the target distribution', () => {
  const g = new SampleRng(9),
    rng = new SampleRng(4);
  for (let c = 0; c < 3; c++) {
    const norm = (a: number[]) => Float64Array.from(a, (x) => x / a.reduce((s, y) => s + y, 0));
    const p = norm(Array.from({ length: 6 }, () => g.next() ** 2)),
      q = norm(Array.from({ length: 6 }, () => g.next() ** 2));
    if (c === 2) q.fill(0).set([1], 0); // a one-hot draft (greedy draft model, sampled target)
    const counts = new Float64Array(6),
      N = 200000;
    let accepted = 0;
    for (let i = 0; i < N; i++) {
      let u = rng.next(),
        d = 0;
      while (d < 5 && (u -= q[d]!) >= 0) d++;
      const v = verifyDraft(p, q, d, rng);
      if (v.accepted) accepted++;
      counts[v.accepted ? d : v.token]!++;
    }
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(counts[i]! / N - p[i]!) < 0.006, `case ${c}, token ${i}: ${counts[i]! / N} vs ${p[i]}`);
    // The acceptance rate is Σ min(p, q).
    const want = Array.from(p).reduce((s, x, i) => s + Math.min(x, q[i]!), 0);
    assert.ok(Math.abs(accepted / N - want) < 0.006);
  }
});

for (const ops of opsUnderTest()) {
  const model = GlmModel.load(dir, { ops });
  const D = model.cfg.hiddenSize,
    V = model.cfg.vocabSize;

  test(`MTP step: batched and paged equals one sequence at a time, contiguous [${ops.name}]`, () => {
    const seqs = [prompt(1, 7), prompt(2, 4)];
    const hiddens = seqs.map((s) => model.forward(s, model.newCache(), { logits: 'none' }).hidden);
    const alone = seqs.map((s, i) =>
      mtpStep(model, [{ hidden: hiddens[i]!.subarray(0, (s.length - 1) * D), tokens: s.slice(1), cache: model.newMtpCache(), logits: 'all' }]),
    );
    const pool = new PagedKvPool(model.cfg, { numBlocks: 16, blockSize: 4, mtpLayers: 1 });
    const views = seqs.map((_, i) => {
      const v = pool.view();
      v.appendBlock(2 * i + 3);
      v.appendBlock(2 * i + 4);
      return v.sibling();
    });
    const both = mtpStep(
      model,
      seqs.map((s, i) => ({ hidden: hiddens[i]!.subarray(0, (s.length - 1) * D), tokens: s.slice(1), cache: views[i]!, logits: 'all' as const })),
    );
    seqs.forEach((s, i) => {
      const lr = both.logitRows[i]!;
      assert.equal(lr.count, s.length - 1);
      const d = maxAbsDiff(both.logits.subarray(lr.first * V, (lr.first + lr.count) * V), alone[i]!.logits);
      assert.ok(d < 1e-5, `sequence ${i}: ${d}`);
    });
  });

  test(`speculative greedy = plain greedy: alone, batched, prefix hits, preemption [${ops.name}]`, async () => {
    const prompts = Array.from({ length: 6 }, (_, i) => prompt(50 + i, 3 + ((i * 5) % 11)));
    const kv = (blocks: number) => (blocks * PagedKvPool.bytesPerBlock(model.cfg, 4, 1, DEFAULT_KV_CACHE_DTYPE)) / 1e9;
    const plain = new Engine(model, { blockSize: 4, kvCacheGb: kv(128), speculative: 0 });
    const want = await Promise.all(prompts.map((p) => plain.submit({ prompt: p, sampling: { ...greedy, maxTokens: 12 } }).result.then((r) => [...r.ids])));
    for (const k of [1, 3]) {
      const spec = new Engine(model, { blockSize: 4, kvCacheGb: kv(128), speculative: k, speculativeMaxBatch: 64, maxStepTokens: 24 });
      const alone = await spec.submit({ prompt: prompts[0]!, sampling: { ...greedy, maxTokens: 12 } }).result;
      assert.deepEqual([...alone.ids], want[0], `k=${k} alone`);
      const batch = await Promise.all(prompts.map((p) => spec.submit({ prompt: p, sampling: { ...greedy, maxTokens: 12 } }).result));
      batch.forEach((r, i) => assert.deepEqual([...r.ids], want[i], `k=${k} request ${i} in a batch`));
      // Prefix hits: the same prompts again adopt blocks that hold main and MTP rows.
      const hits = await Promise.all(prompts.map((p) => spec.submit({ prompt: p, sampling: { ...greedy, maxTokens: 12 } }).result));
      hits.forEach((r, i) => assert.deepEqual([...r.ids], want[i], `k=${k} request ${i} after a prefix hit`));
      assert.ok(hits.some((r) => r.usage.cachedTokens > 0));
      const st = spec.speculation();
      assert.ok(st.steps > 0 && st.drafted > 0, 'drafts were proposed and verified');
      assert.equal(spec.stats().blocksUsed, 0);
    }
    const tight = new Engine(model, { blockSize: 4, kvCacheGb: kv(10), speculative: 2, speculativeMaxBatch: 64, maxStepTokens: 12 });
    const res = await Promise.all(prompts.map((p) => tight.submit({ prompt: p, sampling: { ...greedy, maxTokens: 12 } }).result));
    res.forEach((r, i) => assert.deepEqual([...r.ids], want[i], `request ${i} under preemption`));
    assert.ok(tight.stats().preemptions > 0);
    assert.equal(tight.stats().blocksUsed, 0);
  });

  test(`drafts that get accepted (3 allowed tokens): greedy output unchanged, bonus tokens, rollback [${ops.name}]`, async () => {
    // A logit bias leaves 3 tokens, so the random MTP agrees with the target often and every path of the
    // acceptance code runs (partial acceptance, all accepted + bonus, rollback of the rest).
    const logitBias = new Map(Array.from({ length: V }, (_, t) => [t, t === 7 || t === 8 || t === 9 ? 0 : -1e4] as [number, number]));
    const sampling = { ...greedy, maxTokens: 16, logitBias };
    const plain = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 0 });
    const spec = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 3, speculativeMaxBatch: 64 });
    const prompts = Array.from({ length: 5 }, (_, i) => prompt(80 + i, 4 + i));
    const want = await Promise.all(prompts.map((p) => plain.submit({ prompt: p, sampling }).result));
    const got = await Promise.all(prompts.map((p) => spec.submit({ prompt: p, sampling }).result));
    got.forEach((r, i) => assert.deepEqual([...r.ids], [...want[i]!.ids], `request ${i}`));
    const st = spec.speculation();
    assert.ok(st.accepted > 0 && st.accepted < st.drafted, `accepted ${st.accepted} of ${st.drafted}`);
    assert.ok((st.acceptedAt[2] ?? 0) > 0, 'some steps accepted every draft (bonus token path)');
    // Sampled with drafts that get accepted: seeded runs repeat.
    const s2 = { temperature: 0.8, seed: 3, maxTokens: 16, ignoreEos: true, logitBias };
    const a = await spec.submit({ prompt: prompts[0]!, sampling: s2 }).result;
    const b = await spec.submit({ prompt: prompts[0]!, sampling: s2 }).result;
    assert.deepEqual([...a.ids], [...b.ids]);
    assert.ok(a.ids.every((t) => t >= 7 && t <= 9));
  });

  test(`drafts are proposed only while at most speculativeMaxBatch requests run [${ops.name}]`, async () => {
    const e = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 2, speculativeMaxBatch: 1 });
    // Two requests of the same length finish together: no step ever has a single running request.
    await Promise.all([1, 2].map((i) => e.submit({ prompt: prompt(60 + i, 5), sampling: { ...greedy, maxTokens: 8 } }).result));
    assert.equal(e.speculation().drafted, 0);
    await e.submit({ prompt: prompt(70, 5), sampling: { ...greedy, maxTokens: 8 } }).result;
    assert.ok(e.speculation().drafted > 0);
  });

  test(`speculative sampling: seeded runs repeat; stop and length limits hold with drafts [${ops.name}]`, async () => {
    const e = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 3 });
    const s = { temperature: 1, topP: 0.9, seed: 5, maxTokens: 10, ignoreEos: true };
    const a = await e.submit({ prompt: prompt(3, 6), sampling: s }).result;
    const b = await e.submit({ prompt: prompt(3, 6), sampling: s }).result;
    assert.deepEqual([...a.ids], [...b.ids]);
    assert.equal(a.ids.length, 10);
    const off = await e.submit({ prompt: prompt(3, 6), sampling: { ...greedy, maxTokens: 7 }, speculative: false }).result;
    const on = await e.submit({ prompt: prompt(3, 6), sampling: { ...greedy, maxTokens: 7 } }).result;
    assert.deepEqual([...on.ids], [...off.ids]);
    assert.equal(on.ids.length, 7);
  });

  test(`a gate turning drafting off and on: the MTP layer lags and catches up, greedy output unchanged [${ops.name}]`, async () => {
    // A scripted gate: drafting on for 3 decode steps, off for 4, and so on, at every batch size.
    let n = 0;
    const gate = { on: () => n % 7 < 3, observe: () => void n++, snapshot: () => ({}) };
    const prompts = Array.from({ length: 4 }, (_, i) => prompt(120 + i, 5 + 2 * i));
    const sampling = { ...greedy, maxTokens: 30 };
    const plain = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 0 });
    const want = await Promise.all(prompts.map((p) => plain.submit({ prompt: p, sampling }).result));
    const spec = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 3, speculationGate: gate });
    const got = await Promise.all(prompts.map((p) => spec.submit({ prompt: p, sampling }).result));
    got.forEach((r, i) => assert.deepEqual([...r.ids], [...want[i]!.ids], `request ${i}`));
    const alone = await spec.submit({ prompt: prompts[1]!, sampling }).result;
    assert.deepEqual([...alone.ids], [...want[1]!.ids]);
    const st = spec.speculation();
    assert.ok(st.drafted > 0 && st.lagRows > 0, `drafted ${st.drafted}, caught up on ${st.lagRows} skipped rows`);
    assert.equal(spec.stats().blocksUsed, 0);
  });
}

test('the speculation gate keeps the arm with fewer ms per token, and measures both again', () => {
  const gate = new SpeculationGate(true);
  const run = (steps: number, msOn: number, msOff: number) => {
    for (let i = 0; i < steps; i++) gate.observe(1, gate.on(1) ? msOn : msOff, 1);
  };
  assert.equal(gate.on(1), true, 'drafting is tried first');
  run(12, 3, 1); // on measured at 3 ms per token
  assert.equal(gate.on(1), false, 'then the other arm');
  run(14, 3, 1); // 2 settling steps, then 12 measured
  assert.deepEqual(gate.snapshot()['1'], { mode: 'off', on: 3, off: 1 });
  run(192, 3, 1); // exploiting off; then on is measured again
  assert.equal(gate.on(1), true);
  run(14, 0.5, 1); // drafting got cheaper (say, a longer context): it wins and stays
  assert.equal(gate.on(1), true);
  assert.equal(gate.snapshot()['1']!.on, 0.5);
  run(192, 0.5, 1); // exploited for 192 steps, then off is measured again (and loses again) …
  assert.equal(gate.on(1), false);
  run(14, 0.5, 1);
  assert.equal(gate.on(1), true);
  run(385, 0.5, 1); // … so on is kept twice as long: 384 steps (after 2 settling ones)
  assert.equal(gate.on(1), true);
  run(1, 0.5, 1);
  assert.equal(gate.on(1), false);
  // Batch sizes are measured apart; an unmeasured bucket starts with drafting on.
  assert.equal(gate.on(16), true);
  assert.equal(new SpeculationGate(false).on(1), true);
});

const flashDir = tinyFlashCheckpoint({ seed: 23, overrides: { num_nextn_predict_layers: 1 } });

test('an MTP layer the config does not announce is ignored, as HF does (re-saved lite configs drop num_nextn_predict_layers)', () => {
  const dir = tmpDir();
  for (const f of readdirSync(flashDir)) copyFileSync(join(flashDir, f), join(dir, f));
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  delete cfg.num_nextn_predict_layers;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  const model = GlmModel.load(dir, { ops: refOps });
  assert.equal(model.weights.mtp.length, 0);
  assert.equal(model.weights.layers.length, 4);
});

for (const ops of opsUnderTest()) {
  test(`glm4_moe_lite MTP drafter (own embed_tokens / shared_head.head): speculative greedy = plain greedy [${ops.name}]`, async () => {
    const model = GlmModel.load(flashDir, { ops });
    const w = model.weights.mtp[0]!;
    assert.ok(w.embed && w.head && w.embed !== model.weights.embed && w.head !== model.weights.lmHead, 'the MTP layer has its own embedding and head');
    assert.equal(w.layer.attn.indexer, null);
    // Logit bias: 3 allowed tokens, so the random drafter gets some drafts accepted and rollback runs too.
    const logitBias = new Map(Array.from({ length: model.cfg.vocabSize }, (_, t) => [t, t >= 7 && t <= 9 ? 0 : -1e4] as [number, number]));
    const prompts = Array.from({ length: 4 }, (_, i) => prompt(90 + i, 3 + 4 * i));
    for (const sampling of [
      { ...greedy, maxTokens: 12 },
      { ...greedy, maxTokens: 12, logitBias },
    ]) {
      const plain = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 0 });
      const spec = new Engine(model, { blockSize: 4, kvCacheGb: 0.01, speculative: 2, speculativeMaxBatch: 64 });
      const want = await Promise.all(prompts.map((p) => plain.submit({ prompt: p, sampling }).result));
      const got = await Promise.all(prompts.map((p) => spec.submit({ prompt: p, sampling }).result));
      got.forEach((r, i) => assert.deepEqual([...r.ids], [...want[i]!.ids], `request ${i}`));
      assert.ok(spec.speculation().drafted > 0);
      if (sampling.logitBias) assert.ok(spec.speculation().accepted > 0);
    }
  });
}
