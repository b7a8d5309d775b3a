// The model against the Hugging Face reference logits in ../shared/golden (prefill and cached decode),
// including the indexer's top-k sets and the MoE routing, for f32 and bf16 checkpoints.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GlmModel } from '../src/model/model.js';
import { refOps } from '../src/kernels/ref/index.js';
import { readJson, goldenTensors, maxAbsDiff, argmaxRows } from './helpers/golden.js';
import { opsUnderTest } from './helpers/ops.js';
import { requireShared } from './helpers/shared-data.js';

const { path: GOLDEN, skip } = requireShared('golden');

const TOL = 1e-5;
const SETS = [
  { set: 'glm5-tiny', model: 'model', golden: 'golden' },
  { set: 'glm5-tiny', model: 'model-bf16', golden: 'golden-bf16' },
  { set: 'glm52-shared-indexer', model: 'model', golden: 'golden' },
  { set: 'glm52-shared-indexer', model: 'model-bf16', golden: 'golden-bf16' },
];

type Traced = { topk: Map<number, Int32Array>; routing: Map<number, { ids: Int32Array; weights: Float32Array }> };
function tracer(): [Traced, (name: string, layer: number, v: any) => void] {
  const tr: Traced = { topk: new Map(), routing: new Map() };
  return [
    tr,
    (name, layer, v) => {
      if (name === 'topk') tr.topk.set(layer, v);
      if (name === 'routing') tr.routing.set(layer, v);
    },
  ];
}

/** Visible selected keys of each row, sorted, from a trace (null selection = all causal keys). */
function visibleSets(sel: Int32Array, T: number, start: number): number[][] {
  const rows: number[][] = [];
  const k = sel.length / T;
  for (let t = 0; t < T; t++) {
    const lim = start + t + 1;
    rows.push(
      sel.length === 0
        ? Array.from({ length: lim }, (_, s) => s)
        : Array.from(sel.subarray(t * k, (t + 1) * k))
            .filter((s) => s >= 0 && s < lim)
            .sort((a, b) => a - b),
    );
  }
  return rows;
}

function checkRouting(tr: Traced, expected: Record<string, { experts: number[]; weights: number[] }>, T: number, K: number) {
  for (const [layer, exp] of Object.entries(expected)) {
    const r = tr.routing.get(Number(layer))!;
    const ids = Array.from(r.ids.subarray((T - 1) * K, T * K));
    const w = Array.from(r.weights.subarray((T - 1) * K, T * K));
    const order = ids.map((e, j) => [e, w[j]!] as const).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(
      order.map((o) => o[0]),
      exp.experts,
      `layer ${layer} experts`,
    );
    order.forEach((o, j) => assert.ok(Math.abs(o[1] - exp.weights[j]!) < 1e-6, `layer ${layer} weight ${j}: ${o[1]} vs ${exp.weights[j]}`));
  }
}

for (const ops of opsUnderTest()) {
  for (const s of SETS) {
    const dir = join(GOLDEN, s.set);
    test(`${s.set}/${s.model} matches HF prefill + decode [${ops.name}]`, { skip }, () => {
      const model = GlmModel.load(join(dir, s.model), { ops });
      const g = readJson(join(dir, `${s.golden}.json`));
      const gt = goldenTensors(join(dir, `${s.golden}.safetensors`));
      const V = model.cfg.vocabSize,
        K = model.cfg.numExpertsPerTok;
      let worst = 0;
      g.sequences.forEach((seq: any, i: number) => {
        const [tr, trace] = tracer();
        const ids: number[] = seq.input_ids;
        const res = model.forward(ids, model.newCache(), { trace, attention: 'expanded' });
        const want = gt.get(`prefill.${i}.logits`)!.data;
        const d = maxAbsDiff(res.logits, want);
        worst = Math.max(worst, d);
        assert.ok(d <= TOL, `prefill seq ${i}: max |Δlogit| ${d}`);
        assert.deepEqual(argmaxRows(res.logits, V), seq.argmax);
        for (const [layer, exp] of Object.entries(seq.topk_per_layer) as [string, any][]) {
          assert.deepEqual(visibleSets(tr.topk.get(Number(layer))!, ids.length, 0), exp.visible_selected, `seq ${i} layer ${layer} top-k`);
        }
        checkRouting(tr, seq.routing_last_token, ids.length, K);
      });

      // Cached decode: prefill N tokens, then one at a time (absorbed latent attention).
      const dec = g.decode;
      const cache = model.newCache();
      const ids: number[] = dec.input_ids;
      const N = dec.prefill_tokens;
      const steps = dec.steps as any[];
      const [tr0, trace0] = tracer();
      const pre = model.forward(ids.slice(0, N), cache, { trace: trace0 });
      const dPre = maxAbsDiff(pre.logits, gt.get('decode.prefill_logits')!.data);
      assert.ok(dPre <= TOL, `decode prefill: max |Δlogit| ${dPre}`);
      for (const [layer, exp] of Object.entries(steps[0].topk_per_layer) as [string, any][]) {
        assert.deepEqual(visibleSets(tr0.topk.get(Number(layer))!, N, 0), exp.visible_selected, `decode prefill layer ${layer} top-k`);
      }
      const stepLogits = gt.get('decode.step_logits')!.data;
      for (let p = N; p < ids.length; p++) {
        const [tr, trace] = tracer();
        const r = model.forward([ids[p]!], cache, { trace });
        const want = stepLogits.subarray((p - N) * V, (p - N + 1) * V);
        const d = maxAbsDiff(r.logits, want);
        worst = Math.max(worst, d);
        assert.ok(d <= TOL, `decode step at position ${p}: max |Δlogit| ${d}`);
        assert.deepEqual(argmaxRows(r.logits, V), argmaxRows(want, V));
        const st = steps[p - N + 1];
        for (const [layer, exp] of Object.entries(st.topk_per_layer) as [string, any][]) {
          assert.deepEqual(visibleSets(tr.topk.get(Number(layer))!, 1, p), exp.visible_selected, `decode pos ${p} layer ${layer} top-k`);
        }
        checkRouting(tr, st.routing_last_token, 1, K);
      }
      console.log(`  ${s.set}/${s.model} [${ops.name}] worst max|Δlogit| = ${worst.toExponential(2)}`);
    });
  }
}

test('residual stream matches HF layer by layer (glm5-tiny, sequence 2)', { skip }, () => {
  const dir = join(GOLDEN, 'glm5-tiny');
  const model = GlmModel.load(join(dir, 'model'), { ops: refOps });
  const g = readJson(join(dir, 'golden.json'));
  const gt = goldenTensors(join(dir, 'golden.safetensors'));
  const got = new Map<string, Float32Array>();
  model.forward(g.sequences[2].input_ids, model.newCache(), {
    trace: (name, layer, v) => {
      if (name.startsWith('hidden.')) got.set(layer >= 0 ? `${name}${layer}` : name, Float32Array.from(v as Float32Array));
    },
  });
  assert.ok(maxAbsDiff(got.get('hidden.embed')!, gt.get('prefill.2.hidden.embed')!.data) === 0);
  for (let l = 0; l < model.cfg.numLayers; l++) {
    const d = maxAbsDiff(got.get(`hidden.layer${l}`)!, gt.get(`prefill.2.hidden.layer${l}`)!.data);
    assert.ok(d < 1e-5, `layer ${l}: ${d}`);
  }
  assert.ok(maxAbsDiff(got.get('hidden.final_norm')!, gt.get('prefill.2.hidden.final_norm')!.data) < 1e-5);
});
