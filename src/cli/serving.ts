// The engine that `glm5 serve` and `glm5 chat` both run: its flags, the options they give, the memory check and
// a first read of the checkpoint with a progress bar, and the view of the engine the server's generation code takes.

import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Engine } from '../engine/engine.js';
import { loadConfig } from '../model/config.js';
import { isKvCacheDtype, KV_CACHE_DTYPES, type KvCacheDtype } from '../model/cache-rows.js';
import type { ServingEngine } from '../server/generate.js';
import { intArg } from './args.js';
import { UsageError } from './command.js';
import { loadEngine, type LoadEngineOptions } from './load-engine.js';
import { tellMemory } from './memory-check.js';
import { MODEL_OPTIONS, modelFlags } from './model-flags.js';

/** A flag that must be a positive number when given. */
export const positiveNumber = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${v}'`);
  return n;
};

/** The engine as the server sees it (a checkpoint without tokenizer.json cannot serve chat). */
export function servingEngine(e: Engine): ServingEngine & { close(): Promise<void> } {
  const { tokenizer, template } = e;
  if (!tokenizer || !template) throw new UsageError(`${e.modelDir}: no tokenizer.json; serving needs the checkpoint's tokenizer and chat template`);
  return {
    tokenizer,
    template,
    maxContext: e.maxContext,
    maxPromptTokens: e.maxPromptTokens,
    submit: (r) => e.submit(r),
    stats: () => e.stats(),
    announce: () => e.announce(),
    close: () => e.close(),
  };
}

export function engineOptions(values: Record<string, string | boolean | string[] | undefined>): LoadEngineOptions {
  const flags = modelFlags({ backend: values.backend as string | undefined, quantize: values.quantize as string | undefined });
  const o: { -readonly [K in keyof LoadEngineOptions]: LoadEngineOptions[K] } = { ...flags };
  const kv = positiveNumber(values['kv-cache-gb'] as string | undefined, 'kv-cache-gb');
  if (kv !== undefined) o.kvCacheGb = kv;
  const dtype = kvCacheDtypeFlag(values['kv-cache-dtype'] as string | undefined);
  if (dtype) o.kvCacheDtype = dtype;
  if (values['block-size'] !== undefined) o.blockSize = intArg(values['block-size'] as string, 'block-size');
  if (values['max-running'] !== undefined) o.maxRunning = intArg(values['max-running'] as string, 'max-running');
  if (values['max-step-tokens'] !== undefined) o.maxStepTokens = intArg(values['max-step-tokens'] as string, 'max-step-tokens');
  if (values.speculative !== undefined) {
    const k = intArg(values.speculative as string, 'speculative');
    if (k < 0) throw new UsageError('--speculative must be ≥ 0');
    o.speculative = k;
  }
  if (values['prefill-itl-ratio'] !== undefined) {
    const r = Number(values['prefill-itl-ratio']);
    if (!(r >= 0)) throw new UsageError(`--prefill-itl-ratio must be a number ≥ 0, got '${values['prefill-itl-ratio']}'`);
    o.prefillItlRatio = r;
  }
  return o;
}

/** --kv-cache-dtype f32|bf16|fp8 (undefined: the engine default). */
export function kvCacheDtypeFlag(v: string | undefined): KvCacheDtype | undefined {
  if (v === undefined) return undefined;
  if (!isKvCacheDtype(v)) throw new UsageError(`--kv-cache-dtype must be one of ${KV_CACHE_DTYPES.join(', ')}, got '${v}'`);
  return v;
}

export const ENGINE_FLAGS = {
  'kv-cache-gb': { type: 'string' },
  'kv-cache-dtype': { type: 'string' },
  'block-size': { type: 'string' },
  'max-running': { type: 'string' },
  'max-step-tokens': { type: 'string' },
  speculative: { type: 'string' },
  'prefill-itl-ratio': { type: 'string' },
  ...MODEL_OPTIONS,
} as const;

/**
 * Reads the checkpoint's weight files once with a progress bar (large checkpoints only): the model maps them,
 * and a first pass through the page cache turns a slow, stuttering first answer into a visible wait.
 */
export async function warmCheckpoint(dir: string, minBytes = 512 * 1024 * 1024): Promise<void> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => join(dir, f));
  const total = files.reduce((a, f) => a + statSync(f).size, 0);
  if (total < minBytes || !process.stderr.isTTY) return;
  const bar = new cliProgress.SingleBar(
    {
      format: 'loading {bar} {percentage}% | {value}/{total} MB',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.round(total / 1e6), 0);
  let done = 0;
  for (const f of files) {
    for await (const chunk of createReadStream(f, { highWaterMark: 16 * 1024 * 1024 })) {
      done += (chunk as Buffer).length;
      bar.update(Math.round(done / 1e6));
    }
  }
  bar.stop();
}

/**
 * The engine for a checkpoint folder: what it will take is told first (and refused when it cannot fit, unless
 * --skip-memory-check), then the weights are warmed and loaded with the KV budget the plan left.
 */
export async function loadCheckedEngine(dir: string, values: Record<string, string | boolean | string[] | undefined>, label: string): Promise<Engine> {
  const options = engineOptions(values);
  const kvCacheGb = tellMemory(loadConfig(dir), { ...options, skip: values['skip-memory-check'] === true, log: (l) => console.error(`${label}: ${l}`) });
  await warmCheckpoint(dir);
  return loadEngine(dir, { ...options, kvCacheGb });
}
