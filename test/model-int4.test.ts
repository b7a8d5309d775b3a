// `--quantize int4` end to end on the bundled model (models/glm5-nano, bf16): the loaded weights' formats, the
// int4 model's logits against the bf16 model's on held-out text, and the same int4 model through every op
// implementation (the TS reference and each native ISA) against each other.
//
// Bounds (measured on these 76 positions: mean KL 0.0075 nats, top-1 agreement 92-98%, every top-1 token at
// rank ≤ 1 in the other model): mean KL(p_bf16 ‖ p_int4) ≤ 0.03 nats, top-1 agreement ≥ 85%, and every
// position's top-1 token among the other model's top 3. Implementations of the int4 model (identical quantised
// bytes) agree on every position's top-1 and to 2e-2 of the largest |logit|: int4 products round their activations
// to 8 bits, so an f32 difference upstream can move one activation across a rounding boundary, which moves that
// token's row by about 0.5% (measured: scalar 5.0e-3 from one token, AVX2 5.7e-6).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlmModel } from '../src/model/model.js';
import { refOps } from '../src/kernels/ref/index.js';
import { nativeOps } from '../src/kernels/native.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { heldOut, logSumExp } from '../eval/heldout.js';
import { opsUnderTest } from './helpers/ops.js';
import { modelFlags } from '../src/cli/model-flags.js';
import { weightsFingerprint } from '../src/cli/load-engine.js';

const DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'models', 'glm5-nano');

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

function rankOf(row: Float32Array, id: number): number {
  let r = 0;
  for (let i = 0; i < row.length; i++) if (row[i]! > row[id]!) r++;
  return r;
}

describe('--quantize int4 flag', () => {
  it('is accepted by the one flag check, names its own weights fingerprint, and int5 is refused', () => {
    assert.deepEqual(modelFlags({ quantize: 'int4' }), { backend: 'auto', quantize: 'int4' });
    assert.deepEqual(modelFlags({ quantize: 'int8' }), { backend: 'auto', quantize: 'int8' });
    assert.throws(() => modelFlags({ quantize: 'int5' }), /--quantize must be int8 or int4, got 'int5'/);
    const fp = [undefined, 'int8', 'int4'].map((q) => weightsFingerprint(DIR, q));
    assert.equal(new Set(fp).size, 3);
  });
});

describe('int4 model (bundled glm5-nano)', () => {
  const tok = Tokenizer.fromDir(DIR);
  const held = heldOut(tok);
  const prompts = [held.windows[0]!.slice(0, 48), held.chats[0]!.ids.slice(0, 48)];
  const logits = (m: GlmModel, ids: number[]) => m.forward(ids, m.newCache(ids.length), { logits: 'all' }).logits;
  const ops = nativeOps() ?? refOps;
  const bf16 = GlmModel.load(DIR, { ops });
  const int4 = GlmModel.load(DIR, { ops, quantize: 'int4' });
  const V = bf16.cfg.vocabSize;

  it('quantises every projection and expert to int4, lm_head to int8, and leaves the embedding alone', () => {
    const l = int4.weights.layers[1]!;
    assert.equal(l.attn.qA.format, 'int4');
    assert.equal(l.attn.kvB.format, 'int4');
    assert.equal(l.attn.o.format, 'int4');
    assert.equal(l.attn.indexer?.wk.format, 'int4');
    assert.equal(int4.weights.layers[0]!.mlp.kind === 'dense' && int4.weights.layers[0]!.mlp.dense.down.format, 'int4');
    assert.ok(l.mlp.kind === 'moe' && l.mlp.moe.experts.every((e) => e.gate.format === 'int4' && e.down.format === 'int4'));
    assert.ok(l.mlp.kind === 'moe' && l.mlp.moe.router.format === 'bf16');
    assert.equal(int4.weights.lmHead.format, 'int8');
    assert.equal(int4.weights.embed.format, 'bf16');
  });

  it('logits stay close to the bf16 model: mean KL ≤ 0.03, top-1 agreement ≥ 85%, top-1 within the other top 3', () => {
    let kl = 0,
      agree = 0,
      n = 0;
    for (const ids of prompts) {
      const a = logits(bf16, ids),
        b = logits(int4, ids);
      for (let t = 0; t < ids.length; t++) {
        const ra = a.subarray(t * V, (t + 1) * V),
          rb = b.subarray(t * V, (t + 1) * V);
        const za = logSumExp(ra),
          zb = logSumExp(rb);
        for (let j = 0; j < V; j++) kl += Math.exp(ra[j]! - za) * (ra[j]! - za - (rb[j]! - zb));
        const ta = argmax(ra),
          tb = argmax(rb);
        if (ta === tb) agree++;
        assert.ok(rankOf(rb, ta) < 3 && rankOf(ra, tb) < 3, `position ${t}: top-1 ${ta} vs ${tb} too far apart`);
        n++;
      }
    }
    assert.ok(kl / n <= 0.03, `mean KL ${kl / n}`);
    assert.ok(agree / n >= 0.85, `top-1 agreement ${agree / n}`);
  });

  it('every op implementation gives the same int4 top-1 and logits within 2e-2 of the largest', () => {
    const ids = prompts[0]!.slice(0, 24);
    const want = logits(GlmModel.load(DIR, { ops: refOps, quantize: 'int4' }), ids);
    let mag = 0;
    for (const x of want) mag = Math.max(mag, Math.abs(x));
    for (const o of opsUnderTest()) {
      if (o.name === 'ref') continue;
      const got = logits(GlmModel.load(DIR, { ops: o, quantize: 'int4' }), ids);
      let d = 0;
      for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i]! - want[i]!));
      assert.ok(d <= 2e-2 * mag, `${o.name}: max |Δlogit| ${d} vs ${mag}`);
      for (let t = 0; t < ids.length; t++)
        assert.equal(argmax(got.subarray(t * V, (t + 1) * V)), argmax(want.subarray(t * V, (t + 1) * V)), `${o.name} position ${t}`);
    }
  });
});
