// OpenAI Completions (/v1/completions): a raw prompt (text or token ids, no template), text out; logprobs, echo.
// No reasoning or tool parsing: the text is returned as the model wrote it. vLLM's token-id extensions too, so
// glm5 replicas serve clients (and routers) written for vLLM: `stop_token_ids`, `return_token_ids` (the prompt's
// and the generated ids: `prompt_token_ids` in the first chunk, each chunk's new `token_ids`), and
// `return_tokens_as_token_ids` (logprob tokens named `token_id:<id>`).

import { z } from 'zod';
import type { TokenLogprob, Usage } from '../../engine/types.js';
import type { BlockEvent } from '../../text/blocks.js';
import type { ChoiceResult } from './choices.js';
import { ApiError, checkContext, controlTokens, maxTokens, newId, parseBody, sampling, zInt } from './common.js';
import type { ModelContext } from './common.js';
import type { Prepared, SseFrame, StreamWriter } from './dialect.js';
import { seconds } from './dialect.js';
import { COMMENT_KEEP_ALIVE, dataOnlyFailFrames, finishReason, openAiSamplingShape, usageJson } from './openai-common.js';

export const completionsRequest = z.object({
  model: z.string(),
  prompt: z.union([
    z.string(),
    z.array(z.number().int().min(0)).min(1),
    z.array(z.string()).length(1),
    z.array(z.array(z.number().int().min(0)).min(1)).length(1),
  ]),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish(), continuous_usage_stats: z.boolean().nullish() }).nullish(),
  max_tokens: zInt,
  ...openAiSamplingShape,
  logprobs: zInt,
  echo: z.boolean().nullish(),
  ignore_eos: z.boolean().nullish(),
  suffix: z.string().nullish(),
  skip_special_tokens: z.boolean().nullish(),
  stop_token_ids: z.array(z.number().int().min(0)).nullish(),
  return_token_ids: z.boolean().nullish(),
  return_tokens_as_token_ids: z.boolean().nullish(),
  min_tokens: zInt,
});

/** vLLM's token-id fields of a request (all off: the OpenAI shape). */
interface TokenIdOptions {
  readonly prompt: readonly number[] | null;
  readonly asIds: boolean;
}

export function prepareCompletions(body: unknown, ctx: ModelContext): Prepared {
  const req = parseBody(completionsRequest, body);
  if (req.suffix) throw new ApiError('invalid_request', 'suffix (fill-in-the-middle) is not supported', 'suffix');
  if ((req.min_tokens ?? 0) > 0) throw new ApiError('invalid_request', 'min_tokens is not supported', 'min_tokens');
  const n = req.n ?? 1;
  if (n < 1 || n > 16) throw new ApiError('invalid_request', 'n must be between 1 and 16', 'n');
  const p = req.prompt;
  const raw: string | number[] =
    typeof p === 'string' ? p : typeof p[0] === 'string' ? (p[0] as string) : Array.isArray(p[0]) ? (p[0] as number[]) : (p as number[]);
  // A raw prompt is the caller's whole model input (often a rendered template): added tokens are matched, as vLLM does.
  const prompt = typeof raw === 'string' ? ctx.tokenizer.encode(raw, { special: true }) : raw;
  if (prompt.length === 0) throw new ApiError('invalid_request', 'prompt must not be empty', 'prompt');
  const vocab = ctx.tokenizer.vocabSize;
  const bad = prompt.find((t) => t >= vocab);
  if (bad !== undefined) throw new ApiError('invalid_request', `prompt token id ${bad} is outside the vocabulary (size ${vocab})`, 'prompt');
  checkContext(ctx, prompt.length);
  const s = {
    ...sampling(req, maxTokens(ctx, prompt.length, req.max_tokens ?? 16)),
    ...(req.ignore_eos ? { ignoreEos: true } : {}),
    ...(req.stop_token_ids?.length ? { stopTokenIds: req.stop_token_ids } : {}),
  };
  const ids: TokenIdOptions = { prompt: req.return_token_ids ? prompt : null, asIds: req.return_tokens_as_token_ids === true };
  const wantLogprobs = req.logprobs != null;
  const echo = req.echo === true ? ctx.tokenizer.decode(prompt) : '';
  const id = newId('cmpl-');
  const created = seconds();
  const model = req.model;
  // The text carries no control tokens (vLLM's skip_special_tokens, default true); logprobs still show every token.
  const hidden = controlTokens(ctx, req.skip_special_tokens);
  return {
    endpoint: 'completions',
    plan: { prompt, sampling: wantLogprobs ? { ...s, logprobs: req.logprobs! } : s, output: { thinking: false, controlTokens: hidden }, tools: [] },
    n,
    stream: req.stream === true,
    wantLogprobs,
    model,
    writer: () => new CompletionsStream(id, created, model, req.stream_options?.include_usage === true, echo, n, hidden, ids),
    respond: (choices, usage) => ({
      id,
      object: 'text_completion',
      created,
      model,
      choices: choices.map((c) => ({
        index: c.index,
        text: echo + (c.output.content ?? ''),
        finish_reason: finishReason(c.finish === 'tool_calls' ? 'stop' : c.finish),
        logprobs: c.logprobs ? logprobsJson(c.logprobs, echo.length, hidden, ids.asIds) : null,
        ...(ids.prompt ? { prompt_token_ids: ids.prompt, token_ids: c.ids } : {}),
      })),
      usage: usageJson(usage),
    }),
  };
}

/**
 * The legacy logprobs object: tokens, token_logprobs, top_logprobs (token → logprob), text_offset. Every token is
 * listed; a control token, absent from the text, takes no room in it.
 */
function logprobsJson(lps: readonly TokenLogprob[], offset: number, hidden: readonly string[], asIds = false): unknown {
  const text_offset: number[] = [];
  let at = offset;
  for (const l of lps) {
    text_offset.push(at);
    if (!hidden.includes(l.text)) at += l.text.length;
  }
  const name = (t: { id: number; text: string }): string => (asIds ? `token_id:${t.id}` : t.text);
  return {
    tokens: lps.map(name),
    token_logprobs: lps.map((l) => l.logprob),
    top_logprobs: lps.map((l) => Object.fromEntries(l.top.map((t) => [name(t), t.logprob]))),
    text_offset,
  };
}

class CompletionsStream implements StreamWriter {
  private readonly offsets: number[];
  constructor(
    private readonly id: string,
    private readonly created: number,
    private readonly model: string,
    private readonly includeUsage: boolean,
    private readonly echo: string,
    n: number,
    private readonly hidden: readonly string[],
    private readonly ids: TokenIdOptions = { prompt: null, asIds: false },
  ) {
    this.offsets = new Array<number>(n).fill(echo.length);
    this.promptSent = new Array<boolean>(n).fill(false);
  }

  private readonly promptSent: boolean[];

  private chunk(index: number, text: string, finish: string | null, logprobs: unknown = null, ids?: readonly number[]): SseFrame {
    const tokenIds: Record<string, unknown> = {};
    if (this.ids.prompt) {
      if (!this.promptSent[index]) tokenIds.prompt_token_ids = this.ids.prompt;
      this.promptSent[index] = true;
      tokenIds.token_ids = ids ?? [];
    }
    return {
      data: JSON.stringify({
        id: this.id,
        object: 'text_completion',
        created: this.created,
        model: this.model,
        choices: [{ index, text, finish_reason: finish, logprobs, ...tokenIds }],
        ...(this.includeUsage ? { usage: null } : {}),
      }),
    };
  }

  open(): SseFrame[] {
    return this.echo ? this.offsets.map((_, i) => this.chunk(i, this.echo, null)) : [];
  }

  events(choice: number, events: readonly BlockEvent[], logprobs: readonly TokenLogprob[] | undefined, ids?: readonly number[]): SseFrame[] {
    const text = events.map((e) => (e.type === 'delta' && e.head.kind !== 'tool_call' ? e.text : '')).join('');
    if (text === '' && !logprobs?.length && !(this.ids.prompt && ids?.length)) return [];
    const lp = logprobs?.length ? logprobsJson(logprobs, this.offsets[choice]!, this.hidden, this.ids.asIds) : null;
    for (const l of logprobs ?? []) if (!this.hidden.includes(l.text)) this.offsets[choice]! += l.text.length;
    return [this.chunk(choice, text, null, lp, ids)];
  }

  choiceDone(r: ChoiceResult): SseFrame[] {
    return [this.chunk(r.index, '', finishReason(r.finish === 'tool_calls' ? 'stop' : r.finish))];
  }

  close(usage: Usage): SseFrame[] {
    const frames: SseFrame[] = [];
    if (this.includeUsage)
      frames.push({
        data: JSON.stringify({ id: this.id, object: 'text_completion', created: this.created, model: this.model, choices: [], usage: usageJson(usage) }),
      });
    frames.push({ data: '[DONE]' });
    return frames;
  }

  fail(e: ApiError): SseFrame[] {
    return dataOnlyFailFrames(e);
  }

  keepAlive(): SseFrame {
    return COMMENT_KEEP_ALIVE;
  }
}
