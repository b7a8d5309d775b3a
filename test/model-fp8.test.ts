// The block-scaled FP8 checkpoint (e4m3 + weight_scale_inv) against HF logits of its dequantised
// weights, and the f32 twin against its own logits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GlmModel } from '../src/model/model.js';
import { readJson, maxAbsDiff, argmaxRows } from './helpers/golden.js';
import { opsUnderTest } from './helpers/ops.js';
import { requireShared } from './helpers/shared-data.js';

const TOL = 1e-4; // ../shared/golden/README.md, glm5-tiny-fp8 section
const { path: dir, skip } = requireShared('golden/glm5-tiny-fp8');

for (const ops of opsUnderTest()) {
  for (const [model, golden] of [
    ['model-fp8', 'golden-fp8'],
    ['model-f32', 'golden-f32'],
  ] as const) {
    test(`glm5-tiny-fp8/${model} matches HF prefill + decode [${ops.name}]`, { skip }, () => {
      const m = GlmModel.load(join(dir, model), { ops });
      if (model === 'model-fp8') assert.equal(m.weights.layers[0]!.attn.qA.format, 'fp8');
      const g = readJson(join(dir, `${golden}.json`));
      const V = m.cfg.vocabSize;
      let worst = 0;
      g.input_ids.forEach((ids: number[], s: number) => {
        const r = m.forward(ids, m.newCache());
        const want = (g.prefill_logits[s] as number[][]).flat();
        const d = maxAbsDiff(r.logits, want);
        worst = Math.max(worst, d);
        assert.ok(d <= TOL, `prefill seq ${s}: ${d}`);
        assert.deepEqual(argmaxRows(r.logits, V), argmaxRows(want, V));
      });
      const { prefill_len: N, ids, step_logits } = g.decode;
      const cache = m.newCache();
      let r = m.forward(ids.slice(0, N), cache, { logits: 'last' });
      for (let i = 0; i < step_logits.length; i++) {
        if (i > 0) r = m.forward([ids[N - 1 + i]], cache);
        const d = maxAbsDiff(r.logits, step_logits[i]);
        worst = Math.max(worst, d);
        assert.ok(d <= TOL, `decode step ${i}: ${d}`);
        assert.deepEqual(argmaxRows(r.logits, V), argmaxRows(step_logits[i], V));
      }
      console.log(`  glm5-tiny-fp8/${model} [${ops.name}] worst max|Δlogit| = ${worst.toExponential(2)}`);
    });
  }
}
