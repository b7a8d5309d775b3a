// SGLang's native /generate as pure mapping (../shared/spec/sglang-generate.md; SGLang's io_struct.py is the
// reference): the request body → a GenerateRequest, and a request's progress → SGLang's response object, as one
// final JSON or as streamed chunks (cumulative by default, as SGLang streams; deltas with the server's
// --incremental-streaming-output or the request's `incremental_streaming_output`).
//
// glm5 differences, all additive: `stop_token_ids` apply even with `ignore_eos` (which drops only the checkpoint's
// EOS ids; SGLang drops both); `resumed_output_ids` resumes a request (the engine's `generated`: prefilled, counted
// as output for penalties and max_new_tokens, not returned again); prompt logprobs (`logprob_start_len` ≥ 0) are not
// computed — only output ones are returned.

import { z } from 'zod';
import type { FinishReason, GenerateRequest, SamplingParams, TokenLogprob, Usage } from '../engine/types.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { ApiError, parseBody } from './protocol/common.js';

const zNum = z.number().nullish();
const zInt = z.number().int().nullish();

const samplingParams = z.object({
  temperature: zNum,
  top_p: zNum,
  top_k: zInt,
  min_p: zNum,
  repetition_penalty: zNum,
  presence_penalty: zNum,
  frequency_penalty: zNum,
  max_new_tokens: zInt,
  min_new_tokens: zInt,
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  stop_token_ids: z.array(z.number().int().min(0)).nullish(),
  ignore_eos: z.boolean().nullish(),
  skip_special_tokens: z.boolean().nullish(),
  no_stop_trim: z.boolean().nullish(),
  sampling_seed: zInt,
  logit_bias: z.record(z.string(), z.number()).nullish(),
});

export const generateRequest = z.object({
  text: z.union([z.string(), z.array(z.string())]).nullish(),
  input_ids: z.union([z.array(z.number().int().min(0)), z.array(z.array(z.number().int().min(0)))]).nullish(),
  sampling_params: samplingParams.nullish(),
  return_logprob: z.boolean().nullish(),
  logprob_start_len: zInt,
  top_logprobs_num: zInt,
  return_text_in_logprobs: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  rid: z.string().nullish(),
  resumed_output_ids: z.array(z.number().int().min(0)).nullish(),
  incremental_streaming_output: z.boolean().nullish(),
});

/** SGLang's default max_new_tokens. */
const DEFAULT_MAX_NEW_TOKENS = 128;

export interface GenerateCall {
  readonly request: GenerateRequest & { id: string };
  readonly stream: boolean;
  readonly incremental: boolean;
  /** Logprobs asked for: output_token_logprobs, and output_top_logprobs when top > 0. */
  readonly logprobs: { top: number; withText: boolean } | null;
  /** Control-token strings removed from `text` (skip_special_tokens, default true). */
  readonly hidden: readonly string[];
  /** no_stop_trim: a matched stop string stays in `text`. */
  readonly keepStop: boolean;
}

/** A /generate body → the engine request (a 400 for what glm5 does not do). */
export function prepareGenerate(body: unknown, tokenizer: Tokenizer, rid: string, incrementalDefault: boolean): GenerateCall {
  const req = parseBody(generateRequest, body);
  if (Array.isArray(req.text) || (Array.isArray(req.input_ids) && Array.isArray(req.input_ids[0]))) {
    throw new ApiError('invalid_request', 'batched /generate requests are not supported: send one request per prompt', 'input_ids');
  }
  if ((req.text == null) === (req.input_ids == null)) throw new ApiError('invalid_request', 'give exactly one of text and input_ids', 'input_ids');
  // Like SGLang, text is the whole model input: added tokens written in it are matched.
  const prompt = req.input_ids != null ? (req.input_ids as number[]) : tokenizer.encode(req.text as string, { special: true });
  if (prompt.length === 0) throw new ApiError('invalid_request', 'the prompt is empty', 'input_ids');
  const sp = req.sampling_params ?? {};
  if ((sp.min_new_tokens ?? 0) > 0) throw new ApiError('invalid_request', 'min_new_tokens is not supported by glm5', 'sampling_params.min_new_tokens');
  const resumed = req.resumed_output_ids ?? [];
  const s: { -readonly [K in keyof SamplingParams]?: SamplingParams[K] } = { maxTokens: (sp.max_new_tokens ?? DEFAULT_MAX_NEW_TOKENS) + resumed.length };
  if (sp.temperature != null) s.temperature = sp.temperature;
  if (sp.top_p != null) s.topP = sp.top_p;
  if (sp.top_k != null) s.topK = sp.top_k < 0 ? 0 : sp.top_k;
  if (sp.min_p != null) s.minP = sp.min_p;
  if (sp.repetition_penalty != null) s.repetitionPenalty = sp.repetition_penalty;
  if (sp.presence_penalty != null) s.presencePenalty = sp.presence_penalty;
  if (sp.frequency_penalty != null) s.frequencyPenalty = sp.frequency_penalty;
  if (sp.stop != null) s.stop = (typeof sp.stop === 'string' ? [sp.stop] : sp.stop).filter((x) => x !== '');
  if (sp.stop_token_ids != null) s.stopTokenIds = sp.stop_token_ids;
  if (sp.ignore_eos != null) s.ignoreEos = sp.ignore_eos;
  if (sp.sampling_seed != null) s.seed = sp.sampling_seed;
  if (sp.logit_bias != null) s.logitBias = new Map(Object.entries(sp.logit_bias).map(([k, v]) => [Number(k), v]));
  const top = Math.max(0, req.top_logprobs_num ?? 0);
  if (req.return_logprob) s.logprobs = top;
  return {
    request: { id: req.rid ?? rid, prompt, sampling: s, ...(resumed.length > 0 ? { generated: resumed } : {}) },
    stream: req.stream === true,
    incremental: req.incremental_streaming_output ?? incrementalDefault,
    logprobs: req.return_logprob ? { top, withText: req.return_text_in_logprobs === true } : null,
    hidden: sp.skip_special_tokens === false ? [] : Array.from(tokenizer.addedTokens.keys()),
    keepStop: sp.no_stop_trim === true,
  };
}

/** A request's output so far (what the engine's events added up to). */
export interface Progress {
  readonly ids: number[];
  text: string;
  readonly logprobs: TokenLogprob[];
  finish?: { reason: FinishReason; stopReason?: string | number; error?: string; unavailable?: boolean; usage: Usage };
  /** Prompt tokens (with resumed output) and those from the prefix cache, once known. */
  usage?: Usage;
}

function finishReason(f: NonNullable<Progress['finish']>): unknown {
  switch (f.reason) {
    case 'stop':
      return { type: 'stop', matched: f.stopReason ?? null };
    case 'length':
      return { type: 'length', length: f.usage.completionTokens };
    case 'abort':
      return { type: 'abort', message: 'the request was aborted' };
    case 'error':
      return { type: 'abort', message: f.error ?? 'generation failed' };
  }
}

type Entry = [number, number, string | null];
const entry = (lp: { logprob: number; id: number; text: string }, withText: boolean): Entry => [lp.logprob, lp.id, withText ? lp.text : null];

/**
 * The response object for the tokens from `from` on (0: cumulative), SGLang's shape: text, output_ids, meta_info
 * (id, finish_reason — null until the end —, token counts, logprobs when asked).
 */
export function responseObject(call: GenerateCall, p: Progress, from: number, textFrom: number, startedAt: number): Record<string, unknown> {
  let text = p.text;
  if (call.keepStop && p.finish?.reason === 'stop' && typeof p.finish.stopReason === 'string') text += p.finish.stopReason;
  for (const h of call.hidden) if (text.includes(h)) text = text.split(h).join('');
  const usage = p.finish?.usage ?? p.usage;
  const meta: Record<string, unknown> = {
    id: call.request.id,
    finish_reason: p.finish ? finishReason(p.finish) : null,
    prompt_tokens: usage?.promptTokens ?? call.request.prompt.length + (call.request.generated?.length ?? 0),
    completion_tokens: p.ids.length,
    weight_version: 'default',
  };
  // The engine reports cached prompt tokens with its last event: absent until then (a router reads 0 as a miss).
  if (usage) meta.cached_tokens = usage.cachedTokens;
  if (call.logprobs) {
    const lps = p.logprobs.slice(from);
    meta.output_token_logprobs = lps.map((l) => entry(l, call.logprobs!.withText));
    if (call.logprobs.top > 0) meta.output_top_logprobs = lps.map((l) => l.top.map((t) => entry(t, call.logprobs!.withText)));
  }
  if (p.finish) meta.e2e_latency = (performance.now() - startedAt) / 1000;
  return { text: text.slice(textFrom), output_ids: p.ids.slice(from), meta_info: meta };
}
