// Pure pieces of the server: pricing (GLM-5.1's ×3 window in Beijing time), the demo tools, model-name aliases,
// the thinking switch, the SSE channel's backpressure and cancel, the key gate; and `glm5 chat` driven through
// a pipe, `--help` texts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRICING, cost, multiplierAt, priceFor } from '../src/server/pricing.js';
import { calculate, convertUnits, runDemoTool } from '../src/tools/demo-tools.js';
import { ModelNames } from '../src/server/models.js';
import { resolveThinking } from '../src/server/protocol/common.js';
import { SseChannel } from '../src/server/sse.js';
import { Gate, KeyStore } from '../src/server/auth.js';
import { openDb } from '../src/server/db.js';
import { glm5, tinyModelDir } from './server-helpers.js';

test('pricing: serving.md §8 defaults; GLM-5.1 ×3 from 14:00 to 18:00 Beijing time', () => {
  const g5 = priceFor(DEFAULT_PRICING, 'glm-5').price;
  const u = { promptTokens: 1_000_000, cachedTokens: 400_000, completionTokens: 500_000 };
  assert.ok(Math.abs(cost(g5, u, 1) - (0.6 * 1.0 + 0.4 * 0.2 + 0.5 * 3.2)) < 1e-12);
  assert.equal(priceFor(DEFAULT_PRICING, 'glm5-nano').name, 'glm-5', 'unknown served names take the default entry');
  const g51 = priceFor(DEFAULT_PRICING, 'glm-5.1').price;
  assert.equal(multiplierAt(g51, new Date('2026-12-01T05:59:59Z')), 1); // 13:59:59 in Beijing
  assert.equal(multiplierAt(g51, new Date('2026-12-01T06:00:00Z')), 3); // 14:00
  assert.equal(multiplierAt(g51, new Date('2026-12-01T09:59:00Z')), 3); // 17:59
  assert.equal(multiplierAt(g51, new Date('2026-12-01T10:00:00Z')), 1); // 18:00
  assert.equal(multiplierAt(g5, new Date('2026-12-01T07:00:00Z')), 1);
  assert.ok(Math.abs(cost(g51, u, 3) - 3 * (0.6 * 1.4 + 0.4 * 0.26 + 0.5 * 4.4)) < 1e-12);
});

test('demo tools compute real answers; bad input becomes an error result, never a throw', () => {
  assert.equal(calculate('12 * (3 + 4)'), 84);
  assert.equal(calculate('2^3^2'), 512);
  assert.equal(calculate('-3 + 10 % 4'), -1);
  assert.ok(Math.abs(convertUnits(5, 'mile', 'kilometer') - 8.04672) < 1e-9);
  assert.equal(convertUnits(100, 'celsius', 'fahrenheit'), 212);
  assert.equal(runDemoTool('calculator', { expression: '6 * 7' }), '{"result": 42}');
  assert.equal(runDemoTool('convert_units', { value: 3, from_unit: 'foot', to_unit: 'meter' }), '{"value": 0.9144, "unit": "meter"}');
  assert.equal(
    runDemoTool('get_current_time', { timezone: 'Asia/Tokyo' }, new Date('2026-12-01T06:30:00Z')),
    '{"timezone": "Asia/Tokyo", "time": "2026-12-01T15:30:00+09:00"}',
  );
  assert.equal(
    runDemoTool('get_current_time', { timezone: 'Asia/Kolkata' }, new Date('2026-12-01T06:30:00Z')),
    '{"timezone": "Asia/Kolkata", "time": "2026-12-01T12:00:00+05:30"}',
  );
  assert.match(runDemoTool('calculator', { expression: '2 +' }), /^\{"error": "cannot evaluate/);
  assert.match(runDemoTool('convert_units', { value: 1, from_unit: 'mile', to_unit: 'gram' }), /cannot convert length/);
  assert.match(runDemoTool('nope', {}), /unknown tool/);
});

test('model names: served names and alias patterns; the thinking switch from every knob', () => {
  const m = new ModelNames(['glm-5', 'glm5-nano'], ['claude-*']);
  assert.ok(m.accepts('glm-5') && m.accepts('claude-opus-4-1') && !m.accepts('gpt-4o') && !m.accepts('claude'));
  assert.equal(resolveThinking({}), undefined);
  assert.equal(resolveThinking({ type: 'disabled', enable: true }), false);
  assert.equal(resolveThinking({ type: 'adaptive' }), true);
  assert.equal(resolveThinking({ enable: false, effort: 'high' }), false);
  assert.equal(resolveThinking({ effort: 'none' }), false);
  assert.equal(resolveThinking({ effort: 'low' }), true);
});

test('SSE channel: send waits while the reader is behind; cancel fires once and unblocks', async () => {
  const ch = new SseChannel(2);
  let sent = 0;
  const writer = (async () => {
    for (let i = 0; i < 5; i++) {
      await ch.send([{ data: String(i) }]);
      sent++;
    }
  })();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(sent < 5, `backpressure: ${sent} sent before any read`);
  const reader = ch.body.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.equal(first, 'data: 0\n\n');
  let cancelled = 0;
  ch.onCancel(() => cancelled++);
  await reader.cancel();
  await writer; // unblocked by the cancel
  assert.equal(cancelled, 1);
  assert.ok(ch.isCancelled);
});

test('key gate: open without keys; hashed lookup; rpm window slides', () => {
  const db = openDb(':memory:');
  const keys = new KeyStore(db);
  let now = 0;
  const gate = new Gate(
    keys,
    () => 0,
    () => now,
  );
  assert.equal(gate.admit(new Headers()), null, 'open');
  const { secret } = keys.create('a', { rpm: 2 });
  assert.throws(() => gate.admit(new Headers()), /missing API key/);
  assert.throws(() => gate.admit(new Headers({ authorization: 'Bearer nope' })), /invalid API key/);
  gate.admit(new Headers({ authorization: `Bearer ${secret}` }));
  gate.admit(new Headers({ 'x-api-key': secret }));
  assert.throws(() => gate.admit(new Headers({ 'x-api-key': secret })), /try again in 60s/);
  now = 60_001;
  assert.equal(gate.admit(new Headers({ 'x-api-key': secret }))!.name, 'a');
});

test('glm5 chat: streams answers from a pipe, /thinking, /reset, /exit; --help texts', () => {
  const dir = tinyModelDir();
  const input = 'Hello\n/thinking off\nWhat is 2+2?\n/reset\n/exit\n';
  const r = glm5(['chat', dir, '--tools', 'demo', '--max-tokens', '6', '--temperature', '0'], {}, input);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(thinking off\)/);
  assert.match(r.stdout, /\(conversation cleared\)/);
  assert.match(r.stderr, /demo tools on, thinking on/);
  const h = glm5(['serve', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^glm5 serve \[DIR \| ORG\/NAME\][\s\S]*POST \/v1\/messages[\s\S]*--drain-timeout-s/);
  const top = glm5(['--help']);
  for (const cmd of ['serve', 'chat', 'keys', 'usage']) assert.match(top.stdout, new RegExp(`\\n  ${cmd} +\\S`), cmd);
});
