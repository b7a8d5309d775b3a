// GLM-4.7-Flash (glm4_moe_lite: MLA + sigmoid MoE, no indexer) against the Hugging Face reference in
// ../shared/golden/glm47-flash-tiny: prefill (expanded and absorbed forms), the residual stream, and
// cached decode, with the MoE routing of each call's last token, for f32 and bf16 weights, on every ISA.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GlmModel } from '../src/model/model.js';
import { loadConfig } from '../src/model/config.js';
import { readJson, goldenTensors, maxAbsDiff, argmaxRows } from './helpers/golden.js';
import { opsUnderTest } from './helpers/ops.js';
import { requireShared } from './helpers/shared-data.js';

const { path: SET, skip } = requireShared('golden/glm47-flash-tiny');

type Routing = Record<string, { experts: number[]; weights: number[] }>;

/** Experts and weights of the last row from a 'routing' trace, checked against the reference per MoE layer. */
function routingTracer(K: number) {
  const got = new Map<number, { ids: Int32Array; weights: Float32Array }>();
  const trace = (name: string, layer: number, v: unknown) => {
    if (name === 'routing') got.set(layer, v as { ids: Int32Array; weights: Float32Array });
  };
  const check = (want: Routing, T: number, what: string) => {
    for (const [layer, exp] of Object.entries(want)) {
      const r = got.get(Number(layer));
      assert.ok(r, `${what}: no routing traced for layer ${layer}`);
      const pairs = Array.from(r.ids.subarray((T - 1) * K, T * K), (e, j) => [e, r.weights[(T - 1) * K + j]!] as const).sort((a, b) => a[0] - b[0]);
      assert.deepEqual(
        pairs.map((p) => p[0]),
        exp.experts,
        `${what} layer ${layer} experts`,
      );
      pairs.forEach((p, j) => assert.ok(Math.abs(p[1] - exp.weights[j]!) < 1e-6, `${what} layer ${layer} weight ${j}: ${p[1]} vs ${exp.weights[j]}`));
    }
  };
  return { trace, check };
}

test('glm47-flash config: lite defaults and layer rules from the published layout', { skip }, () => {
  const c = loadConfig(join(SET, 'model-f32'));
  assert.equal(c.architecture.modelType, 'glm4_moe_lite');
  assert.deepEqual(c.indexerTypes, ['none', 'none', 'none', 'none']);
  assert.deepEqual(c.mlpLayerTypes, ['dense', 'sparse', 'sparse', 'sparse']);
  assert.equal(c.ropeTheta, 1e6); // legacy top-level rope_theta
  assert.equal(c.ropeInterleave, true);
  assert.equal(c.routedScalingFactor, 1.8);
  assert.equal(c.nSharedExperts, 1);
  assert.equal(c.indexTopk, c.maxPositionEmbeddings); // top-k never drops a key
});

for (const ops of opsUnderTest()) {
  for (const v of ['f32', 'bf16'] as const) {
    test(`glm47-flash-tiny/${v} matches HF prefill + cached decode [${ops.name}]`, { skip }, () => {
      const model = GlmModel.load(join(SET, `model-${v}`), { ops });
      const g = readJson(join(SET, `golden-${v}.json`));
      const gt = goldenTensors(join(SET, `golden-${v}.safetensors`));
      const tol: number = g.recommended_tolerance?.logits_max_abs ?? 1e-5;
      const V = model.cfg.vocabSize,
        K = model.cfg.numExpertsPerTok;
      let worst = 0;
      (g.input_ids as number[][]).forEach((ids, i) => {
        const want = gt.get(`prefill.${i}.logits`)!.data;
        for (const attention of ['expanded', 'absorbed'] as const) {
          const r = routingTracer(K);
          const res = model.forward(ids, model.newCache(), { attention, trace: r.trace });
          const d = maxAbsDiff(res.logits, want);
          worst = Math.max(worst, d);
          assert.ok(d <= tol, `prefill seq ${i} (${attention}): max |Δlogit| ${d}`);
          assert.deepEqual(argmaxRows(res.logits, V), g.argmax_prefill[i]);
          r.check(g.routing_last_token[i], ids.length, `prefill seq ${i}`);
        }
      });

      // Cached run: prefill N tokens, then one token per call through the latent cache (absorbed form).
      const ids: number[] = g.decode.ids;
      const N: number = g.decode.prefill_len;
      const cache = model.newCache();
      const r0 = routingTracer(K);
      const pre = model.forward(ids.slice(0, N), cache, { trace: r0.trace });
      const dPre = maxAbsDiff(pre.logits, gt.get('decode.prefill_logits')!.data);
      assert.ok(dPre <= tol, `decode prefill: max |Δlogit| ${dPre}`);
      r0.check(g.decode_routing_last_token[0], N, 'decode prefill');
      const stepLogits = gt.get('decode.step_logits')!.data; // rows: positions N..
      for (let p = N; p < ids.length; p++) {
        const r = routingTracer(K);
        const out = model.forward([ids[p]!], cache, { trace: r.trace });
        const want = stepLogits.subarray((p - N) * V, (p - N + 1) * V);
        const d = maxAbsDiff(out.logits, want);
        worst = Math.max(worst, d);
        assert.ok(d <= tol, `decode step at position ${p}: max |Δlogit| ${d}`);
        assert.deepEqual(argmaxRows(out.logits, V), [g.argmax_decode[p - N + 1]]);
        r.check(g.decode_routing_last_token[p - N + 1], 1, `decode position ${p}`);
      }
      console.log(`  glm47-flash-tiny/${v} [${ops.name}] worst max|Δlogit| = ${worst.toExponential(2)}`);
    });
  }
}

test('glm47-flash-tiny residual stream matches HF layer by layer (sequence 2)', { skip }, () => {
  const model = GlmModel.load(join(SET, 'model-f32'), { ops: opsUnderTest()[0]! });
  const g = readJson(join(SET, 'golden-f32.json'));
  const gt = goldenTensors(join(SET, 'golden-f32.safetensors'));
  const got = new Map<string, Float32Array>();
  model.forward(g.input_ids[2], model.newCache(), {
    trace: (name, layer, v) => {
      if (name.startsWith('hidden.')) got.set(layer >= 0 ? `${name}${layer}` : name, Float32Array.from(v as Float32Array));
    },
  });
  assert.equal(maxAbsDiff(got.get('hidden.embed')!, gt.get('prefill.2.hidden.embed')!.data), 0);
  for (let l = 0; l < model.cfg.numLayers; l++) {
    const d = maxAbsDiff(got.get(`hidden.layer${l}`)!, gt.get(`prefill.2.hidden.layer${l}`)!.data);
    assert.ok(d < 1e-5, `layer ${l}: ${d}`);
  }
  assert.ok(maxAbsDiff(got.get('hidden.final_norm')!, gt.get('prefill.2.hidden.final_norm')!.data) < 1e-5);
});
