// SGLang's native API as an upstream (and glm5's own copy of it, src/server/sglang-api.ts): POST /generate with
// `input_ids`, streamed; POST /abort_request by `rid`; GET /v1/loads; GET /health.
//
// SGLang streams each chunk's `output_ids` cumulatively unless the server runs with --incremental-streaming-output,
// then as deltas; `meta_info.completion_tokens` (always the running total) tells the two apart. Logprobs come as
// `meta_info.output_token_logprobs` [[logprob, id, text]] (+ `output_top_logprobs`), sliced the same way.
// `ignore_eos` in SGLang also turns off `stop_token_ids`; glm5 checks stop ids itself, so nothing is lost.
// The glm5 kind adds two request fields glm5 serves (SGLang ignores unknown keys): `resumed_output_ids` (the
// engine's `generated`: penalties see them as output) and `incremental_streaming_output` (deltas, not totals).

import { concatIds } from './ids.js';
import type { EngineClient, UpstreamCall, UpstreamChunk, UpstreamLogprob } from './types.js';
import { UpstreamError } from './types.js';
import { baseUrl, getJson, postQuiet, postSse, probe } from './wire.js';

type LogprobEntry = [number, number, string | null];

interface GenerateChunk {
  output_ids?: number[];
  meta_info?: {
    finish_reason?: { type?: string } | null;
    prompt_tokens?: number;
    completion_tokens?: number;
    cached_tokens?: number;
    output_token_logprobs?: LogprobEntry[];
    output_top_logprobs?: (LogprobEntry[] | null)[];
  };
}

export class SglangClient implements EngineClient {
  readonly url: string;

  constructor(
    url: string,
    readonly kind: 'sglang' | 'glm5' = 'sglang',
  ) {
    this.url = baseUrl(url);
  }

  /** The /generate body for a call (exported through the class for the unit tests). */
  body(call: UpstreamCall): Record<string, unknown> {
    const s = call.sampling;
    const glm5 = this.kind === 'glm5';
    return {
      input_ids: glm5 ? call.prompt : concatIds(call.prompt, call.resumed),
      ...(glm5 && call.resumed.length > 0 ? { resumed_output_ids: call.resumed } : {}),
      sampling_params: {
        temperature: s.temperature,
        top_p: s.topP,
        top_k: s.topK > 0 ? s.topK : -1,
        min_p: s.minP,
        repetition_penalty: s.repetitionPenalty,
        presence_penalty: s.presencePenalty,
        frequency_penalty: s.frequencyPenalty,
        max_new_tokens: call.maxTokens,
        stop_token_ids: call.stopIds,
        ignore_eos: s.ignoreEos,
        skip_special_tokens: false,
        spaces_between_special_tokens: false,
        no_stop_trim: true,
        ...(s.seed !== undefined ? { sampling_seed: s.seed } : {}),
        ...(s.logitBias.size > 0 ? { logit_bias: Object.fromEntries(s.logitBias) } : {}),
      },
      rid: call.rid,
      stream: true,
      // Plain SGLang: ask for logprobs always, so the token ids are there even where a version omits output_ids.
      ...(call.logprobs !== undefined || !glm5 ? { return_logprob: true, top_logprobs_num: call.logprobs ?? 0, logprob_start_len: -1 } : {}),
      ...(glm5 ? { incremental_streaming_output: true } : {}),
    };
  }

  async generate(call: UpstreamCall): Promise<AsyncIterable<UpstreamChunk>> {
    const events = await postSse(`${this.url}/generate`, this.body(call), call.signal);
    return this.chunks(events, call.logprobs !== undefined);
  }

  private async *chunks(events: AsyncIterable<unknown>, wantLogprobs: boolean): AsyncGenerator<UpstreamChunk> {
    let seen = 0;
    for await (const ev of events) {
      const c = ev as GenerateChunk;
      const m = c.meta_info ?? {};
      const { ids, logprobs } = newTokens(c, seen);
      seen += ids.length;
      if (ids.length > 0)
        yield {
          type: 'tokens',
          ids,
          ...(wantLogprobs && logprobs ? { logprobs } : {}),
          ...(m.cached_tokens !== undefined ? { cachedTokens: m.cached_tokens } : {}),
        };
      const fr = m.finish_reason;
      if (fr) {
        const finish = fr.type === 'length' ? 'length' : fr.type === 'abort' ? 'abort' : 'stop';
        yield {
          type: 'end',
          finish,
          ...(m.prompt_tokens !== undefined ? { promptTokens: m.prompt_tokens } : {}),
          ...(m.cached_tokens !== undefined ? { cachedTokens: m.cached_tokens } : {}),
        };
        return;
      }
    }
    throw new UpstreamError(`${this.url}: the stream ended before the request did`, true);
  }

  async abort(rid: string): Promise<void> {
    await postQuiet(`${this.url}/abort_request`, { rid }, 2000);
  }

  health(timeoutMs: number): Promise<boolean> {
    return probe(`${this.url}/health`, timeoutMs);
  }

  /** /v1/loads (SGLang ≥ 0.5, glm5): running + waiting summed over data-parallel ranks; older SGLang: /get_load. */
  async load(timeoutMs: number): Promise<number | null> {
    const v = (await getJson(`${this.url}/v1/loads?include=core`, timeoutMs)) as { loads?: { num_running_reqs?: number; num_waiting_reqs?: number }[] } | null;
    if (Array.isArray(v?.loads)) return v.loads.reduce((a, l) => a + (l.num_running_reqs ?? 0) + (l.num_waiting_reqs ?? 0), 0);
    const old = (await getJson(`${this.url}/get_load`, timeoutMs)) as { num_reqs?: number; num_waiting_reqs?: number }[] | null;
    return Array.isArray(old) ? old.reduce((a, l) => a + (l.num_reqs ?? 0) + (l.num_waiting_reqs ?? 0), 0) : null;
  }
}

/**
 * The tokens a chunk adds after `seen`: cumulative chunks carry every token so far (length = completion_tokens),
 * incremental ones only the new ones (shorter, once a second token has come).
 */
export function newTokens(c: GenerateChunk, seen: number): { ids: number[]; logprobs?: UpstreamLogprob[] } {
  const m = c.meta_info ?? {};
  const total = m.completion_tokens;
  const lp = m.output_token_logprobs;
  const top = m.output_top_logprobs;
  const fromIds = Array.isArray(c.output_ids) ? c.output_ids : lp?.map((e) => e[1]);
  if (!fromIds) {
    if (m.finish_reason) return { ids: [] };
    throw new UpstreamError('an SGLang chunk has neither output_ids nor output_token_logprobs', false);
  }
  const cumulative = total === undefined ? fromIds.length > seen : fromIds.length >= total && fromIds.length > 0 && total >= seen;
  const start = cumulative ? seen : 0;
  const ids = fromIds.slice(start);
  if (!lp) return { ids };
  // Logprob lists follow the ids' shape (both cumulative or both deltas).
  const lpStart = lp.length === fromIds.length ? start : Math.max(0, lp.length - ids.length);
  const logprobs: UpstreamLogprob[] = [];
  for (let i = 0; i < ids.length; i++) {
    const e = lp[lpStart + i];
    if (!e) break;
    const alts = top?.[lpStart + i] ?? [];
    logprobs.push({ id: e[1], logprob: e[0], top: (alts ?? []).map((a) => ({ id: a[1], logprob: a[0] })) });
  }
  return { ids, logprobs };
}
