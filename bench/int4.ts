// `--quantize int4` in `npm run bench` (issue 26 item 2): batch-1 decode speed against bf16 (and int8) on the small
// preset and on the flash preset when its checkpoint exists (bench/flash.ts writes it), the perplexity change of
// int4 and of llama.cpp's Q4_0 rule on the bundled model's held-out texts (bench/quant-accuracy.ts), and the peak
// resident set of loading with int4 (a child process per load reads its own VmHWM: bench/int4-load-rss.ts)
// against the goal int4 weights + one shard + 1 GB.
//
//   node --import tsx bench/int4.ts [--json] [--quick]   (also part of npm run bench; --only int4 runs just this)

import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GlmModel } from '../src/model/model.js';
import { weightBytes as heldBytes, type LinearWeight, type QuantFormat } from '../src/tensor/weight.js';
import { loadConfig } from '../src/model/config.js';
import { weightBytes } from '../src/model/memory.js';
import type { Ops } from '../src/kernels/interface.js';
import { selectOps } from '../src/kernels/select.js';
import { Rng } from '../src/tensor/random.js';
import { maxOf, minOf } from '../src/tensor/arrays.js';
import { bundledAccuracy } from './quant-accuracy.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const MB = 1 << 20;

export interface DecodeSpeed {
  /** tok/s per format, best of the interleaved rounds. */
  readonly tokPerS: Record<string, number>;
  readonly int4SpeedupVsBf16: number;
  readonly int4SpeedupVsInt8: number | null;
}

export interface LoadRss {
  readonly peakRssMb: number;
  /** The same conversion keeping the source pages resident (without releasing them). */
  readonly peakRssKeepMb: number;
  readonly int4WeightsMb: number;
  readonly largestShardMb: number;
  readonly checkpointMb: number;
  /** int4 weights + largest shard + 1 GB. */
  readonly goalMb: number;
}

const argmax = (x: Float32Array) => {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
};

/**
 * Greedy decode at a 128-token context, `steps` tokens per run, the formats' runs interleaved (a shared VM's speed
 * drifts over minutes: interleaving keeps the ratios fair), best of `rounds`.
 */
export function decodeSpeed(dir: string, ops: Ops, formats: readonly ('bf16' | QuantFormat)[], rounds = 5, steps = 16): DecodeSpeed {
  const ctx = 128;
  const runs = formats.map((f) => {
    const m = GlmModel.load(dir, { ops, quantize: f === 'bf16' ? undefined : f });
    const r = new Rng(ctx);
    const cache = m.newCache(ctx + steps + 1);
    const first = m.forward(
      Array.from({ length: ctx }, () => r.int(m.cfg.vocabSize)),
      cache,
      { logits: 'last' },
    );
    return { f, m, cache, first, secs: [] as number[] };
  });
  for (let i = 0; i < rounds; i++) {
    for (const run of runs) {
      run.cache.truncate(ctx);
      let out = run.first;
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) out = run.m.forward([argmax(out.logits)], run.cache, { logits: 'last' });
      run.secs.push((performance.now() - t0) / 1000);
    }
  }
  const tokPerS = Object.fromEntries(runs.map((r) => [r.f, steps / minOf(r.secs)]));
  return {
    tokPerS,
    int4SpeedupVsBf16: tokPerS.int4! / tokPerS.bf16!,
    int4SpeedupVsInt8: tokPerS.int8 ? tokPerS.int4! / tokPerS.int8 : null,
  };
}

/**
 * Decode matvec alone: a 2048 x 2048 weight (bf16 random values; int8 / int4 quantised from it), distinct copies
 * rotated so ≥ 256 MiB stream from DRAM per sweep, the formats' sweeps interleaved, best of 6. GB/s counts the
 * bytes the format holds (scales included); ratios are per weight.
 */
export function matvecSpeed(ops: Ops): { gbPerS: Record<string, number>; int4SpeedupVsBf16: number; int4SpeedupVsInt8: number } {
  const N = 2048;
  const h = new Uint16Array(N * N);
  randomFillSync(h);
  for (let i = 0; i < h.length; i++) h[i] = (h[i]! & 0x807f) | 0x3c00; // ±[2^-7, 2^-6): finite, no denormals
  const bf16: LinearWeight = { name: 'w', format: 'bf16', rows: N, cols: N, data: new Uint8Array(h.buffer) };
  const sets = [bf16, ops.quantize(bf16, 'int8'), ops.quantize(bf16, 'int4')].map((w) => {
    const copies = Math.max(4, Math.ceil((256 * MB) / heldBytes(w)));
    const ws = Array.from({ length: copies }, () => ({ ...w, data: w.data.slice(), scales: w.scales?.slice(), halfScales: w.halfScales?.slice() }));
    return { w, secs: Infinity, ws };
  });
  const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i));
  const y = new Float32Array(N);
  for (let round = 0; round < 6; round++) {
    for (const s of sets) {
      const t0 = performance.now();
      for (const w of s.ws) ops.matmul(x, 1, w, y);
      s.secs = Math.min(s.secs, (performance.now() - t0) / 1000 / s.ws.length);
    }
  }
  const [b, i8, i4] = sets as [(typeof sets)[0], (typeof sets)[0], (typeof sets)[0]];
  return {
    gbPerS: Object.fromEntries(sets.map((s) => [s.w.format, heldBytes(s.w) / s.secs / 1e9])),
    int4SpeedupVsBf16: b.secs / i4.secs,
    int4SpeedupVsInt8: i8.secs / i4.secs,
  };
}

/** Peak RSS of loading `dir` with int4 in a fresh process (and of the same conversion keeping the source pages). */
export function loadRss(dir: string): LoadRss {
  const run = (mode: string) => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(HERE, 'int4-load-rss.ts'), dir, mode], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out.trim().split('\n').pop()!) as { peakRss: number };
  };
  const shards = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => statSync(join(dir, f)).size);
  const int4 = weightBytes(loadConfig(dir), 'int4');
  const int4WeightsMb = (int4.main + int4.mtp) / MB,
    largestShardMb = Math.max(0, maxOf(shards)) / MB;
  return {
    peakRssMb: run('int4').peakRss / MB,
    peakRssKeepMb: run('int4-keep').peakRss / MB,
    int4WeightsMb,
    largestShardMb,
    checkpointMb: shards.reduce((a, b) => a + b, 0) / MB,
    goalMb: int4WeightsMb + largestShardMb + 1024,
  };
}

export interface Int4Bench {
  readonly matvec: ReturnType<typeof matvecSpeed>;
  readonly small: DecodeSpeed;
  readonly flash: DecodeSpeed | null;
  /** Held-out perplexity change, % (prose windows and chat answers together), int4 and llama.cpp's Q4_0 rule. */
  readonly pplChangePct: { readonly int4: number; readonly q4_0: number; readonly int8: number };
  readonly loadRss: { readonly small: LoadRss; readonly flash: LoadRss | null };
}

/** Perplexity change over every scored held-out position (prose and chats pooled). */
function pooledChange(ops: Ops): Int4Bench['pplChangePct'] {
  const { prose, chats } = bundledAccuracy(ops);
  const sets = chats ? [prose, chats] : [prose];
  const n = sets.reduce((a, s) => a + s.positions, 0);
  const baseNll = sets.reduce((a, s) => a + s.positions * Math.log(s.basePpl), 0) / n;
  const change = (v: 'int8' | 'int4' | 'q4_0') => (Math.exp(sets.reduce((a, s) => a + s.positions * Math.log(s.variants[v].ppl), 0) / n - baseNll) - 1) * 100;
  return { int4: change('int4'), q4_0: change('q4_0'), int8: change('int8') };
}

export function benchInt4(o: { small: string; flash: string | null; ops: Ops; quick: boolean; log: (s: string) => void }): Int4Bench {
  const fmt = (d: DecodeSpeed) =>
    Object.entries(d.tokPerS)
      .map(([f, v]) => `${f} ${v.toFixed(2)}`)
      .join(', ');
  const matvec = matvecSpeed(o.ops);
  const gbs = Object.entries(matvec.gbPerS)
    .map(([f, v]) => `${f} ${v.toFixed(1)}`)
    .join(', ');
  o.log(
    `int4, decode matvec 2048x2048 from DRAM (GB/s): ${gbs} → int4 ${matvec.int4SpeedupVsBf16.toFixed(2)}× bf16, ${matvec.int4SpeedupVsInt8.toFixed(2)}× int8 per weight`,
  );
  const small = decodeSpeed(o.small, o.ops, o.quick ? ['bf16', 'int4'] : ['bf16', 'int8', 'int4']);
  o.log(
    `int4, small preset decode at 128 (tok/s): ${fmt(small)} → int4 ${small.int4SpeedupVsBf16.toFixed(2)}× bf16` +
      (small.int4SpeedupVsInt8 ? `, ${small.int4SpeedupVsInt8.toFixed(2)}× int8` : ''),
  );
  const flash = o.flash && !o.quick ? decodeSpeed(o.flash, o.ops, ['bf16', 'int4'], 3, 12) : null;
  if (flash) o.log(`int4, flash preset decode at 128 (tok/s): ${fmt(flash)} → int4 ${flash.int4SpeedupVsBf16.toFixed(2)}× bf16`);
  else o.log('int4, flash preset: skipped (no bench/.models/flash-bf16: node --import tsx bench/flash.ts writes it)');
  const pplChangePct = pooledChange(o.ops);
  o.log(
    `int4, bundled model held-out perplexity change: int4 ${pplChangePct.int4.toFixed(2)}%, Q4_0 rule ${pplChangePct.q4_0.toFixed(2)}%, int8 ${pplChangePct.int8.toFixed(2)}%`,
  );
  const rss = (dir: string) => {
    const r = loadRss(dir);
    o.log(
      `int4 load peak RSS (${dir.split('/').pop()}): ${r.peakRssMb.toFixed(0)} MB (keeping the source pages: ${r.peakRssKeepMb.toFixed(0)} MB); ` +
        `int4 weights ${r.int4WeightsMb.toFixed(0)} MB, largest shard ${r.largestShardMb.toFixed(0)} MB of ${r.checkpointMb.toFixed(0)} MB; goal ≤ ${r.goalMb.toFixed(0)} MB`,
    );
    return r;
  };
  return { matvec, small, flash, pplChangePct, loadRss: { small: rss(o.small), flash: o.flash && !o.quick ? rss(o.flash) : null } };
}

/** The keys bench/run.ts puts in its JSON. */
export function int4Keys(b: Int4Bench): Record<string, unknown> {
  return {
    int4_matvec_speedup_vs_bf16: b.matvec.int4SpeedupVsBf16,
    int4_matvec_gb_s: b.matvec.gbPerS,
    int4_decode_speedup_vs_bf16: b.small.int4SpeedupVsBf16,
    int4_decode_speedup_vs_int8: b.small.int4SpeedupVsInt8,
    int4_decode_tok_s: b.small.tokPerS,
    int4_flash_decode_speedup_vs_bf16: b.flash?.int4SpeedupVsBf16 ?? null,
    int4_ppl_change: b.pplChangePct.int4,
    q4_0_ppl_change: b.pplChangePct.q4_0,
    int8_ppl_change: b.pplChangePct.int8,
    int4_load_peak_rss_mb: b.loadRss.small.peakRssMb,
    int4_load: b.loadRss,
  };
}

/** The flash preset's checkpoint when bench/flash.ts has written it. */
export function flashDir(): string | null {
  const dir = join(HERE, '.models', 'flash-bf16');
  return existsSync(join(dir, 'config.json')) ? dir : null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const json = process.argv.includes('--json'),
    quick = process.argv.includes('--quick');
  const small = join(HERE, '.models', 'small-bf16');
  if (!existsSync(join(small, 'config.json'))) throw new Error(`${small} missing: npm run bench writes it`);
  const b = benchInt4({
    small,
    flash: flashDir(),
    ops: selectOps('auto'),
    quick,
    log: (s) => {
      if (!json) console.log(s);
    },
  });
  if (json) console.log(JSON.stringify(int4Keys(b)));
}
