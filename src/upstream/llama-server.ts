// llama.cpp's llama-server as an upstream: POST /completion with the prompt as a token array (no BOS is added to
// token prompts), streamed, `return_tokens`, `n_probs` for logprobs, `cache_prompt` on, `timings_per_token` (its
// `cache_n` = prompt tokens from the cache); load from GET /slots (slots processing), else GET /metrics
// (llamacpp:requests_processing + llamacpp:requests_deferred, with --metrics).
//
// Every sampling field is sent, since llama-server's own defaults differ from OpenAI's (temperature 0.8, top_k 40,
// top_p 0.95, min_p 0.05, repeat_last_n 64), and the sampler order is glm5's (penalties → temperature → top-k →
// top-p → min-p) with DRY, XTC, typical-p and mirostat off; the penalty window is the slot's whole context.
// llama-server has no stop-token list: it stops at its vocabulary's end-of-generation tokens (GLM's EOS set in a
// glm5 GGUF); other stop ids are caught by glm5, which then closes the connection (llama-server cancels a request
// whose client left). Its repetition penalties count resumed output as prompt.
//
// A streamed chunk carries only the token that completed its text: a token that ends inside a UTF-8 character is
// never sent on its own. `tokens_predicted` (the running count) shows such gaps, and the chunk's `content` holds the
// skipped tokens' text, from which glm5's vocabulary recovers their ids (recover-ids.ts). Ids missing at the very
// end (generation stopped inside a character) are asked for again without streaming, from the same prefix.

import { concatIds } from './ids.js';
import type { EngineClient, UpstreamCall, UpstreamChunk, UpstreamLogprob } from './types.js';
import { UpstreamError } from './types.js';
import { baseUrl, get, getJson, postSse, probe, promSum } from './wire.js';

interface Prob {
  id: number;
  logprob?: number;
  top_logprobs?: { id: number; logprob: number }[];
}
interface CompletionChunk {
  content?: string;
  tokens?: number[];
  stop?: boolean;
  stop_type?: string;
  tokens_predicted?: number;
  tokens_evaluated?: number;
  timings?: { cache_n?: number };
  completion_probabilities?: Prob[];
}

export class LlamaServerClient implements EngineClient {
  readonly kind = 'llama-server' as const;
  readonly url: string;

  /** maxContext: the slot context (n_ctx of /props). */
  constructor(
    url: string,
    private readonly maxContext?: number,
  ) {
    this.url = baseUrl(url);
  }

  body(call: UpstreamCall, generated: readonly number[] = [], stream = true): Record<string, unknown> {
    const s = call.sampling;
    const prompt = concatIds(concatIds(call.prompt, call.resumed), generated);
    const budget = call.maxTokens - generated.length;
    const maxTokens = this.maxContext ? Math.min(budget, this.maxContext - prompt.length) : budget;
    if (maxTokens < 1)
      throw new UpstreamError(`${this.url}: the prompt (${prompt.length} tokens) fills this replica's slot context (${this.maxContext})`, false);
    return {
      prompt,
      n_predict: maxTokens,
      stream,
      return_tokens: true,
      cache_prompt: true,
      timings_per_token: true,
      temperature: s.temperature,
      top_k: s.topK > 0 ? s.topK : 0,
      top_p: s.topP,
      min_p: s.minP,
      // The penalties look at the last repeat_last_n tokens: the whole slot context, as glm5's look at everything.
      repeat_penalty: s.repetitionPenalty,
      repeat_last_n: this.maxContext ?? 1 << 17,
      presence_penalty: s.presencePenalty,
      frequency_penalty: s.frequencyPenalty,
      samplers: ['penalties', 'temperature', 'top_k', 'top_p', 'min_p'],
      dry_multiplier: 0,
      xtc_probability: 0,
      typical_p: 1,
      mirostat: 0,
      seed: s.seed ?? -1,
      ignore_eos: s.ignoreEos,
      ...(s.logitBias.size > 0 ? { logit_bias: Array.from(s.logitBias) } : {}),
      n_probs: call.logprobs ?? 0,
    };
  }

  async generate(call: UpstreamCall): Promise<AsyncIterable<UpstreamChunk>> {
    const events = await postSse(`${this.url}/completion`, this.body(call), call.signal);
    return this.chunks(events, call);
  }

  /**
   * The stream's tokens, gaps filled: from their text when it spells them, else by asking for the skipped tokens
   * again (not streamed, same prefix) and streaming on from there — what a model would have continued with.
   */
  private async *chunks(first: AsyncIterable<unknown>, call: UpstreamCall): AsyncGenerator<UpstreamChunk> {
    const wantLogprobs = call.logprobs !== undefined;
    const ids: number[] = [];
    let events = first;
    let cached: number | undefined;
    restart: for (;;) {
      const base = ids.length; // tokens_predicted counts from the start of this stream
      for await (const ev of events) {
        const c = ev as CompletionChunk;
        let got = c.tokens ?? [];
        cached ??= c.timings?.cache_n;
        const missing = c.tokens_predicted !== undefined && !c.stop && got.length > 0 ? c.tokens_predicted - (ids.length - base) - got.length : 0;
        if (missing > 0) {
          const skipped = call.recoverIds(c.content ?? '', missing, got);
          if (!skipped) {
            // Not valid text (a model may emit broken UTF-8): fetch them, and stream on from the filled prefix.
            const again = await this.tail(call, ids, missing);
            for (const id of again) ids.push(id);
            yield { type: 'tokens', ids: again, ...(cached !== undefined ? { cachedTokens: cached } : {}) };
            events = await postSse(`${this.url}/completion`, this.body(call, ids), call.signal);
            continue restart;
          }
          got = concatIds(skipped, got);
        }
        if (got.length > 0) {
          // Logprobs come for the streamed token only: none for a chunk with recovered ids.
          const logprobs = (c.completion_probabilities ?? []).map(toLogprob);
          yield {
            type: 'tokens',
            ids: got,
            ...(wantLogprobs && logprobs.length === got.length ? { logprobs } : {}),
            ...(cached !== undefined ? { cachedTokens: cached } : {}),
          };
          for (const id of got) ids.push(id);
        }
        if (c.stop) {
          // Tokens that ended inside a character when generation stopped were never streamed: ask for them again.
          const tail = (c.tokens_predicted ?? 0) - (ids.length - base);
          if (tail > 0) yield { type: 'tokens', ids: await this.tail(call, ids, tail) };
          const finish = c.stop_type === 'limit' ? 'length' : 'stop';
          yield {
            type: 'end',
            finish,
            ...(c.tokens_evaluated !== undefined ? { promptTokens: c.tokens_evaluated } : {}),
            ...(cached !== undefined ? { cachedTokens: cached } : {}),
          };
          return;
        }
      }
      throw new UpstreamError(`${this.url}: the stream ended before the request did`, true);
    }
  }

  /** The last n tokens again, not streamed (so `tokens` has them all), from the prefix the stream gave. */
  private async tail(call: UpstreamCall, streamed: readonly number[], n: number): Promise<number[]> {
    const body = { ...this.body(call, streamed, false), n_predict: n };
    const r = await fetch(`${this.url}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: call.signal,
    });
    if (!r.ok) throw new UpstreamError(`${this.url}: HTTP ${r.status} asking again for the last ${n} tokens`, true, r.status);
    return ((await r.json()) as { tokens?: number[] }).tokens ?? [];
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

const toLogprob = (p: Prob): UpstreamLogprob => ({
  id: p.id,
  logprob: p.logprob ?? 0,
  top: (p.top_logprobs ?? []).map((t) => ({ id: t.id, logprob: t.logprob })),
});
