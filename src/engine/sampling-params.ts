// A request's sampling parameters: checkpoint defaults (generation_config.json) under OpenAI's, the
// request's own fields over them, and validation with messages that name the API field.

import { RequestError, type SamplingParams } from './types.js';

/** Checkpoint-independent defaults (OpenAI's), under generation_config.json. */
const BASE_SAMPLING: SamplingParams = {
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBias: new Map(),
  seed: undefined,
  stopTokenIds: [],
  stop: [],
  maxTokens: Infinity,
  ignoreEos: false,
  logprobs: undefined,
};

/** generation_config.json → defaults (temperature, top_p, top_k, repetition_penalty; eos handled by the model config). */
export function samplingDefaults(gc: Record<string, unknown>): SamplingParams {
  const num = (k: string) => (typeof gc[k] === 'number' ? (gc[k] as number) : undefined);
  const doSample = gc.do_sample;
  return {
    ...BASE_SAMPLING,
    temperature: doSample === false ? 0 : (num('temperature') ?? BASE_SAMPLING.temperature),
    topP: num('top_p') ?? BASE_SAMPLING.topP,
    topK: num('top_k') ?? BASE_SAMPLING.topK,
    repetitionPenalty: num('repetition_penalty') ?? BASE_SAMPLING.repetitionPenalty,
  };
}

/** The request's fields over the defaults, checked; a bad value is an `invalid_request` RequestError. */
export function resolveSampling(defaults: SamplingParams, p: Partial<SamplingParams>): SamplingParams {
  const s: SamplingParams = { ...defaults };
  for (const [k, v] of Object.entries(p)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  const bad = (m: string) => new RequestError(m, 'invalid_request');
  if (!(s.temperature >= 0)) throw bad(`temperature must be ≥ 0, got ${s.temperature}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw bad(`top_p must be in (0, 1], got ${s.topP}`);
  if (!Number.isInteger(s.topK) || s.topK < -1) throw bad(`top_k must be an integer ≥ −1, got ${s.topK}`);
  if (!(s.minP >= 0 && s.minP <= 1)) throw bad(`min_p must be in [0, 1], got ${s.minP}`);
  if (!(s.repetitionPenalty > 0)) throw bad(`repetition_penalty must be > 0, got ${s.repetitionPenalty}`);
  if (!Number.isFinite(s.presencePenalty) || !Number.isFinite(s.frequencyPenalty)) throw bad('penalties must be finite numbers');
  if (!(s.maxTokens >= 1)) throw bad(`max_tokens must be ≥ 1, got ${s.maxTokens}`);
  if (s.logprobs !== undefined && !(Number.isInteger(s.logprobs) && s.logprobs >= 0 && s.logprobs <= 20))
    throw bad(`logprobs must be an integer in [0, 20], got ${s.logprobs}`);
  if (s.seed !== undefined && !Number.isInteger(s.seed)) throw bad(`seed must be an integer, got ${s.seed}`);
  return s;
}
