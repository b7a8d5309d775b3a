// Memory told before loading: weight sizes from the config alone (checked against the real GLM-4.7-Flash
// inventory and against files on disk), cgroup limits, the default KV budget shrunk to fit, and glm5 serve
// refusing a model that cannot fit (GLM5_MEMORY_LIMIT_BYTES fakes a small machine) before reading a weight.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseConfig } from '../src/model/config.js';
import { flashConfig } from '../src/model/presets.js';
import { checkpointTensors } from '../src/model/tensor-names.js';
import { cacheBytesPerToken, decodeWeightBytes, weightBytes } from '../src/model/memory.js';
import { GlmModel } from '../src/model/model.js';
import { refOps } from '../src/kernels/ref/index.js';
import { decodeBytesPerToken } from '../bench/model-cost.js';
import { checkMemory, memoryLimit, planMemory, RUNTIME_BYTES } from '../src/cli/memory-check.js';
import { tinyCheckpoint, tinyFlashCheckpoint, tmpDir } from './helpers/tmp-model.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GB = 1e9;

test('weights from the config alone: the real GLM-4.7-Flash inventory (9,703 tensors, 31,221,488,576 parameters)', () => {
  const cfg = parseConfig({ ...flashConfig({ vocabSize: 154880, eosTokenIds: [154820], padTokenId: 154820 }, 47), num_nextn_predict_layers: 1 });
  assert.equal(checkpointTensors(cfg).length, 9703);
  const w = weightBytes(cfg);
  const biases = 47 * 64; // e_score_correction_bias stays F32: 2 extra bytes each
  assert.equal(w.main + w.mtp, 2 * 31_221_488_576 + 2 * biases);
  assert.ok(Math.abs(w.mtp / 2 - 1.28e9) < 0.01e9, `MTP layer ≈ 1.28 B parameters (${w.mtp / 2})`);
  const i8 = weightBytes(cfg, 'int8'),
    i4 = weightBytes(cfg, 'int4');
  assert.ok(i8.main < 0.58 * w.main && i4.main < 0.3 * w.main, `int8 ${i8.main / GB} GB, int4 ${i4.main / GB} GB`);
  // Cache: 47 layers × (512 + 64) elements per token (bf16 by default, f32 on request), nothing for an indexer.
  assert.equal(cacheBytesPerToken(cfg, 0), 47 * 576 * 2);
  assert.equal(cacheBytesPerToken(cfg, 0, 'f32'), 47 * 576 * 4);
});

test('weights from the config match the safetensors on disk (bf16, fp8, f32)', () => {
  for (const [dir, dtype] of [
    [tinyFlashCheckpoint({ dtype: 'bf16', overrides: { num_nextn_predict_layers: 1 } }), 'bf16'],
    [tinyCheckpoint({ dtype: 'fp8' }), 'fp8'],
    [tinyCheckpoint({ dtype: 'f32' }), 'f32'],
  ] as const) {
    const onDisk = readdirSync(dir)
      .filter((f) => f.endsWith('.safetensors'))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const w = weightBytes(loadConfig(dir));
    const total = w.main + w.mtp;
    assert.ok(total <= onDisk && onDisk - total < 64 * 1024, `${dtype}: config says ${total}, files hold ${onDisk} (headers only between)`);
  }
});

test('decode bytes per token from the config = what the loaded weights give (bench/model-cost.ts), ±norms', () => {
  // GLM-4.7-Flash shape (no indexer), and GLM-5 shape past index_topk (the indexer's query side is read too).
  const lite = GlmModel.load(tinyFlashCheckpoint({ dtype: 'bf16' }), { ops: refOps });
  const dsa = GlmModel.load(tinyCheckpoint({ dtype: 'bf16' }), { ops: refOps });
  const c = dsa.cfg,
    L = c.indexTopk + 1;
  const cacheRead = c.numLayers * (L * c.indexHeadDim + c.indexTopk * (c.kvLoraRank + c.qkRopeHeadDim)) * 4;
  for (const [model, fromWeights] of [
    [lite, decodeBytesPerToken(lite, 0)],
    [dsa, decodeBytesPerToken(dsa, L) - cacheRead],
  ] as const) {
    const fromConfig = decodeWeightBytes(model.cfg);
    // The config count adds the norm vectors and router biases, which model-cost leaves out.
    assert.ok(fromConfig >= fromWeights && fromConfig - fromWeights < 0.02 * fromWeights, `${fromConfig} vs ${fromWeights}`);
  }
});

test('available memory: cgroup v2 limit and usage, "max" = no limit, the env override', () => {
  const root = tmpDir('glm5-cg-');
  writeFileSync(join(root, 'memory.max'), '2000000000\n');
  writeFileSync(join(root, 'memory.current'), '500000000\n');
  const cg = memoryLimit({}, root);
  assert.equal(cg.limit, 2e9);
  assert.equal(cg.source, 'cgroup memory limit');
  assert.ok(cg.available <= 1.5e9);
  writeFileSync(join(root, 'memory.max'), 'max\n');
  assert.equal(memoryLimit({}, root).source, 'RAM');
  const v1 = tmpDir('glm5-cg1-');
  mkdirSync(join(v1, 'memory'));
  writeFileSync(join(v1, 'memory', 'memory.limit_in_bytes'), '1000000000');
  assert.equal(memoryLimit({}, v1).limit, 1e9);
  assert.deepEqual(memoryLimit({ GLM5_MEMORY_LIMIT_BYTES: '123456789' }, root), { available: 123456789, limit: 123456789, source: 'GLM5_MEMORY_LIMIT_BYTES' });
  assert.throws(() => memoryLimit({ GLM5_MEMORY_LIMIT_BYTES: 'lots' }), /must be a positive number of bytes/);
});

test('plan: the default KV budget shrinks to what the weights leave; a model that cannot fit is refused with the options', () => {
  const cfg = parseConfig({ ...flashConfig({ vocabSize: 154880, eosTokenIds: [1], padTokenId: 1 }, 47), num_nextn_predict_layers: 1 });
  const int4 = weightBytes(cfg, 'int4').main;
  // A 24 GB machine with 20 GB available: int4 fits, and the KV budget is what is left (≤ 8 GB, ≤ 30% of available).
  const mem = { available: 20 * GB, limit: 24 * GB, source: 'RAM' };
  const p = checkMemory(cfg, mem, { quantize: 'int4', drafting: false }, ['int8', 'int4']);
  assert.ok(p.total <= mem.available + 1);
  assert.equal(p.kvCache, Math.min(0.3 * mem.available, mem.available - int4 - RUNTIME_BYTES));
  assert.ok(p.kvTokens > 10_000);
  // bf16 does not: the message gives the need, what is available, and the quantisations that would fit.
  assert.throws(
    () => checkMemory(cfg, mem, { drafting: true }, ['int8', 'int4']),
    /needs about 6\d\.\d GB \(weights 6\d\.\d GB bf16.*only 20\.0 GB is available \(limit 24\.0 GB: RAM\)\. Options: --quantize int8: weights 3\d\.\d GB; --quantize int4: weights 1\d\.\d GB; --speculative 0 saves 2\.6 GB/,
  );
  // An explicit KV budget that does not fit is refused too.
  assert.throws(() => checkMemory(cfg, mem, { quantize: 'int4', kvCacheGb: 8, drafting: false }, ['int8', 'int4']), /a smaller --kv-cache-gb/);
  assert.equal(planMemory(cfg, mem, { quantize: 'int4', kvCacheGb: 8, drafting: false }).kvCache, 8 * GB);
});

test('glm5 serve refuses a model that cannot fit, before loading it; prints what it will take otherwise', () => {
  const dir = tinyFlashCheckpoint({ textFiles: true });
  const run = (args: string[], limit: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, GLM5_MEMORY_LIMIT_BYTES: limit },
      timeout: 60_000,
    });
  const refused = run(['serve', dir, '--port', '0'], '500000000');
  assert.equal(refused.status, 1);
  assert.match(
    refused.stderr,
    /^glm5 serve: the model needs about 1\.\d GB \(weights 0\.0 GB f32, KV cache ≥ 0\.1 GB, runtime 1\.0 GB\) but only 0\.5 GB is available \(limit 0\.5 GB: GLM5_MEMORY_LIMIT_BYTES\)/m,
  );
  assert.doesNotMatch(refused.stderr, /listening/);
  const told = run(['generate', dir, '--tokens', '1,2', '-n', '1'], '4000000000');
  assert.equal(told.status, 0, told.stderr);
  assert.match(
    told.stderr,
    /glm5 generate: memory: weights 0\.0 GB \(f32\) \+ KV cache 1\.0 GB \([\d,]+ tokens\) \+ runtime 1\.0 GB = 2\.0 GB; available 4\.0 GB/,
  );
});
