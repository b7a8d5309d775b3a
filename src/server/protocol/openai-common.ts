// What the three OpenAI dialects (Chat Completions, Completions, Responses) share: the error table and error
// body, finish reasons, usage and logprob entries, the sampling fields of Chat and Completions, response_format
// checks, and the data-only SSE frames of Chat and Completions.

import type { TokenLogprob, Usage } from '../../engine/types.js';
import type { Finish } from './choices.js';
import { ApiError, errorRow, zInt, zLogitBias, zNum, zStop, zTemperature, zTopP } from './common.js';
import type { ErrorRow, ErrorTable } from './common.js';
import type { SseFrame } from './dialect.js';

/**
 * Every failure on the OpenAI routes (Chat, Completions, Responses), before the stream (HTTP status + body) and
 * after it started (the error chunk, or Responses' `response.failed`). `code` is OpenAI's own where it has one:
 * clients act on it (openai-node and Codex retry `rate_limit_exceeded`, Codex compacts on
 * `context_length_exceeded` and stops retrying on `model_not_found`).
 */
export const OPENAI_ERRORS: ErrorTable = {
  invalid_request: { type: 'invalid_request_error', code: null, status: 400 },
  context_length: { type: 'invalid_request_error', code: 'context_length_exceeded', status: 400 },
  authentication: { type: 'authentication_error', code: 'invalid_api_key', status: 401 },
  permission: { type: 'permission_error', code: null, status: 403 },
  not_found: { type: 'invalid_request_error', code: null, status: 404 },
  model_not_found: { type: 'invalid_request_error', code: 'model_not_found', status: 404 },
  too_large: { type: 'invalid_request_error', code: null, status: 413 },
  rate_limit: { type: 'rate_limit_error', code: 'rate_limit_exceeded', status: 429 },
  quota: { type: 'insufficient_quota', code: 'insufficient_quota', status: 429 },
  api: { type: 'server_error', code: 'server_error', status: 500 },
  overloaded: { type: 'server_error', code: 'server_error', status: 503 },
};

/** `{"error": {message, type, param, code}}` and its status, from a table. */
export function openaiErrorBody(
  table: ErrorTable,
  e: ApiError,
): { status: number; body: { error: { message: string; type: string; param: string | null; code: string | null } } } {
  const row: ErrorRow = errorRow(table, e);
  return { status: row.status, body: { error: { message: e.message, type: row.type, param: e.param, code: row.code ?? null } } };
}

export const openaiError = (e: ApiError): unknown => openaiErrorBody(OPENAI_ERRORS, e).body;

/** Chat and Completions streams: no `event:` lines; a failure is a data chunk with a top-level error (clients.md §3). */
export function dataOnlyFailFrames(e: ApiError): SseFrame[] {
  return [{ data: JSON.stringify(openaiError(e)) }, { data: '[DONE]' }];
}

export const COMMENT_KEEP_ALIVE: SseFrame = { comment: 'keep-alive' };

export function finishReason(f: Finish): string {
  return f === 'stop_sequence' || f === 'abort' ? 'stop' : f === 'error' ? 'error' : f;
}

export function usageJson(u: Usage, reasoningTokens?: number): unknown {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
    ...(reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } } : {}),
  };
}

const bytesOf = (s: string): number[] => Array.from(Buffer.from(s, 'utf8'));

export function logprobEntry(l: TokenLogprob): unknown {
  return {
    token: l.text,
    logprob: l.logprob,
    bytes: bytesOf(l.text),
    top_logprobs: l.top.map((t) => ({ token: t.text, logprob: t.logprob, bytes: bytesOf(t.text) })),
  };
}

/** json_object / json_schema need constrained decoding, which the engine does not have: say so, never ignore it. */
export function checkResponseFormat(type: string | undefined, param: string): void {
  if (type === undefined || type === 'text') return;
  if (type === 'json_object' || type === 'json_schema') {
    throw new ApiError(
      'invalid_request',
      `${param} '${type}' is not supported by this server (no constrained decoding); ask for JSON in the prompt instead`,
      param,
    );
  }
  throw new ApiError('invalid_request', `${param} '${type}' is not one of text, json_object, json_schema`, param);
}

/** The OpenAI-style sampling fields Chat Completions and Completions share (spread into their schemas). */
export const openAiSamplingShape = {
  temperature: zTemperature,
  top_p: zTopP,
  top_k: zInt,
  min_p: zNum,
  presence_penalty: zNum,
  frequency_penalty: zNum,
  repetition_penalty: zNum,
  stop: zStop,
  logit_bias: zLogitBias,
  n: zInt,
  seed: zInt,
};
