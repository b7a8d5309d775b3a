// The expanded and absorbed MLA forms are the same math; cached decode equals a full forward;
// DSA with context ≤ index_topk equals dense attention. Random weights, contexts beyond index_topk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlmModel } from '../src/model/model.js';
import { refOps } from '../src/kernels/ref/index.js';
import { Rng } from '../src/tensor/random.js';
import { maxAbsDiff } from './helpers/golden.js';
import { tinyCheckpoint } from './helpers/tmp-model.js';
import { opsUnderTest } from './helpers/ops.js';

const dir = tinyCheckpoint({ seed: 7, overrides: { index_topk: 5, indexer_types: ['full', 'shared', 'full', 'shared'] } });
const ids = Array.from({ length: 21 }, (_, i) => new Rng(3 + i).int(300));

for (const ops of opsUnderTest()) {
  const model = GlmModel.load(dir, { ops });

  test(`expanded and absorbed prefill agree beyond index_topk [${ops.name}]`, () => {
    const a = model.forward(ids, model.newCache(), { attention: 'expanded' });
    const b = model.forward(ids, model.newCache(), { attention: 'absorbed' });
    const d = maxAbsDiff(a.logits, b.logits);
    assert.ok(d < 2e-5, `max |Δ| ${d}`);
  });

  test(`cached decode (absorbed) reproduces the full forward at every position [${ops.name}]`, () => {
    const full = model.forward(ids, model.newCache(), { attention: 'expanded' });
    const cache = model.newCache();
    const V = model.cfg.vocabSize;
    const pre = model.forward(ids.slice(0, 3), cache);
    assert.ok(maxAbsDiff(pre.logits, full.logits.subarray(0, 3 * V)) < 2e-5);
    for (let p = 3; p < ids.length; p++) {
      const r = model.forward([ids[p]!], cache);
      const d = maxAbsDiff(r.logits, full.logits.subarray(p * V, (p + 1) * V));
      assert.ok(d < 2e-5, `position ${p}: ${d}`);
    }
    assert.equal(cache.length, ids.length);
  });

  test(`chunked prefill through the cache equals one prefill [${ops.name}]`, () => {
    const full = model.forward(ids, model.newCache());
    const cache = model.newCache();
    const V = model.cfg.vocabSize;
    const a = model.forward(ids.slice(0, 8), cache);
    const b = model.forward(ids.slice(8, 15), cache);
    const c = model.forward(ids.slice(15), cache);
    const joined = new Float32Array([...a.logits, ...b.logits, ...c.logits]);
    assert.ok(maxAbsDiff(joined, full.logits) < 2e-5);
    assert.equal(joined.length, ids.length * V);
  });

  test(`sparse selection matters beyond index_topk and is exact below it [${ops.name}]`, () => {
    const sparse = model.forward(ids, model.newCache());
    const dense = model.forward(ids, model.newCache(), { forceDense: true });
    const V = model.cfg.vocabSize;
    // Rows that see ≤ index_topk keys are identical; later rows differ.
    assert.ok(maxAbsDiff(sparse.logits.subarray(0, 5 * V), dense.logits.subarray(0, 5 * V)) < 1e-6);
    assert.ok(maxAbsDiff(sparse.logits.subarray(10 * V), dense.logits.subarray(10 * V)) > 1e-4);
  });

  test(`truncate rolls the cache back exactly [${ops.name}]`, () => {
    const cache = model.newCache();
    model.forward(ids.slice(0, 10), cache);
    const ref = model.forward(ids.slice(10, 12), cache).logits;
    cache.truncate(10);
    const again = model.forward(ids.slice(10, 12), cache).logits;
    assert.equal(maxAbsDiff(ref, again), 0);
  });
}

test('ref model rejects out-of-range token ids', () => {
  const model = GlmModel.load(dir, { ops: refOps });
  assert.throws(() => model.forward([300], model.newCache()), /out of range/);
});
