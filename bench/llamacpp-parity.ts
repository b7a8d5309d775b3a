// Correctness of `glm5 export-gguf` where it matters: the exported GGUF, run by llama.cpp (node-llama-cpp, CPU),
// must give the logits our reference model gives for the same checkpoint. Opt-in (needs `npm run bench:setup`),
// not part of `npm test`.
//
//   node --import tsx bench/llamacpp-parity.ts [DIR] [--tokens N] [--threads N] [--json]
//
// Without DIR it builds the parity model: the `tiny` preset (bf16, seed 0) with index_head_dim raised from 16
// to 64, because llama.cpp's glm-dsa aborts on an indexer key width that is not a power of two ≥ 64
// (src/gguf/glm-dsa.ts, llamaCppIncompatibility). Every other tiny shape is kept, including expert groups
// (4 groups, top-2) and index_topk 16. With ≤ index_topk tokens DSA selects every key (dense attention), so
// both sides compute the same function; beyond it both run their indexer and a near-tie can pick a different
// key set, which is reported separately. Each comparison is done for a BF16 GGUF and an F32 GGUF of the same
// (bf16) weights: the F32 file keeps every weight exact in llama.cpp and so isolates its activation rounding.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GlmModel } from '../src/model/model.js';
import { refOps } from '../src/kernels/ref/index.js';
import { presetConfig } from '../src/model/presets.js';
import { writeSyntheticCheckpoint } from '../src/model/synthetic.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { exportGguf } from '../src/gguf/export.js';
import type { GgufDType } from '../src/gguf/glm-dsa.js';
import { llamaCppLogits, loadNodeLlamaCpp } from './llamacpp.js';

export interface ParityRow {
  readonly gguf: GgufDType;
  /** llama.cpp KV cache element type (its default is F16). */
  readonly kv_cache: 'F16' | 'F32';
  readonly tokens: number;
  readonly dense: boolean;
  readonly max_abs_diff: number;
  readonly mean_abs_diff: number;
  readonly max_abs_logit: number;
  readonly argmax_agree: number;
}

/** The tiny preset with index_head_dim 64, written to `dir`. */
export function writeParityModel(dir: string): void {
  const vocab = writePresetTextFiles(dir);
  writeSyntheticCheckpoint(dir, { ...presetConfig('tiny', vocab), index_head_dim: 64 }, { seed: 0, dtype: 'bf16' });
}

function compare(ours: Float32Array, theirs: Float32Array[], V: number): Omit<ParityRow, 'gguf' | 'kv_cache' | 'tokens' | 'dense'> {
  let maxDiff = 0,
    sumDiff = 0,
    maxLogit = 0,
    agree = 0;
  theirs.forEach((row, t) => {
    let a = 0,
      b = 0;
    for (let v = 0; v < V; v++) {
      const x = ours[t * V + v]!,
        y = row[v]!;
      if (!Number.isFinite(y)) throw new Error(`llama.cpp logit [${t}, ${v}] is ${y}`);
      const d = Math.abs(x - y);
      maxDiff = Math.max(maxDiff, d);
      sumDiff += d;
      maxLogit = Math.max(maxLogit, Math.abs(x));
      if (x > ours[t * V + a]!) a = v;
      if (y > row[b]!) b = v;
    }
    if (a === b) agree++;
  });
  return { max_abs_diff: maxDiff, mean_abs_diff: sumDiff / (theirs.length * V), max_abs_logit: maxLogit, argmax_agree: agree / theirs.length };
}

export async function runParity(dir: string, opts: { lengths: number[]; threads: number; work: string }): Promise<ParityRow[] | null> {
  if (!(await loadNodeLlamaCpp())) return null;
  const model = GlmModel.load(dir, { ops: refOps });
  const V = model.cfg.vocabSize;
  const rows: ParityRow[] = [];
  // Deterministic ids across the whole vocabulary (special tokens included: they are ordinary rows here).
  const idsOf = (T: number) => Array.from({ length: T }, (_, i) => (i * 7919 + 11) % V);
  const ourLogits = new Map(opts.lengths.map((T) => [T, model.forward(idsOf(T), model.newCache(T)).logits]));
  for (const dtype of ['bf16', 'f32'] as const) {
    const gguf = join(opts.work, `model-${dtype}.gguf`);
    exportGguf(dir, gguf, { dtype });
    for (const kvCache of ['F16', 'F32'] as const) {
      for (const T of opts.lengths) {
        const ours = ourLogits.get(T)!;
        const theirs = await llamaCppLogits(gguf, idsOf(T), { threads: opts.threads, vocabSize: V, kvCache });
        if (!theirs) return null;
        rows.push({ gguf: dtype, kv_cache: kvCache, tokens: T, dense: T <= model.cfg.indexTopk, ...compare(ours, theirs, V) });
      }
    }
  }
  return rows;
}

async function cli(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { tokens: { type: 'string' }, threads: { type: 'string', default: '1' }, json: { type: 'boolean', default: false } },
  });
  const work = mkdtempSync(join(tmpdir(), 'glm5-llamacpp-parity-'));
  try {
    let dir = positionals[0];
    if (!dir) {
      dir = join(work, 'tiny-ih64');
      writeParityModel(dir);
    }
    const topk = GlmModel.load(dir, { ops: refOps }).cfg.indexTopk;
    const lengths = values.tokens ? [Number(values.tokens)] : [topk, 2 * topk];
    const rows = await runParity(dir, { lengths, threads: Number(values.threads), work });
    if (!rows) {
      process.exitCode = 1;
      return;
    }
    if (values.json) {
      console.log(JSON.stringify({ model: positionals[0] ?? 'tiny preset, index_head_dim 64, bf16, seed 0', rows }));
      return;
    }
    console.log(`model: ${positionals[0] ?? 'tiny preset with index_head_dim 64 (bf16, seed 0)'}; ours = reference ops, f32 math`);
    for (const r of rows) {
      console.log(
        `${r.gguf.padEnd(4)} GGUF, ${r.kv_cache} KV cache, ${String(r.tokens).padStart(4)} tokens (${r.dense ? 'dense: T ≤ index_topk' : 'sparse: T > index_topk'}): ` +
          `max |Δlogit| ${r.max_abs_diff.toExponential(2)}, mean ${r.mean_abs_diff.toExponential(2)} (max |logit| ${r.max_abs_logit.toFixed(3)}), argmax agrees ${(r.argmax_agree * 100).toFixed(0)}%`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
