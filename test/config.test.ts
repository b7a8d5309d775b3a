// config.json parsing: derived sizes, indexer schedules, defaults for absent keys, clear errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { deriveIndexerTypes, parseConfig, loadConfig } from '../src/model/config.js';
import { presetConfig } from '../src/model/presets.js';
import { requireShared } from './helpers/shared-data.js';

const { path: GOLDEN, skip } = requireShared('golden');

const base = () => presetConfig('tiny', { vocabSize: 300, eosTokenIds: [1], padTokenId: 0 });

test('GLM-5.2 schedule: freq 4, offset 3 → full layers 0,1,2,6,…,74', () => {
  const t = deriveIndexerTypes(78, { freq: 4, offset: 3 });
  const full = t.flatMap((x, i) => (x === 'full' ? [i] : []));
  assert.deepEqual(full, [0, 1, 2, ...Array.from({ length: 18 }, (_, k) => 6 + 4 * k)]);
  assert.equal(full.length, 21);
  assert.ok(deriveIndexerTypes(78, {}).every((x) => x === 'full'));
  assert.deepEqual(deriveIndexerTypes(4, { pattern: 'FSFS' }), ['full', 'shared', 'full', 'shared']);
  assert.throws(() => deriveIndexerTypes(4, { pattern: 'FSX' }), /index_topk_pattern/);
});

test('golden configs: shared-indexer sources and mlp types', { skip }, () => {
  const c = loadConfig(join(GOLDEN, 'glm52-shared-indexer', 'model'));
  assert.deepEqual(c.indexerTypes, ['full', 'full', 'shared', 'full', 'shared', 'full']);
  assert.deepEqual(c.indexerSource, [0, 1, 1, 3, 3, 5]);
  assert.deepEqual(c.mlpLayerTypes, ['dense', 'dense', 'sparse', 'sparse', 'sparse', 'sparse']);
  assert.equal(c.qkHeadDim, 24);
  assert.equal(c.softmaxScale, 24 ** -0.5);
  // Derivation from freq/offset agrees with the explicit list.
  assert.deepEqual(deriveIndexerTypes(6, { freq: 2, offset: 2 }), c.indexerTypes);
  const fp8 = loadConfig(join(GOLDEN, 'glm5-tiny-fp8', 'model-fp8'));
  assert.deepEqual(fp8.fp8BlockSize, [128, 128]);
  assert.equal(fp8.padTokenId, null);
  assert.deepEqual(fp8.eosTokenIds, [1]);
});

test('absent keys take the spec defaults; head_dim is ignored', () => {
  const raw: Record<string, unknown> = base();
  for (const k of ['rope_interleave', 'indexer_rope_interleave', 'scoring_func', 'topk_method', 'indexer_types', 'mlp_layer_types', 'n_group', 'topk_group'])
    delete raw[k];
  raw.first_k_dense_replace = 2;
  raw.head_dim = 999;
  raw.layer_types = ['x'];
  raw.mlp_bias = false;
  const c = parseConfig(raw);
  assert.equal(c.ropeInterleave, true);
  assert.equal(c.indexerRopeInterleave, true);
  assert.deepEqual(c.mlpLayerTypes, ['dense', 'dense', 'sparse', 'sparse']);
  assert.deepEqual(c.indexerTypes, ['full', 'full', 'full', 'full']);
  assert.equal(c.nGroup, 1);
  assert.equal(c.qkHeadDim, 24);
  assert.equal(c.latentNormEps, 1e-6);
});

test('math-changing values we do not implement are load errors, not guesses', () => {
  assert.throws(() => parseConfig({ ...base(), scoring_func: 'softmax' }), /scoring_func 'softmax' is not supported/);
  assert.throws(() => parseConfig({ ...base(), rope_parameters: { rope_theta: 1e6, rope_type: 'yarn' } }), /rope_type 'yarn'/);
  assert.throws(() => parseConfig({ ...base(), model_type: 'llama' }), /model_type 'llama'/);
  assert.throws(() => parseConfig({ ...base(), hidden_size: -1 }), /^ConfigError: config\.json: hidden_size/);
  assert.throws(() => parseConfig({ ...base(), indexer_types: ['shared', 'full', 'full', 'full'] }), /no full indexer layer precedes/);
  assert.throws(() => parseConfig({ ...base(), quantization_config: { quant_method: 'gptq' } }), /quant_method 'gptq'/);
});

test('eos may be an int or a list; rope_theta from rope_parameters', () => {
  const c = parseConfig({ ...base(), eos_token_id: 7, rope_parameters: { rope_theta: 8e6, rope_type: 'default' } });
  assert.deepEqual(c.eosTokenIds, [7]);
  assert.equal(c.ropeTheta, 8e6);
});

// glm4_moe_lite (GLM-4.7-Flash): the registry's adapter (spec glm47-flash.md §1, §6).
const lite = () => {
  const raw: Record<string, unknown> = { ...base(), model_type: 'glm4_moe_lite', architectures: ['Glm4MoeLiteForCausalLM'] };
  for (const k of Object.keys(raw)) if (k.startsWith('index')) delete raw[k];
  return raw;
};

test('glm4_moe_lite: no indexer on any layer, class defaults for absent keys, HF lite layer rule', () => {
  const raw = lite();
  for (const k of ['routed_scaling_factor', 'n_shared_experts', 'rope_parameters', 'rope_interleave', 'mlp_layer_types', 'scoring_func']) delete raw[k];
  raw.first_k_dense_replace = 3; // not a Glm4MoeLiteConfig field: HF makes layer 0 the only dense one
  const c = parseConfig(raw);
  assert.equal(c.architecture.modelType, 'glm4_moe_lite');
  assert.deepEqual(c.indexerTypes, ['none', 'none', 'none', 'none']);
  assert.equal(c.mtpIndexerType, 'none');
  assert.deepEqual(c.indexerSource, [0, 1, 2, 3]);
  assert.deepEqual(c.mlpLayerTypes, ['dense', 'sparse', 'sparse', 'sparse']);
  assert.equal(c.routedScalingFactor, 1.8);
  assert.equal(c.nSharedExperts, 1);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.ropeInterleave, true);
  assert.equal(c.indexNHeads, 0);
  assert.equal(c.indexTopk, c.maxPositionEmbeddings);
});

test('glm4_moe_lite: both config layouts (legacy top level, transformers ≥ 5 rope_parameters)', () => {
  const legacy = parseConfig({ ...lite(), rope_parameters: undefined, rope_theta: 1e6, partial_rotary_factor: 1.0, rope_scaling: null });
  assert.equal(legacy.ropeTheta, 1e6);
  const resaved = parseConfig({
    ...lite(),
    rope_parameters: { rope_theta: 1e6, rope_type: 'default', partial_rotary_factor: 1.0 },
    head_dim: 64,
    pretraining_tp: 1,
  });
  assert.equal(resaved.ropeTheta, 1e6);
  // HF hard-codes sigmoid + noaux_tc for lite: scoring_func / topk_method are not fields of its config.
  assert.equal(parseConfig({ ...lite(), scoring_func: 'softmax', topk_method: 'greedy' }).architecture.modelType, 'glm4_moe_lite');
  assert.throws(() => parseConfig({ ...lite(), partial_rotary_factor: 0.5 }), /partial_rotary_factor 0\.5 is not supported/);
  assert.throws(() => parseConfig({ ...lite(), rope_parameters: { rope_theta: 1e6, partial_rotary_factor: 0.5 } }), /partial_rotary_factor/);
  assert.throws(() => parseConfig({ ...lite(), q_lora_rank: null }), /q_lora_rank: null/);
});

test('glm_moe_dsa still requires its indexer fields; unknown model types name the supported ones', () => {
  const raw = base();
  delete raw.index_topk;
  assert.throws(() => parseConfig(raw), /index_topk: required for glm_moe_dsa/);
  assert.throws(() => parseConfig({ ...base(), model_type: 'deepseek_v32' }), /expected one of glm_moe_dsa, glm4_moe_lite/);
});
