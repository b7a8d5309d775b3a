// The glm5 CLI as a user runs it (a real child process): init, generate, logits, and usage errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenTensors, readJson, maxAbsDiff } from './helpers/golden.js';
import { requireShared } from './helpers/shared-data.js';
import { tmpDir } from './helpers/tmp-model.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const glm5 = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
const glm5Fail = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });

test('init writes a complete HF folder; generate --json prints ids and speed', () => {
  const dir = join(tmpDir(), 'tiny');
  glm5('init', '--preset', 'tiny', '--seed', '5', '--dtype', 'bf16', dir);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'])
    assert.ok(existsSync(join(dir, f)), f);
  const out = JSON.parse(glm5('generate', dir, '--tokens', '1,2,3', '-n', '7', '--ignore-eos', '--temperature', '0', '--json'));
  assert.equal(out.ids.length, 7);
  assert.ok(out.ids.every((x: number) => Number.isInteger(x) && x >= 0));
  assert.ok(out.tokens_per_s > 0);
  // Deterministic: same seed, same ids, whichever backend.
  const again = JSON.parse(glm5('generate', dir, '--tokens', '1,2,3', '-n', '7', '--ignore-eos', '--temperature', '0', '--json', '--backend', 'ref'));
  assert.deepEqual(again.ids, out.ids);
});

test('generate --prompt: text in, text out through the chat template and tokenizer', () => {
  const dir = join(tmpDir(), 'tiny');
  glm5('init', '--preset', 'tiny', '--seed', '6', dir);
  const out = JSON.parse(glm5('generate', dir, '--prompt', 'Hello <|assistant|> there', '-n', '6', '--ignore-eos', '--json'));
  assert.equal(out.ids.length, 6);
  assert.equal(typeof out.text, 'string');
  assert.ok(out.text.length > 0);
  const raw = JSON.parse(glm5('generate', dir, '--prompt', 'Hello', '--raw', '-n', '3', '--ignore-eos', '--json'));
  assert.equal(raw.ids.length, 3);
});

const GOLDEN_TINY = requireShared('golden/glm5-tiny');

test('logits --prefill reproduces the golden cached decode', { skip: GOLDEN_TINY.skip }, () => {
  const dir = GOLDEN_TINY.path;
  const g = readJson(join(dir, 'golden.json'));
  const gt = goldenTensors(join(dir, 'golden.safetensors'));
  const ids: number[] = g.decode.input_ids;
  const out = JSON.parse(glm5('logits', join(dir, 'model'), '--tokens', ids.join(','), '--prefill', '9', '--json'));
  assert.equal(out.logits.length, 1 + ids.length - 9);
  const pre = gt.get('decode.prefill_logits')!.data;
  assert.ok(maxAbsDiff(out.logits[0], pre.subarray(8 * 512, 9 * 512)) <= 1e-5);
  assert.ok(maxAbsDiff(out.logits.slice(1).flat(), gt.get('decode.step_logits')!.data) <= 1e-5);
  const full = JSON.parse(glm5('logits', join(dir, 'model'), '--tokens', g.sequences[0].input_ids.join(','), '--json'));
  assert.ok(maxAbsDiff(full.logits.flat(), gt.get('prefill.0.logits')!.data) <= 1e-5);
});

test('usage errors are one clear line with exit code 2', () => {
  const r = glm5Fail('generate', '/nonexistent', '--tokens', '1,x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--tokens must be comma-separated non-negative integers/);
  const r2 = glm5Fail('logits', '/nonexistent', '--tokens', '1,2', '--json');
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /config\.json: not found/);
  const r3 = glm5Fail('frobnicate');
  assert.equal(r3.status, 2);
});
