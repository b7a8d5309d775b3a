// The page's only link to the server: `GET /v1/models` and streamed `POST /v1/chat/completions` (OpenAI
// format, Server-Sent Events), so any OpenAI-compatible server that hosts these files can run the page.

import type { ToolSpec } from './tools.js';

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface WireMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  reasoning_content?: string;
  tool_calls?: WireToolCall[];
  tool_call_id?: string;
}

export interface ChatBody {
  model: string;
  messages: WireMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  /** Z.ai's switch; servers that do not know it ignore it. */
  thinking: { type: 'enabled' | 'disabled' };
  tools?: readonly ToolSpec[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
  /** Some servers (OpenRouter, LiteLLM) put the request's price here. */
  cost?: number;
}

/** One streamed delta, already split by kind. */
export type Delta =
  | { kind: 'content'; text: string }
  | { kind: 'reasoning'; text: string }
  | { kind: 'tool'; index: number; id?: string; name?: string; args: string }
  | { kind: 'finish'; reason: string }
  | { kind: 'usage'; usage: Usage; model?: string };

/** A price per million tokens (USD), as GLM lists them. */
export interface Price {
  input: number;
  cachedInput: number;
  output: number;
}

export interface ModelInfo {
  id: string;
  price?: Price;
}

/** An HTTP answer other than 200, with the server's message. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function headers(apiKey: string): Record<string, string> {
  const h: Record<string, string> = { 'Content-Type': 'application/json' };
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

async function failure(res: Response): Promise<HttpError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const j = (await res.json()) as { error?: { message?: string } | string; message?: string };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (m) message = m;
  } catch {
    // not JSON: keep the status line
  }
  return new HttpError(res.status, message);
}

// OpenRouter's model objects carry `pricing` in USD per token, as strings; glm5 serve lists its prices that way.
function priceOf(m: { pricing?: Record<string, unknown> }): Price | undefined {
  const p = m.pricing;
  if (!p) return undefined;
  const perM = (v: unknown): number => Number((Number(v) * 1e6).toPrecision(6)); // 0.0000002 × 1e6 = 0.19999999999999998
  const input = perM(p.prompt);
  const output = perM(p.completion);
  if (!Number.isFinite(input) || !Number.isFinite(output)) return undefined;
  const cached = perM(p.input_cache_read ?? p.prompt);
  return { input, output, cachedInput: Number.isFinite(cached) ? cached : input };
}

export async function listModels(apiKey: string): Promise<ModelInfo[]> {
  const res = await fetch('/v1/models', { headers: headers(apiKey) });
  if (!res.ok) throw await failure(res);
  const j = (await res.json()) as { data?: { id: string; pricing?: Record<string, unknown> }[] };
  return (j.data ?? []).map((m) => {
    const price = priceOf(m);
    return price ? { id: m.id, price } : { id: m.id };
  });
}

interface Chunk {
  model?: string;
  error?: { message?: string } | string;
  usage?: Usage | null;
  choices?: {
    delta?: {
      content?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason?: string | null;
  }[];
}

function* deltas(c: Chunk): Generator<Delta> {
  if (c.error) throw new Error(typeof c.error === 'string' ? c.error : (c.error.message ?? 'the server reported an error'));
  for (const ch of c.choices ?? []) {
    const d = ch.delta ?? {};
    const reasoning = d.reasoning_content ?? d.reasoning;
    if (reasoning) yield { kind: 'reasoning', text: reasoning };
    if (d.content) yield { kind: 'content', text: d.content };
    for (const t of d.tool_calls ?? []) {
      const out: Delta = { kind: 'tool', index: t.index, args: t.function?.arguments ?? '' };
      if (t.id) out.id = t.id;
      if (t.function?.name) out.name = t.function.name;
      yield out;
    }
    if (ch.finish_reason) yield { kind: 'finish', reason: ch.finish_reason };
  }
  if (c.usage) yield c.model ? { kind: 'usage', usage: c.usage, model: c.model } : { kind: 'usage', usage: c.usage };
}

/**
 * Streams one completion. Aborting the signal cancels the body, which closes the connection: the server
 * then stops generating and frees the request at once.
 */
export async function* streamChat(body: ChatBody, apiKey: string, signal: AbortSignal): AsyncGenerator<Delta> {
  const res = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers(apiKey),
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut: RegExpExecArray | null;
      while ((cut = /\r?\n\r?\n/.exec(buffer))) {
        const event = buffer.slice(0, cut.index);
        buffer = buffer.slice(cut.index + cut[0].length);
        const data = event
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data === '') continue; // a comment (keep-alive) or an event line alone
        if (data === '[DONE]') return;
        yield* deltas(JSON.parse(data) as Chunk);
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
