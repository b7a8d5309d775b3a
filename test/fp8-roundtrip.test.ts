// glm5 init --dtype fp8 writes block-scaled e4m3 weights that dequantise within e4m3 precision of the
// same seed's f32 weights, and give logits close to the f32 model.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Checkpoint } from '../src/checkpoint/checkpoint.js';
import { GlmModel } from '../src/model/model.js';
import { refOps } from '../src/kernels/ref/index.js';
import { linearFromTensor } from '../src/checkpoint/linear.js';
import { dequantize, f32View } from '../src/tensor/weight.js';
import { tinyCheckpoint } from './helpers/tmp-model.js';

// hidden 64 < 128: use wider layers so several 128×128 blocks and partial edge blocks occur.
const overrides = { hidden_size: 192, intermediate_size: 320, q_lora_rank: 136 };
const f32Dir = tinyCheckpoint({ seed: 11, dtype: 'f32', overrides });
const fp8Dir = tinyCheckpoint({ seed: 11, dtype: 'fp8', overrides });

test('dequantised FP8 weights are within e4m3 precision of the f32 weights', () => {
  const a = Checkpoint.open(f32Dir),
    b = Checkpoint.open(fp8Dir);
  let checked = 0;
  for (const name of b.names()) {
    const t = b.get(name);
    if (t.dtype !== 'F8_E4M3') continue;
    const w = dequantize(linearFromTensor(t, b.get(name.replace(/weight$/, 'weight_scale_inv')), [128, 128]));
    const ref = f32View(a.get(name).bytes);
    const [rows, cols] = t.shape as [number, number];
    // Per block: |Δ| ≤ half an e4m3 step at the value's binade (3 mantissa bits → rel 2^-4), or the
    // subnormal step 2^-9 × scale for tiny values.
    const scales = f32View(b.get(name.replace(/weight$/, 'weight_scale_inv')).bytes);
    const gc = Math.ceil(cols / 128);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const s = scales[Math.floor(r / 128) * gc + Math.floor(c / 128)]!;
        const x = ref[r * cols + c]!;
        const bound = Math.max(Math.abs(x) * 2 ** -4, 2 ** -10 * s) * 1.0001;
        assert.ok(Math.abs(w[r * cols + c]! - x) <= bound, `${name}[${r},${c}]: ${w[r * cols + c]} vs ${x}`);
      }
    }
    checked++;
  }
  assert.ok(checked > 20, `checked ${checked} FP8 tensors`);
  // Edge blocks are partial: kv_a_proj has C+R = 40 rows, scale grid [1, 2] for 192 columns.
  assert.deepEqual(b.get('model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv').shape, [1, 2]);
  assert.equal(b.get('model.layers.1.mlp.gate.weight').dtype, 'BF16'); // the router is never FP8
});

test('FP8 model logits stay close to the f32 model', () => {
  const ids = [3, 17, 250, 9, 42, 42, 7, 100, 5, 61, 2, 288];
  const a = GlmModel.load(f32Dir, { ops: refOps });
  const b = GlmModel.load(fp8Dir, { ops: refOps });
  const la = a.forward(ids, a.newCache()).logits,
    lb = b.forward(ids, b.newCache()).logits;
  let maxD = 0,
    maxRef = 0;
  for (let i = 0; i < la.length; i++) {
    maxD = Math.max(maxD, Math.abs(la[i]! - lb[i]!));
    maxRef = Math.max(maxRef, Math.abs(la[i]!));
  }
  console.log(`  fp8 vs f32 logits: max |Δ| ${maxD.toExponential(2)} (max |logit| ${maxRef.toFixed(3)}, ratio ${(maxD / maxRef).toExponential(2)})`);
  // e4m3 keeps 3 mantissa bits (≈3.6% rms relative error per weight), which compounds through the
  // chained projections of a random model and flips a few routing choices: measured 0.15 relative.
  assert.ok(maxD / maxRef < 0.3, `relative logit error ${maxD / maxRef}`);
  // "Close" means far closer than an unrelated model with the same shapes.
  const c = GlmModel.load(tinyCheckpoint({ seed: 12, dtype: 'f32', overrides }), { ops: refOps });
  const lc = c.forward(ids, c.newCache()).logits;
  let maxOther = 0;
  for (let i = 0; i < la.length; i++) maxOther = Math.max(maxOther, Math.abs(la[i]! - lc[i]!));
  assert.ok(maxD < maxOther / 3, `fp8 error ${maxD} vs other-seed difference ${maxOther}`);
  assert.ok(maxD > 0, 'FP8 must differ from f32 (it is lossy)');
});
