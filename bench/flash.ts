// GLM-4.7-Flash speed on this machine, from the `flash` preset (the real model's width, 4 of its 47 layers):
// batch-1 decode tok/s per weight format, the weight bytes a token reads, and what that predicts for the
// released GLM-4.7-Flash and GLM-5-FP8 (CPU decode is bound by those bytes: same format, same machine →
// tok/s scales by their ratio). Optionally llama.cpp on the same weights (exported to GGUF as deepseek2).
//
//   node --import tsx bench/flash.ts [DIR] [--formats bf16,int8] [--steps 24] [--llamacpp] [--json]
//
// Without DIR it writes the preset to bench/.models/flash-bf16 first (4 GB; about 4 minutes on an idle
// 2-core machine). Opt-in, not part of `npm run bench` (it takes minutes and 6+ GB of memory).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GlmModel, type LoadOptions } from '../src/model/model.js';
import { loadConfig, parseConfig, type ModelConfig } from '../src/model/config.js';
import { flashConfig, glm5Fp8Config, presetConfig } from '../src/model/presets.js';
import { decodeWeightBytes, type LoadQuantization } from '../src/model/memory.js';
import { writeSyntheticCheckpoint } from '../src/model/synthetic.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { selectOps } from '../src/kernels/select.js';
import { measureMachineLimits } from '../src/kernels/native.js';
import { Rng } from '../src/tensor/random.js';
import { maxOf, minOf } from '../src/tensor/arrays.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    formats: { type: 'string', default: 'bf16,int8' },
    steps: { type: 'string', default: '24' },
    llamacpp: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const log = (s: string) => {
  if (!args.json) console.log(s);
};

function presetDir(): string {
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), '.models', 'flash-bf16');
  if (!existsSync(join(dir, 'config.json'))) {
    log(`(writing the flash preset, bf16, to ${dir} …)`);
    writeSyntheticCheckpoint(dir, presetConfig('flash', writePresetTextFiles(dir)), { seed: 0, dtype: 'bf16' });
  }
  return dir;
}

const argmax = (x: Float32Array) => {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
};

/** Best of three runs of `steps` greedy decode steps after a 16-token prompt (the cache is rewound between runs). */
function decodeTokPerS(model: GlmModel, steps: number): number {
  const r = new Rng(16);
  const prompt = Array.from({ length: 16 }, () => r.int(model.cfg.vocabSize));
  const cache = model.newCache(16 + steps + 1);
  const first = model.forward(prompt, cache, { logits: 'last' });
  const secs = minOf(
    [0, 1, 2].map(() => {
      cache.truncate(16);
      let out = first;
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) out = model.forward([argmax(out.logits)], cache, { logits: 'last' });
      return (performance.now() - t0) / 1000;
    }),
  );
  return steps / secs;
}

interface Row {
  readonly format: string;
  readonly decode_tok_s: number;
  readonly gb_per_token: number;
  readonly effective_gb_s: number;
  /** effective_gb_s over the measured memory bandwidth: what carries over to another machine. */
  readonly bandwidth_fraction: number | null;
  /** The released GLM-4.7-Flash (47 layers, vocab 154,880) in the same format, on this machine. */
  readonly glm47_flash_tok_s: number;
}

async function main(): Promise<void> {
  const dir = positionals[0] ?? presetDir();
  const ops = selectOps('auto');
  const real: ModelConfig = parseConfig({ ...flashConfig({ vocabSize: 154880, eosTokenIds: [154820], padTokenId: 154820 }, 47) });
  const glm5 = parseConfig(glm5Fp8Config());
  const steps = Number(args.steps);
  const machine = measureMachineLimits();
  const bw = machine?.bandwidthGBs ?? null;
  log(`backend ${ops.name}${machine ? ` (${machine.isa}, ${machine.threads} threads), memory bandwidth ${bw!.toFixed(1)} GB/s` : ''}`);
  const rows: Row[] = [];
  for (const f of args.formats.split(',')) {
    const quantize = f === 'bf16' ? undefined : (f as LoadQuantization);
    const t0 = performance.now();
    // int4 is in the types once --quantize int4 lands (issue 26 item 2); the loader checks the name.
    const model = GlmModel.load(dir, { ops, quantize: quantize as LoadOptions['quantize'] });
    const loadS = (performance.now() - t0) / 1000;
    const tokS = decodeTokPerS(model, steps);
    const bytes = decodeWeightBytes(model.cfg, quantize);
    const eff = (tokS * bytes) / 1e9;
    const row: Row = {
      format: f,
      decode_tok_s: tokS,
      gb_per_token: bytes / 1e9,
      effective_gb_s: eff,
      bandwidth_fraction: bw ? eff / bw : null,
      glm47_flash_tok_s: (tokS * bytes) / decodeWeightBytes(real, quantize),
    };
    rows.push(row);
    log(
      `${f.padEnd(5)} load ${loadS.toFixed(0)} s; decode ${tokS.toFixed(2)} tok/s, ${row.gb_per_token.toFixed(3)} GB of weights per token → ${row.effective_gb_s.toFixed(1)} GB/s${bw ? ` (${((eff / bw) * 100).toFixed(0)}% of bandwidth)` : ''}; ` +
        `GLM-4.7-Flash (${(decodeWeightBytes(real, quantize) / 1e9).toFixed(2)} GB/token) ≈ ${row.glm47_flash_tok_s.toFixed(2)} tok/s`,
    );
  }
  // GLM-5-FP8 reads fp8 (1 byte per weight, like int8): int8's effective bandwidth is the stand-in.
  const ref = rows.find((r) => r.format === 'int8') ?? rows[0]!;
  const glm5TokS = (ref.effective_gb_s * 1e9) / decodeWeightBytes(glm5);
  log(
    `GLM-5-FP8 (${(decodeWeightBytes(glm5) / 1e9).toFixed(1)} GB/token at ${ref.effective_gb_s.toFixed(1)} GB/s, ${ref.format}'s rate) ≈ ${glm5TokS.toFixed(3)} tok/s on this machine`,
  );

  let llama: { decode_tok_s: number } | null = null;
  if (args.llamacpp) {
    const { benchLlamaCpp } = await import('./llamacpp.js');
    const { exportGguf } = await import('../src/gguf/export.js');
    const gguf = join(dir, 'flash-bf16.gguf');
    if (!existsSync(gguf)) exportGguf(dir, gguf, { dtype: 'bf16' });
    const r = new Rng(7),
      V = loadConfig(dir).vocabSize;
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await benchLlamaCpp(gguf, { promptTokens: Array.from({ length: 16 }, () => r.int(V)), decodeTokens: steps, threads: 2 });
      if (res) runs.push(res.decode_tok_s);
    }
    if (runs.length) {
      llama = { decode_tok_s: maxOf(runs) };
      const ours = rows.find((x) => x.format === 'bf16');
      log(
        `llama.cpp (same bf16 weights as GGUF deepseek2, 2 threads): decode ${llama.decode_tok_s.toFixed(2)} tok/s${ours ? ` (ours/theirs ${(ours.decode_tok_s / llama.decode_tok_s).toFixed(2)})` : ''}`,
      );
    } else log('llama.cpp comparison unavailable (npm run bench:setup)');
  }
  if (args.json) console.log(JSON.stringify({ model: dir, steps, isa: machine?.isa, bandwidth_gb_s: bw, rows, glm5_fp8_tok_s: glm5TokS, llamacpp: llama }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
