// llama.cpp's llama-server as an upstream: POST /completion with the prompt as a token array (no BOS is added to
// token prompts), streamed (`stream` chunks carry `tokens`: each new id, the end-of-generation token included),
// `n_probs` for logprobs, `cache_prompt` on, `timings_per_token` (its `cache_n` = prompt tokens from the cache); load from GET /slots (slots processing), else GET /metrics
// (llamacpp:requests_processing + llamacpp:requests_deferred, with --metrics).
//
// Every sampling field is sent, since llama-server's own defaults differ from OpenAI's (temperature 0.8, top_k 40,
// top_p 0.95, min_p 0.05, repeat_last_n 64), and the sampler order is glm5's (penalties → temperature → top-k →
// top-p → min-p) with DRY, XTC, typical-p and mirostat off. llama-server has no stop-token list: it stops at its
// vocabulary's end-of-generation tokens (GLM's EOS set in a glm5 GGUF); other stop ids are caught by glm5, which
// then closes the connection (llama-server cancels a request whose client left). Its repetition penalties count
// resumed output as prompt.

import { concatIds } from './ids.js';
import type { EngineClient, UpstreamCall, UpstreamChunk, UpstreamLogprob } from './types.js';
import { UpstreamError } from './types.js';
import { baseUrl, get, getJson, postSse, probe, promSum } from './wire.js';

interface Prob { id: number; logprob?: number; top_logprobs?: { id: number; logprob: number }[] }
interface CompletionChunk {
  tokens?: number[];
  stop?: boolean;
  stop_type?: string;
  tokens_evaluated?: number;
  timings?: { cache_n?: number };
  completion_probabilities?: Prob[];
}

export class LlamaServerClient implements EngineClient {
  readonly kind = 'llama-server' as const;
  readonly url: string;

  /** maxContext: the slot context (n_ctx of /props). */
  constructor(url: string, private readonly maxContext?: number) {
    this.url = baseUrl(url);
  }

  body(call: UpstreamCall): Record<string, unknown> {
    const s = call.sampling;
    const prompt = concatIds(call.prompt, call.resumed);
    const maxTokens = this.maxContext ? Math.min(call.maxTokens, this.maxContext - prompt.length) : call.maxTokens;
    if (maxTokens < 1) throw new UpstreamError(`${this.url}: the prompt (${prompt.length} tokens) fills this replica's slot context (${this.maxContext})`, false);
    return {
      prompt, n_predict: maxTokens, stream: true, return_tokens: true, cache_prompt: true, timings_per_token: true,
      temperature: s.temperature, top_k: s.topK > 0 ? s.topK : 0, top_p: s.topP, min_p: s.minP,
      repeat_penalty: s.repetitionPenalty, repeat_last_n: -1, presence_penalty: s.presencePenalty, frequency_penalty: s.frequencyPenalty,
      samplers: ['penalties', 'temperature', 'top_k', 'top_p', 'min_p'],
      dry_multiplier: 0, xtc_probability: 0, typical_p: 1, mirostat: 0,
      seed: s.seed ?? -1, ignore_eos: s.ignoreEos,
      ...(s.logitBias.size > 0 ? { logit_bias: Array.from(s.logitBias) } : {}),
      n_probs: call.logprobs ?? 0,
    };
  }

  async generate(call: UpstreamCall): Promise<AsyncIterable<UpstreamChunk>> {
    const events = await postSse(`${this.url}/completion`, this.body(call), call.signal);
    return this.chunks(events, call.logprobs !== undefined);
  }

  private async *chunks(events: AsyncIterable<unknown>, wantLogprobs: boolean): AsyncGenerator<UpstreamChunk> {
    for await (const ev of events) {
      const c = ev as CompletionChunk;
      const ids = c.tokens ?? [];
      if (ids.length > 0) {
        const logprobs: UpstreamLogprob[] = (c.completion_probabilities ?? []).map((p) => ({
          id: p.id, logprob: p.logprob ?? 0, top: (p.top_logprobs ?? []).map((t) => ({ id: t.id, logprob: t.logprob })),
        }));
        const cached = c.timings?.cache_n;
        yield { type: 'tokens', ids, ...(wantLogprobs && logprobs.length === ids.length ? { logprobs } : {}), ...(cached !== undefined ? { cachedTokens: cached } : {}) };
      }
      if (c.stop) {
        const finish = c.stop_type === 'limit' ? 'length' : 'stop';
        yield { type: 'end', finish, ...(c.tokens_evaluated !== undefined ? { promptTokens: c.tokens_evaluated } : {}), ...(c.timings?.cache_n !== undefined ? { cachedTokens: c.timings.cache_n } : {}) };
        return;
      }
    }
    throw new UpstreamError(`${this.url}: the stream ended before the request did`, true);
  }

  health(timeoutMs: number): Promise<boolean> {
    return probe(`${this.url}/health`, timeoutMs);
  }

  async load(timeoutMs: number): Promise<number | null> {
    const slots = (await getJson(`${this.url}/slots`, timeoutMs)) as { is_processing?: boolean }[] | null;
    if (Array.isArray(slots)) return slots.filter((s) => s.is_processing).length;
    const r = await get(`${this.url}/metrics`, timeoutMs);
    if (!r?.ok) return null;
    const text = await r.text();
    const busy = promSum(text, 'llamacpp:requests_processing');
    return busy === null ? null : busy + (promSum(text, 'llamacpp:requests_deferred') ?? 0);
  }
}
