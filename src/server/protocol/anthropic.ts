// Anthropic Messages (/v1/messages, /v1/messages/count_tokens; serving.md §6, clients.md §5) as Claude Code uses
// it: blocks → chat messages (system inline, tool_use/tool_result, thinking), output events → content blocks with
// strict framing (message_start first, one block open at a time, signature before a thinking block stops).

import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { TokenLogprob, Usage } from '../../engine/types.js';
import type { Block as OutputBlock, BlockEvent, BlockHead } from '../../text/blocks.js';
import type { ChatMessage, ToolCallInput, ToolDefinition } from '../../text/chat-messages.js';
import type { ChoiceResult, Finish } from './choices.js';
import {
  ApiError,
  checkToolSchema,
  errorRow,
  maxTokens,
  newId,
  parseBody,
  renderChat,
  resolveThinking,
  sampling,
  zInt,
  zTemperature,
  zTopP,
} from './common.js';
import type { ErrorTable, ModelContext } from './common.js';
import type { Prepared, SseFrame, StreamWriter } from './dialect.js';

const block = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(block)]);
const zMessage = z.object({ role: z.string(), content });
const zTool = z.looseObject({ name: z.string().min(1), type: z.string().nullish(), description: z.string().nullish(), input_schema: z.unknown().optional() });

const messagesBase = {
  model: z.string(),
  system: z.union([z.string(), z.array(block)]).nullish(),
  messages: z.array(zMessage),
  tools: z.array(zTool).nullish(),
  tool_choice: z.object({ type: z.string(), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() }).nullish(),
  thinking: z.object({ type: z.string(), budget_tokens: z.number().optional() }).nullish(),
  output_config: z.object({ effort: z.string().nullish() }).nullish(),
};
export const messagesRequest = z.object({
  ...messagesBase,
  max_tokens: z.number().int().min(1),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: zTemperature,
  top_p: zTopP,
  top_k: zInt,
  stream: z.boolean().nullish(),
});
export const countTokensRequest = z.object(messagesBase);
type Block = z.infer<typeof block>;

/** Claude Code's first system block changes `cch=` on every request; normalise it or no prefix is ever reused. */
export function normalizeBillingHeader(text: string): string {
  return text.startsWith('x-anthropic-billing-header:') ? text.replace(/cch=[^;]*;?/g, 'cch=0;') : text;
}

/** Our thinking signature: a hash of the text (any opaque value works; we accept our own back). */
export function thinkingSignature(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

function blockText(b: Block): string {
  if (b.type === 'text' && typeof b.text === 'string') return b.text;
  if (b.type === 'tool_reference' && typeof b.tool_name === 'string') return `Tool ${b.tool_name} is available.`;
  return '';
}

function resultText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c))
    return (c as Block[])
      .map(blockText)
      .filter((s) => s !== '')
      .join('\n');
  return '';
}

/** Anthropic messages → OpenAI-format chat messages in the same order (vLLM's mapping). */
export function toChatMessages(system: string | Block[] | null | undefined, messages: z.infer<typeof zMessage>[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (system != null) {
    const text = typeof system === 'string' ? normalizeBillingHeader(system) : system.map((b) => normalizeBillingHeader(blockText(b))).join('\n');
    if (text !== '') out.push({ role: 'system', content: text });
  }
  messages.forEach((m, i) => {
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      return;
    }
    if (m.role === 'assistant') {
      let text = '';
      let reasoning: string | undefined;
      const calls: ToolCallInput[] = [];
      for (const b of m.content) {
        if (b.type === 'text') text += blockText(b);
        else if (b.type === 'thinking' && typeof b.thinking === 'string') reasoning = (reasoning ?? '') + b.thinking;
        else if (b.type === 'tool_use') {
          if (typeof b.name !== 'string') throw new ApiError('invalid_request', `messages.${i}: tool_use needs a name`, `messages.${i}.content`);
          const input = b.input ?? {};
          if (typeof input !== 'object' || Array.isArray(input))
            throw new ApiError('invalid_request', `messages.${i}: tool_use input must be an object`, `messages.${i}.content`);
          calls.push({ id: String(b.id ?? ''), type: 'function', function: { name: b.name, arguments: input as Record<string, unknown> } });
        }
      }
      const msg: ChatMessage = { role: 'assistant', content: text };
      if (reasoning !== undefined) msg.reasoning_content = reasoning;
      if (calls.length > 0) msg.tool_calls = calls;
      out.push(msg);
      return;
    }
    // user (or inline system) turns: tool_result blocks become tool messages in block order, text stays a turn.
    let text = '';
    const flush = (): void => {
      if (text !== '') out.push({ role: m.role, content: text });
      text = '';
    };
    for (const b of m.content) {
      if (b.type === 'tool_result') {
        flush();
        const t = resultText(b.content);
        out.push({ role: 'tool', content: b.is_error === true && !t.startsWith('Error') ? `Error: ${t}` : t, tool_call_id: String(b.tool_use_id ?? '') });
      } else text += blockText(b);
    }
    flush();
  });
  return out;
}

/** Tools with an input_schema; typed server tools (web_search…) the model cannot run are dropped. */
export function anthropicTools(tools: z.infer<typeof zTool>[] | null | undefined): ToolDefinition[] {
  const out: ToolDefinition[] = [];
  (tools ?? []).forEach((t, i) => {
    if (t.input_schema === undefined || (t.type != null && t.type !== 'custom')) return;
    checkToolSchema(t.name, t.input_schema, `tools.${i}.input_schema`);
    const fn: ToolDefinition['function'] = { name: t.name };
    if (t.description != null) fn.description = t.description;
    fn.parameters = t.input_schema as Record<string, unknown>;
    out.push({ type: 'function', function: fn });
  });
  return out;
}

function render(ctx: ModelContext, req: z.infer<typeof countTokensRequest>) {
  const choice = req.tool_choice;
  const toolChoice =
    !choice || choice.type === 'auto'
      ? 'auto'
      : choice.type === 'any'
        ? 'required'
        : choice.type === 'none'
          ? 'none'
          : choice.type === 'tool' && choice.name
            ? { name: choice.name }
            : 'auto';
  return renderChat(ctx, {
    messages: toChatMessages(req.system, req.messages),
    tools: anthropicTools(req.tools),
    toolChoice,
    thinking: resolveThinking({ type: req.thinking?.type, effort: req.output_config?.effort ?? undefined }),
  });
}

export function countTokens(body: unknown, ctx: ModelContext): { input_tokens: number } {
  const req = parseBody(countTokensRequest, body);
  // A count is asked to decide whether to compact: it is answered above the context too (no overflow error).
  return { input_tokens: render({ ...ctx, maxContext: Infinity, maxPromptTokens: Infinity }, req).prompt.length };
}

export function prepareMessages(body: unknown, ctx: ModelContext): Prepared {
  const req = parseBody(messagesRequest, body);
  const r = render(ctx, req);
  const s = sampling(
    { temperature: req.temperature, top_p: req.top_p, top_k: req.top_k, stop: req.stop_sequences },
    maxTokens(ctx, r.prompt.length, req.max_tokens),
  );
  const id = newId('msg_');
  const model = req.model;
  return {
    endpoint: 'messages',
    plan: {
      prompt: r.prompt,
      sampling: s,
      output: { ...r.output, newToolCallId: () => newId('toolu_'), ...(req.tool_choice?.disable_parallel_tool_use ? { maxToolCalls: 1 } : {}) },
      tools: r.tools,
    },
    n: 1,
    stream: req.stream === true,
    wantLogprobs: false,
    model,
    writer: () => new MessagesStream(id, model, r.prompt.length),
    respond: (choices, usage) => {
      const c = choices[0]!;
      return {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: c.output.blocks.map(contentBlock), // as the stream shows them
        stop_reason: stopReason(c.finish),
        stop_sequence: c.stopSequence,
        usage: usageJson(usage),
      };
    },
  };
}

export function stopReason(f: Finish): string {
  switch (f) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'stop_sequence':
      return 'stop_sequence';
    default:
      return 'end_turn';
  }
}

/** input_tokens excludes cached tokens (Anthropic convention). */
export function usageJson(u: Usage): Record<string, number> {
  return {
    input_tokens: u.promptTokens - u.cachedTokens,
    output_tokens: u.completionTokens,
    cache_read_input_tokens: u.cachedTokens,
    cache_creation_input_tokens: 0,
  };
}

/** A finished block as an Anthropic content block. */
function contentBlock(b: OutputBlock): Record<string, unknown> {
  switch (b.kind) {
    case 'thinking':
      return { type: 'thinking', thinking: b.text, signature: thinkingSignature(b.text) };
    case 'text':
      return { type: 'text', text: b.text };
    case 'tool_call':
      return { type: 'tool_use', id: b.toolCall.id, name: b.toolCall.name, input: b.toolCall.arguments };
  }
}

/** The empty block content_block_start announces. */
function openingBlock(h: BlockHead): Record<string, unknown> {
  switch (h.kind) {
    case 'thinking':
      return { type: 'thinking', thinking: '', signature: '' };
    case 'text':
      return { type: 'text', text: '' };
    case 'tool_call':
      return { type: 'tool_use', id: h.id, name: h.name, input: {} };
  }
}

const DELTA = { thinking: ['thinking_delta', 'thinking'], text: ['text_delta', 'text'], tool_call: ['input_json_delta', 'partial_json'] } as const;

const frame = (data: { type: string } & Record<string, unknown>): SseFrame => ({ event: data.type, data: JSON.stringify(data) });

/** Block events → content_block_start / _delta / _stop (one block open at a time; signature before a thinking block stops). */
class MessagesStream implements StreamWriter {
  private result: ChoiceResult | undefined;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly promptTokens: number,
  ) {}

  open(): SseFrame[] {
    // Sent before prefill: the cache split is not known yet, so the whole prompt counts as input here; message_delta
    // carries the exact numbers.
    return [
      frame({
        type: 'message_start',
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: this.promptTokens, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        },
      }),
    ];
  }

  events(_choice: number, events: readonly BlockEvent[], _logprobs: readonly TokenLogprob[] | undefined): SseFrame[] {
    const out: SseFrame[] = [];
    for (const e of events) {
      if (e.type === 'start') out.push(frame({ type: 'content_block_start', index: e.index, content_block: openingBlock(e.head) }));
      else if (e.type === 'delta') {
        const [type, field] = DELTA[e.head.kind];
        out.push(frame({ type: 'content_block_delta', index: e.index, delta: { type, [field]: e.text } }));
      } else {
        if (e.block.kind === 'thinking')
          out.push(frame({ type: 'content_block_delta', index: e.index, delta: { type: 'signature_delta', signature: thinkingSignature(e.block.text) } }));
        out.push(frame({ type: 'content_block_stop', index: e.index }));
      }
    }
    return out;
  }

  choiceDone(r: ChoiceResult): SseFrame[] {
    this.result = r;
    return [];
  }

  close(usage: Usage): SseFrame[] {
    const r = this.result;
    return [
      frame({
        type: 'message_delta',
        delta: { stop_reason: stopReason(r?.finish ?? 'stop'), stop_sequence: r?.stopSequence ?? null },
        usage: usageJson(usage),
      }),
      frame({ type: 'message_stop' }),
    ];
  }

  fail(e: ApiError): SseFrame[] {
    return [frame(anthropicError(e).body as { type: string })];
  }

  keepAlive(): SseFrame {
    return frame({ type: 'ping' });
  }
}

/**
 * Every failure on the Anthropic routes, before the stream (status + body) and after it started (`event: error`):
 * an internal failure is api_error, only a server that cannot take the request now is overloaded_error.
 */
export const ANTHROPIC_ERRORS: ErrorTable = {
  invalid_request: { type: 'invalid_request_error', status: 400 },
  context_length: { type: 'invalid_request_error', status: 400 },
  authentication: { type: 'authentication_error', status: 401 },
  permission: { type: 'permission_error', status: 403 },
  not_found: { type: 'not_found_error', status: 404 },
  model_not_found: { type: 'not_found_error', status: 404 },
  too_large: { type: 'request_too_large', status: 413 },
  rate_limit: { type: 'rate_limit_error', status: 429 },
  quota: { type: 'rate_limit_error', status: 429 },
  api: { type: 'api_error', status: 500 },
  overloaded: { type: 'overloaded_error', status: 529 },
};

/** `{"type": "error", "error": {type, message}}` and its status. */
export function anthropicError(e: ApiError): { status: number; body: unknown } {
  const row = errorRow(ANTHROPIC_ERRORS, e);
  return { status: row.status, body: { type: 'error', error: { type: row.type, message: e.message } } };
}
