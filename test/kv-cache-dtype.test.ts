// Compact caches (--kv-cache-dtype): the logit deviation of bf16 / fp8 caches from the f32 cache on the golden
// sets (prefill, then cached decode, as model-golden.test.ts), and greedy tokens on the bundled model's fixed
// prompts (eval/prompts.ts chats, and the first 320 tokens of each held-out prose text, which run the sparse
// indexer: index_topk is 128). Deviations are printed for the README; the asserted bounds are loose guards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GlmModel } from '../src/model/model.js';
import { selectOps } from '../src/kernels/select.js';
import type { KvCacheDtype } from '../src/model/cache-rows.js';
import { ChatTemplate } from '../src/text/chat-template.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { FIXED_PROMPTS } from '../eval/prompts.js';
import { readJson, maxAbsDiff } from './helpers/golden.js';
import { requireShared } from './helpers/shared-data.js';

const ops = selectOps('auto');
const { path: GOLDEN, skip } = requireShared('golden');
const NANO = join(import.meta.dirname, '..', 'models', 'glm5-nano');

/** Logits of every prefill row, then of each decode step, through a cache of `dtype`. */
function run(model: GlmModel, ids: number[], prefill: number, dtype: KvCacheDtype, forceDense: boolean): Float32Array[] {
  const cache = model.newCache(ids.length, dtype);
  const out = [model.forward(ids.slice(0, prefill), cache, { forceDense }).logits];
  for (let p = prefill; p < ids.length; p++) out.push(model.forward([ids[p]!], cache, { forceDense }).logits);
  return out;
}

const SETS = ['glm5-tiny/model', 'glm5-tiny/model-bf16', 'glm52-shared-indexer/model', 'glm52-shared-indexer/model-bf16'];

// The rounding of the cached rows moves a typical row's logits by ~0.2% of the largest logit (the median row
// is asserted under 1%). Discrete choices can flip on a near-tie and move a row as far as any other choice
// would: a top-k set (index_topk 6 of ≤ 23 keys on these random models; spec §9, a legitimate divergence) or
// an expert of the MoE router. Dense attention (forceDense) leaves only the router's flips.
test(`golden sets: bf16 / fp8 caches stay close to the f32 cache [${ops.name}]`, { skip }, () => {
  for (const set of SETS) {
    const model = GlmModel.load(join(GOLDEN, set), { ops });
    const g = readJson(join(GOLDEN, set.split('/')[0]!, set.endsWith('bf16') ? 'golden-bf16.json' : 'golden.json'));
    const seqs: { ids: number[]; prefill: number }[] = g.sequences.map((s: { input_ids: number[] }) => ({ ids: s.input_ids, prefill: s.input_ids.length }));
    seqs.push({ ids: g.decode.input_ids, prefill: g.decode.prefill_tokens });
    const worst: Record<string, number> = {},
      rows: Record<string, number[]> = {};
    let mag = 0;
    for (const forceDense of [true, false]) {
      for (const s of seqs) {
        const ref = run(model, s.ids, s.prefill, 'f32', forceDense);
        for (const r of ref) for (const v of r) mag = Math.max(mag, Math.abs(v));
        for (const dtype of ['bf16', 'fp8'] as const) {
          const key = `${dtype} ${forceDense ? 'dense' : 'DSA'}`;
          run(model, s.ids, s.prefill, dtype, forceDense).forEach((l, i) => {
            const V = model.cfg.vocabSize;
            for (let r = 0; r < l.length / V; r++) (rows[key] ??= []).push(maxAbsDiff(l.subarray(r * V, (r + 1) * V), ref[i]!.subarray(r * V, (r + 1) * V)));
            worst[key] = Math.max(worst[key] ?? 0, maxAbsDiff(l, ref[i]!));
          });
        }
      }
    }
    const median = (xs: number[]) => Float64Array.from(xs).sort()[xs.length >> 1]!;
    console.log(
      `  ${set}: |Δlogit| vs the f32 cache, max / median row (max |logit| ${mag.toFixed(2)}): ` +
        Object.keys(worst)
          .map((k) => `${k} ${worst[k]!.toExponential(2)} / ${median(rows[k]!).toExponential(2)}`)
          .join(', '),
    );
    for (const k of Object.keys(rows)) assert.ok(median(rows[k]!) < 0.01 * mag, `${set} ${k}: median row |Δlogit| ${median(rows[k]!)}`);
  }
});

test(`bundled model: greedy tokens with bf16 / fp8 caches vs the f32 cache on fixed prompts [${ops.name}]`, () => {
  const model = GlmModel.load(NANO, { ops });
  const tok = Tokenizer.fromDir(NANO),
    tpl = ChatTemplate.fromDir(NANO);
  const prompts = FIXED_PROMPTS.map(
    (p) => tpl.encodeChat({ messages: [{ role: 'user', content: p.prompt }], thinking: p.thinking, addGenerationPrompt: true }, tok).ids,
  );
  const prose = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'eval', 'heldout_texts.json'), 'utf8')) as { prose: { text: string }[] };
  for (const p of prose.prose) prompts.push(tok.encode(p.text, { special: false }).slice(0, 320));
  const greedy = (ids: number[], dtype: KvCacheDtype, n: number): number[] => {
    const cache = model.newCache(ids.length + n, dtype);
    let r = model.forward(ids, cache, { logits: 'last' });
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      let b = 0;
      for (let v = 1; v < r.logits.length; v++) if (r.logits[v]! > r.logits[b]!) b = v;
      out.push(b);
      if (i + 1 < n) r = model.forward([b], cache, { logits: 'last' });
    }
    return out;
  };
  const N = 48;
  const diverged: Record<string, number[]> = { bf16: [], fp8: [] };
  let tokens = 0;
  for (const ids of prompts) {
    const want = greedy(ids, 'f32', N);
    tokens += N;
    for (const dtype of ['bf16', 'fp8'] as const) {
      const got = greedy(ids, dtype, N);
      const first = got.findIndex((t, i) => t !== want[i]);
      if (first >= 0) diverged[dtype]!.push(first);
    }
  }
  console.log(
    `  ${prompts.length} prompts x ${N} greedy tokens (${tokens}): prompts whose tokens differ from the f32 cache's: ` +
      `bf16 ${diverged.bf16!.length} (first difference at ${diverged.bf16!.join(', ') || '-'}), fp8 ${diverged.fp8!.length} (at ${diverged.fp8!.join(', ') || '-'})`,
  );
  assert.deepEqual(diverged.bf16, [], "bf16 cache: greedy tokens equal the f32 cache's");
  assert.ok(diverged.fp8!.length <= Math.ceil(prompts.length / 4), `fp8 keys changed ${diverged.fp8!.length} of ${prompts.length} prompts`);
});
