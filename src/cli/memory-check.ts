// Memory told before loading: what the weights (in the chosen format), the KV cache budget and the runtime
// will take, against what this machine or container can give (MemAvailable, cgroup memory.max). A model that
// cannot fit is refused with the numbers and the alternatives, instead of being killed by the OS halfway.
// GLM5_MEMORY_LIMIT_BYTES pretends the machine has that much available (tests, or a self-imposed cap).

import { existsSync, readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import type { ModelConfig } from '../model/config.js';
import { cacheBytesPerToken, weightBytes, type LoadQuantization } from '../model/memory.js';
import type { KvCacheDtype } from '../model/cache-rows.js';

/** Node, V8, the tokenizer and the step's activation buffers: a flat allowance. */
export const RUNTIME_BYTES = 1e9;
/** Below this the KV cache holds too few tokens to serve. */
const MIN_KV_BYTES = 64e6;

export class MemoryError extends Error {
  override name = 'MemoryError';
}

export interface MemoryLimit {
  /** Bytes the process can still take. */
  readonly available: number;
  /** The ceiling, and what sets it. */
  readonly limit: number;
  readonly source: string;
}

function readNumber(path: string): number | null {
  if (!existsSync(path)) return null;
  const v = readFileSync(path, 'utf8').trim();
  return /^\d+$/.test(v) ? Number(v) : null; // "max" (cgroup v2, no limit) → null
}

/** What this process may use: MemAvailable, capped by the cgroup's limit minus its usage (v2, else v1). */
export function memoryLimit(env: NodeJS.ProcessEnv = process.env, cgroupRoot = '/sys/fs/cgroup'): MemoryLimit {
  const fake = env.GLM5_MEMORY_LIMIT_BYTES;
  if (fake !== undefined && fake !== '') {
    const n = Number(fake);
    if (!Number.isFinite(n) || n <= 0) throw new MemoryError(`GLM5_MEMORY_LIMIT_BYTES must be a positive number of bytes, got '${fake}'`);
    return { available: n, limit: n, source: 'GLM5_MEMORY_LIMIT_BYTES' };
  }
  let available = freemem(),
    limit = totalmem(),
    source = 'RAM';
  const cg = [
    [`${cgroupRoot}/memory.max`, `${cgroupRoot}/memory.current`],
    [`${cgroupRoot}/memory/memory.limit_in_bytes`, `${cgroupRoot}/memory/memory.usage_in_bytes`],
  ];
  for (const [maxPath, usedPath] of cg) {
    const max = readNumber(maxPath!);
    if (max === null || max >= limit) continue;
    limit = max;
    source = 'cgroup memory limit';
    available = Math.min(available, max - (readNumber(usedPath!) ?? 0));
    break;
  }
  return { available: Math.max(0, available), limit, source };
}

export interface MemoryPlan {
  readonly weights: number;
  /** Of which the MTP layer (counted when drafting is on). */
  readonly mtpWeights: number;
  readonly kvCache: number;
  readonly kvTokens: number;
  readonly runtime: number;
  readonly total: number;
  /** The KV budget in GB to hand the engine (the user's, or the default shrunk to what is left). */
  readonly kvCacheGb: number;
}

export interface PlanOptions {
  readonly quantize?: LoadQuantization;
  /** User's --kv-cache-gb (undefined: the engine default, 30% of available and at most 8 GB, shrunk to fit). */
  readonly kvCacheGb?: number;
  /** --kv-cache-dtype (default: the engine's). */
  readonly kvCacheDtype?: KvCacheDtype;
  readonly maxRunning?: number;
  /** The checkpoint has an MTP layer and speculation is on (its weights and cache rows count). */
  readonly drafting: boolean;
}

const GB = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
const FORMAT = (cfg: ModelConfig, q: LoadQuantization | undefined) => q ?? (cfg.fp8BlockSize ? `fp8 + ${cfg.storedDtype}` : cfg.storedDtype);

export function planMemory(cfg: ModelConfig, mem: MemoryLimit, o: PlanOptions): MemoryPlan {
  const w = weightBytes(cfg, o.quantize);
  const mtpWeights = o.drafting ? w.mtp : 0;
  const weights = w.main + mtpWeights;
  const perToken = cacheBytesPerToken(cfg, o.drafting ? 1 : 0, o.kvCacheDtype);
  const usefulKv = perToken * cfg.maxPositionEmbeddings * (o.maxRunning ?? 32); // one full context per request at most
  const room = mem.available - weights - RUNTIME_BYTES;
  const kvCache = o.kvCacheGb !== undefined ? o.kvCacheGb * 1e9 : Math.max(0, Math.min(8e9, 0.3 * mem.available, usefulKv, room));
  return {
    weights,
    mtpWeights,
    kvCache,
    kvTokens: Math.floor(kvCache / perToken),
    runtime: RUNTIME_BYTES,
    total: weights + kvCache + RUNTIME_BYTES,
    kvCacheGb: kvCache / 1e9,
  };
}

/** One line of what loading will take. */
export function describePlan(cfg: ModelConfig, p: MemoryPlan, mem: MemoryLimit, quantize: LoadQuantization | undefined): string {
  const mtp = p.mtpWeights >= 0.05e9 ? `, MTP layer ${GB(p.mtpWeights)} included` : '';
  return (
    `memory: weights ${GB(p.weights)} (${FORMAT(cfg, quantize)}${mtp}) + KV cache ${GB(p.kvCache)} (${p.kvTokens.toLocaleString('en-US')} tokens) ` +
    `+ runtime ${GB(p.runtime)} = ${GB(p.total)}; available ${GB(mem.available)} (limit ${GB(mem.limit)}: ${mem.source})`
  );
}

/**
 * The plan, or a MemoryError saying what it would take, what is available and which --quantize / --kv-cache-gb
 * would fit. `supported` lists the load-time quantisations this build offers.
 */
export function checkMemory(cfg: ModelConfig, mem: MemoryLimit, o: PlanOptions, supported: readonly LoadQuantization[]): MemoryPlan {
  const p = planMemory(cfg, mem, o);
  if (p.total <= mem.available && p.kvCache >= Math.min(MIN_KV_BYTES, cacheBytesPerToken(cfg, 0, o.kvCacheDtype) * 4096)) return p;
  const need = p.weights + RUNTIME_BYTES + (o.kvCacheGb !== undefined ? p.kvCache : MIN_KV_BYTES);
  const options = supported
    .filter((q) => q !== o.quantize)
    .map((q) => {
      const alt = planMemory(cfg, mem, { ...o, quantize: q, kvCacheGb: undefined });
      return `--quantize ${q}: weights ${GB(alt.weights)}`;
    });
  if (o.drafting && p.mtpWeights > 0) options.push(`--speculative 0 saves ${GB(p.mtpWeights)}`);
  if (o.kvCacheGb !== undefined) options.push('a smaller --kv-cache-gb');
  throw new MemoryError(
    `the model needs about ${GB(need)} (weights ${GB(p.weights)} ${FORMAT(cfg, o.quantize)}, ` +
      `KV cache ${o.kvCacheGb !== undefined ? GB(p.kvCache) : `≥ ${GB(MIN_KV_BYTES)}`}, runtime ${GB(RUNTIME_BYTES)}) but only ${GB(mem.available)} is available ` +
      `(limit ${GB(mem.limit)}: ${mem.source}). ${options.length ? `Options: ${options.join('; ')}. ` : ''}--skip-memory-check loads it anyway.`,
  );
}

export const MEMORY_FLAGS = {
  'skip-memory-check': { type: 'boolean', default: false },
} as const;

/** Load-time quantisations to suggest when a model does not fit. */
const SUGGESTED: readonly LoadQuantization[] = ['int8', 'int4'];

export interface TellOptions {
  readonly quantize?: LoadQuantization;
  readonly kvCacheGb?: number;
  readonly kvCacheDtype?: KvCacheDtype;
  readonly maxRunning?: number;
  readonly speculative?: number;
  /** --skip-memory-check: print the plan, never refuse. */
  readonly skip: boolean;
  readonly log: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Prints what loading `cfg` will take and refuses (MemoryError) when it cannot fit. Returns the KV cache budget
 * in GB for the engine: the user's, or the default shrunk so weights + cache + runtime fit.
 */
export function tellMemory(cfg: ModelConfig, o: TellOptions): number {
  const mem = memoryLimit(o.env);
  const opts: PlanOptions = {
    ...(o.quantize ? { quantize: o.quantize } : {}),
    ...(o.kvCacheGb !== undefined ? { kvCacheGb: o.kvCacheGb } : {}),
    ...(o.maxRunning !== undefined ? { maxRunning: o.maxRunning } : {}),
    ...(o.kvCacheDtype !== undefined ? { kvCacheDtype: o.kvCacheDtype } : {}),
    drafting: cfg.numNextnPredictLayers > 0 && (o.speculative ?? 1) > 0,
  };
  const plan = o.skip ? planMemory(cfg, mem, opts) : checkMemory(cfg, mem, opts, SUGGESTED);
  o.log(describePlan(cfg, plan, mem, o.quantize));
  return Math.max(plan.kvCacheGb, 1e-3);
}
