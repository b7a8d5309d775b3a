// The prefill pacer: short prompts are not paced; long ones share one allowance per step, sized from the
// measured decode step and prefill cost.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrefillPacer } from '../src/engine/prefill-pacer.js';
import { parseConfig } from '../src/model/config.js';
import { presetConfig } from '../src/model/presets.js';

const cfg = parseConfig(presetConfig('small', { vocabSize: 1000, eosTokenIds: [1], padTokenId: 0 }));

function measured(): PrefillPacer {
  const p = new PrefillPacer(cfg, { itlRatio: 2, minChunk: 4, shortPrompt: 512 });
  p.observe(10, 0, 4); // a decode-only step of 4 streams: 10 ms
  p.observe(30, 100, 4); // 100 units of prefill beside them: 20 ms more → 0.2 ms per unit
  return p;
}

test('no decoders, or pacing off: prompts take the whole step budget', () => {
  assert.equal(measured().stepCaps(0)(5000, 0, 5000), Infinity);
  const off = new PrefillPacer(cfg, { itlRatio: 1, minChunk: 4, shortPrompt: 512 });
  assert.equal(off.stepCaps(4)(5000, 0, 5000), Infinity);
});

test('prompts up to the step budget are not paced', () => {
  const caps = measured().stepCaps(4);
  assert.equal(caps(512, 0, 512), Infinity);
  assert.equal(caps(200, 100, 100), Infinity);
});

test('long prompts share one allowance per step: (ratio − 1) decode steps of work', () => {
  const p = measured();
  const caps = p.stepCaps(4);
  // 10 ms ÷ 0.2 ms per unit = 50 units; at position 0 a token costs just over 1 unit.
  const a = caps(5000, 0, 5000);
  assert.equal(a, 50);
  // Spent: a second long prompt gets nothing this step (before, each got its own 50).
  assert.equal(caps(6000, 0, 6000), 0);
  // Late in a long prompt a token costs more units (the indexer and attention read every earlier key).
  const late = p.stepCaps(4)(200000, 150000, 50000);
  assert.ok(late >= 4 && late < 50, `chunk at 150K: ${late}`);
});

test('before anything is measured the first paced chunk still gets minChunk', () => {
  const p = new PrefillPacer(cfg, { itlRatio: 2, minChunk: 4, shortPrompt: 512 });
  const caps = p.stepCaps(3);
  assert.equal(caps(5000, 0, 5000), 4);
  assert.equal(caps(5000, 0, 5000), 0);
});
