// Accuracy of load-time quantisation against the checkpoint's own weights: `--quantize int8`, `--quantize int4`
// and llama.cpp's Q4_0 rule (bench/q4_0.ts: the same 4.5-bit format, max/−8 scales; lm_head at int8 as int4
// keeps it) on
//   - the bundled model (models/glm5-nano): the held-out texts of `npm run eval` (eval/heldout.ts: prose windows
//     of 512 tokens, answer tokens of the held-out chats);
//   - the golden models of ../shared/golden (random weights; their reference input ids plus four seeded random
//     sequences of 64 tokens): bf16 checkpoints, and the fp8 one quantised from fp8.
// Per variant: perplexity and its change against the unquantised model, mean KL(p_orig ‖ p_quant) per position
// (nats) and top-1 agreement, over the same forward passes.
//
//   node --import tsx bench/quant-accuracy.ts [--json] [--quick (bundled prose only)]

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GlmModel, mapLinears } from '../src/model/model.js';
import { selectOps } from '../src/kernels/select.js';
import type { Ops } from '../src/kernels/interface.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { Rng } from '../src/tensor/random.js';
import { heldOut, logSumExp } from '../eval/heldout.js';
import { quantizeQ4_0 } from './q4_0.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLED = join(ROOT, 'models', 'glm5-nano');
const GOLDEN = process.env.GLM5_SHARED_DIR ? join(process.env.GLM5_SHARED_DIR, 'golden') : join(ROOT, '..', 'shared', 'golden');

export type Variant = 'int8' | 'int4' | 'q4_0';
export const VARIANTS: readonly Variant[] = ['int8', 'int4', 'q4_0'];

export interface Metrics {
  /** Perplexity of the variant over the scored positions. */
  readonly ppl: number;
  /** (ppl / ppl of the unquantised model − 1) · 100. */
  readonly pplChangePct: number;
  /** Mean KL(p_orig ‖ p_variant) per position, nats. */
  readonly kl: number;
  /** Fraction of positions whose argmax agrees with the unquantised model's. */
  readonly top1: number;
}

export interface SetResult {
  readonly positions: number;
  readonly basePpl: number;
  readonly variants: Record<Variant, Metrics>;
}

/** A sequence and the first row whose next-token prediction is scored. */
export interface Scored {
  readonly ids: readonly number[];
  readonly from: number;
}

/** The unquantised model and each variant over the same sequences. */
export function compare(base: GlmModel, variants: Record<Variant, GlmModel>, seqs: readonly Scored[]): SetResult {
  const V = base.cfg.vocabSize;
  const acc = Object.fromEntries(VARIANTS.map((v) => [v, { nll: 0, kl: 0, agree: 0 }])) as Record<Variant, { nll: number; kl: number; agree: number }>;
  let n = 0,
    baseNll = 0;
  const logits = (m: GlmModel, ids: readonly number[]) => m.forward(ids, m.newCache(ids.length), { logits: 'all' }).logits;
  for (const s of seqs) {
    const lb = logits(base, s.ids);
    const lv = VARIANTS.map((v) => logits(variants[v], s.ids));
    for (let t = Math.max(0, s.from); t + 1 < s.ids.length; t++) {
      const rb = lb.subarray(t * V, (t + 1) * V),
        zb = logSumExp(rb),
        next = s.ids[t + 1]!;
      baseNll += zb - rb[next]!;
      n++;
      const ab = argmax(rb);
      VARIANTS.forEach((v, i) => {
        const rv = lv[i]!.subarray(t * V, (t + 1) * V),
          zv = logSumExp(rv),
          a = acc[v];
        a.nll += zv - rv[next]!;
        let kl = 0;
        for (let j = 0; j < V; j++) {
          const lp = rb[j]! - zb;
          kl += Math.exp(lp) * (lp - (rv[j]! - zv));
        }
        a.kl += kl;
        if (argmax(rv) === ab) a.agree++;
      });
    }
  }
  const basePpl = Math.exp(baseNll / n);
  const out = {} as Record<Variant, Metrics>;
  for (const v of VARIANTS) {
    const ppl = Math.exp(acc[v].nll / n);
    out[v] = { ppl, pplChangePct: (ppl / basePpl - 1) * 100, kl: acc[v].kl / n, top1: acc[v].agree / n };
  }
  return { positions: n, basePpl, variants: out };
}

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

/** The checkpoint in its stored format and the three quantised variants (int8 / int4 through the real load path). */
export function loadVariants(dir: string, ops: Ops): { base: GlmModel; variants: Record<Variant, GlmModel> } {
  const base = GlmModel.load(dir, { ops });
  return {
    base,
    variants: {
      int8: GlmModel.load(dir, { ops, quantize: 'int8' }),
      int4: GlmModel.load(dir, { ops, quantize: 'int4' }),
      // lm_head at int8, as int4 keeps it (model.ts)
      q4_0: new GlmModel(
        base.cfg,
        mapLinears(base.weights, quantizeQ4_0, (w) => ops.quantize(w, 'int8')),
        ops,
      ),
    },
  };
}

/** The bundled model on its held-out texts: prose windows, and (unless prose only) chat answer tokens. */
export function bundledAccuracy(ops: Ops, proseOnly = false): { prose: SetResult; chats: SetResult | null } {
  const { base, variants } = loadVariants(BUNDLED, ops);
  const held = heldOut(Tokenizer.fromDir(BUNDLED));
  const prose = compare(
    base,
    variants,
    held.windows.map((ids) => ({ ids, from: 0 })),
  );
  return { prose, chats: proseOnly ? null : compare(base, variants, held.chats) };
}

/** Golden models: [name, model folder, golden json] that exist under ../shared/golden. */
function goldenSets(): [string, string, string][] {
  const sets: [string, string, string][] = [
    ['glm5-tiny (bf16)', 'glm5-tiny/model-bf16', 'glm5-tiny/golden-bf16.json'],
    ['glm52-shared-indexer (bf16)', 'glm52-shared-indexer/model-bf16', 'glm52-shared-indexer/golden-bf16.json'],
    ['glm47-flash-tiny (bf16)', 'glm47-flash-tiny/model-bf16', 'glm47-flash-tiny/golden-bf16.json'],
    ['glm5-tiny-fp8 (fp8)', 'glm5-tiny-fp8/model-fp8', 'glm5-tiny-fp8/golden-fp8.json'],
  ];
  return sets
    .filter(([, m, g]) => existsSync(join(GOLDEN, m, 'config.json')) && existsSync(join(GOLDEN, g)))
    .map(([n, m, g]) => [n, join(GOLDEN, m), join(GOLDEN, g)]);
}

function goldenSeqs(jsonPath: string, V: number): Scored[] {
  const j = JSON.parse(readFileSync(jsonPath, 'utf8')) as { sequences?: { input_ids: number[] }[]; input_ids?: number[] | number[][] };
  const ids: number[][] = j.sequences
    ? j.sequences.map((s) => s.input_ids)
    : Array.isArray(j.input_ids?.[0])
      ? (j.input_ids as number[][])
      : [j.input_ids as number[]];
  const r = new Rng(7);
  for (let i = 0; i < 4; i++) ids.push(Array.from({ length: 64 }, () => r.int(V)));
  return ids.map((s) => ({ ids: s, from: 0 }));
}

export function goldenAccuracy(ops: Ops): Record<string, SetResult | { error: string }> {
  const out: Record<string, SetResult | { error: string }> = {};
  for (const [name, dir, json] of goldenSets()) {
    try {
      const { base, variants } = loadVariants(dir, ops);
      out[name] = compare(base, variants, goldenSeqs(json, base.cfg.vocabSize));
    } catch (e) {
      out[name] = { error: (e as Error).message.split('\n')[0]! };
    }
  }
  return out;
}

export function formatSet(name: string, r: SetResult): string {
  const head = `${name}: ${r.positions} positions, unquantised perplexity ${r.basePpl.toFixed(3)}`;
  const rows = VARIANTS.map((v) => {
    const m = r.variants[v];
    return `  ${v.padEnd(5)} ppl ${m.ppl.toFixed(3)} (${m.pplChangePct >= 0 ? '+' : ''}${m.pplChangePct.toFixed(2)}%)  KL ${m.kl.toExponential(2)}  top-1 ${(m.top1 * 100).toFixed(1)}%`;
  });
  return [head, ...rows].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const json = process.argv.includes('--json'),
    quick = process.argv.includes('--quick');
  const ops = selectOps('auto');
  const bundled = bundledAccuracy(ops, quick);
  const golden = quick ? {} : goldenAccuracy(ops);
  if (json) console.log(JSON.stringify({ backend: ops.name, bundled, golden }));
  else {
    console.log(`backend ${ops.name}`);
    console.log(formatSet('bundled model, held-out prose', bundled.prose));
    if (bundled.chats) console.log(formatSet('bundled model, held-out chats (answer tokens)', bundled.chats));
    for (const [name, r] of Object.entries(golden)) console.log('error' in r ? `${name}: skipped (${r.error})` : formatSet(name, r));
  }
}
