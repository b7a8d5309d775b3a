// vLLM as an upstream: POST /v1/completions with a token-id `prompt`, streamed, `return_token_ids` (vLLM ≥ 0.10.2:
// each chunk's `choices[0].token_ids` are that chunk's new ids), usage in a last chunk (`stream_options`), load from
// GET /metrics (vllm:num_requests_running + vllm:num_requests_waiting; glm5_requests_* from a glm5 replica).
//
// Logprobs are always asked for (`logprobs` = N, 0 = the sampled token's own) with `return_tokens_as_token_ids`, so
// every token and alternative is named `token_id:<id>`: glm5 reads ids, never vLLM's token strings, and older
// vLLMs without `token_ids` still give the ids. Cached prompt tokens arrive in
// `usage.prompt_tokens_details.cached_tokens` only when vLLM runs with --enable-prompt-tokens-details (with
// `continuous_usage_stats`, in every chunk).

import { concatIds } from './ids.js';
import type { EngineClient, UpstreamCall, UpstreamChunk, UpstreamLogprob } from './types.js';
import { UpstreamError } from './types.js';
import { baseUrl, get, postSse, probe, promSum } from './wire.js';

interface CompletionChunk {
  choices?: {
    token_ids?: number[] | null;
    finish_reason?: string | null;
    logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[]; top_logprobs?: (Record<string, number> | null)[] } | null;
  }[];
  usage?: { prompt_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
}

const idOf = (token: string): number => {
  const m = /^token_id:(\d+)$/.exec(token);
  if (!m) throw new UpstreamError(`vLLM returned the token '${token}' where 'token_id:N' was asked for (return_tokens_as_token_ids)`, false);
  return Number(m[1]);
};

export class VllmClient implements EngineClient {
  readonly kind = 'vllm' as const;
  readonly url: string;

  /** model: the name vLLM serves (it rejects others); maxContext: its max_model_len. */
  constructor(
    url: string,
    private readonly model?: string,
    private readonly maxContext?: number,
  ) {
    this.url = baseUrl(url);
  }

  body(call: UpstreamCall): Record<string, unknown> {
    const s = call.sampling;
    const prompt = concatIds(call.prompt, call.resumed);
    // vLLM refuses prompt + max_tokens beyond max_model_len: ask for what fits.
    const maxTokens = this.maxContext ? Math.min(call.maxTokens, this.maxContext - prompt.length) : call.maxTokens;
    if (maxTokens < 1) throw new UpstreamError(`${this.url}: the prompt (${prompt.length} tokens) fills this replica's context (${this.maxContext})`, false);
    return {
      ...(this.model ? { model: this.model } : {}),
      prompt,
      max_tokens: maxTokens,
      temperature: s.temperature,
      top_p: s.topP,
      top_k: s.topK > 0 ? s.topK : -1,
      min_p: s.minP,
      repetition_penalty: s.repetitionPenalty,
      presence_penalty: s.presencePenalty,
      frequency_penalty: s.frequencyPenalty,
      ...(s.seed !== undefined ? { seed: s.seed } : {}),
      ...(s.logitBias.size > 0 ? { logit_bias: Object.fromEntries(s.logitBias) } : {}),
      stop_token_ids: call.stopIds,
      ignore_eos: s.ignoreEos,
      include_stop_str_in_output: true,
      skip_special_tokens: false,
      spaces_between_special_tokens: false,
      logprobs: call.logprobs ?? 0,
      return_tokens_as_token_ids: true,
      return_token_ids: true,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    };
  }

  async generate(call: UpstreamCall): Promise<AsyncIterable<UpstreamChunk>> {
    const events = await postSse(`${this.url}/v1/completions`, this.body(call), call.signal);
    return this.chunks(events, call.logprobs !== undefined);
  }

  private async *chunks(events: AsyncIterable<unknown>, wantLogprobs: boolean): AsyncGenerator<UpstreamChunk> {
    let finish: 'stop' | 'length' | 'abort' | undefined;
    let promptTokens: number | undefined;
    let cachedTokens: number | undefined;
    for await (const ev of events) {
      const c = ev as CompletionChunk;
      if (c.usage) {
        promptTokens = c.usage.prompt_tokens;
        cachedTokens = c.usage.prompt_tokens_details?.cached_tokens ?? undefined;
      }
      const choice = c.choices?.[0];
      if (!choice) continue;
      const { ids, logprobs } = chunkTokens(choice);
      if (ids.length > 0) yield { type: 'tokens', ids, ...(wantLogprobs ? { logprobs } : {}), ...(cachedTokens !== undefined ? { cachedTokens } : {}) };
      if (choice.finish_reason) finish = choice.finish_reason === 'length' ? 'length' : choice.finish_reason === 'abort' ? 'abort' : 'stop';
    }
    // [DONE] follows the usage chunk, which follows the finish.
    if (!finish) throw new UpstreamError(`${this.url}: the stream ended before the request did`, true);
    yield { type: 'end', finish, ...(promptTokens !== undefined ? { promptTokens } : {}), ...(cachedTokens !== undefined ? { cachedTokens } : {}) };
  }

  health(timeoutMs: number): Promise<boolean> {
    return probe(`${this.url}/health`, timeoutMs);
  }

  async load(timeoutMs: number): Promise<number | null> {
    const r = await get(`${this.url}/metrics`, timeoutMs);
    if (!r?.ok) return null;
    const text = await r.text();
    // A glm5 replica spoken to as vLLM (its token-id completions) names them glm5_requests_*.
    const running = promSum(text, 'vllm:num_requests_running') ?? promSum(text, 'glm5_requests_running');
    const waiting = promSum(text, 'vllm:num_requests_waiting') ?? promSum(text, 'glm5_requests_waiting');
    return running === null && waiting === null ? null : (running ?? 0) + (waiting ?? 0);
  }
}

/** A choice's new ids (token_ids, else the logprob tokens) and their logprobs by id. */
function chunkTokens(choice: NonNullable<CompletionChunk['choices']>[number]): { ids: number[]; logprobs: UpstreamLogprob[] } {
  const lp = choice.logprobs;
  const ids = Array.isArray(choice.token_ids) ? choice.token_ids : (lp?.tokens ?? []).map(idOf);
  const logprobs: UpstreamLogprob[] = [];
  if (lp?.tokens) {
    for (let i = 0; i < ids.length; i++) {
      const top = lp.top_logprobs?.[i] ?? {};
      logprobs.push({
        id: ids[i]!,
        logprob: lp.token_logprobs?.[i] ?? 0,
        top: Object.entries(top)
          .map(([t, v]) => ({ id: idOf(t), logprob: v }))
          .sort((a, b) => b.logprob - a.logprob),
      });
    }
  }
  return { ids, logprobs };
}
