// OpenAI Chat Completions (/v1/chat/completions, serving.md §5, clients.md §3): request → prompt + sampling,
// choices → `chat.completion` JSON or `chat.completion.chunk` SSE. Errors in the OpenAI shape.

import { z } from 'zod';
import type { TokenLogprob, Usage } from '../../engine/types.js';
import type { BlockEvent } from '../../text/blocks.js';
import type { ChatMessage, ToolDefinition } from '../../text/chat-messages.js';
import type { ChoiceResult } from './choices.js';
import { ApiError, checkToolSchema, maxTokens, newId, parseBody, renderChat, resolveThinking, sampling, zInt } from './common.js';
import type { ModelContext } from './common.js';
import type { Prepared, SseFrame, StreamWriter } from './dialect.js';
import { seconds } from './dialect.js';
import { checkResponseFormat, COMMENT_KEEP_ALIVE, dataOnlyFailFrames, finishReason, logprobEntry, openAiSamplingShape, usageJson } from './openai-common.js';

const part = z.union([z.string(), z.looseObject({ type: z.string(), text: z.string().optional() })]);
const content = z.union([z.string(), z.array(part)]).nullish();
const toolCall = z.object({
  id: z.string().optional(),
  type: z.string().optional(),
  function: z.object({ name: z.string(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).optional() }),
});
const message = z.object({
  role: z.string(),
  content,
  name: z.string().optional(),
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
  tool_calls: z.array(toolCall).nullish(),
  tool_call_id: z.string().optional(),
});
export const zFunctionTool = z.object({
  type: z.string().optional(),
  function: z
    .looseObject({ name: z.string().min(1), description: z.string().nullish(), parameters: z.unknown().optional(), strict: z.boolean().nullish() })
    .optional(),
});
export const zToolChoice = z
  .union([z.enum(['auto', 'none', 'required']), z.object({ type: z.string().optional(), function: z.object({ name: z.string() }) })])
  .nullish();
const zThinking = z.object({ type: z.string().optional(), clear_thinking: z.boolean().optional() }).nullish();
const responseFormat = z.object({ type: z.string() }).nullish();

export const chatRequest = z.object({
  model: z.string(),
  messages: z.array(message),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: zInt.refine((v) => v == null || v >= 1, 'must be at least 1'),
  max_completion_tokens: zInt.refine((v) => v == null || v >= 1, 'must be at least 1'),
  ...openAiSamplingShape,
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  tools: z.array(zFunctionTool).nullish(),
  tool_choice: zToolChoice,
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormat,
  user: z.string().nullish(),
  thinking: zThinking,
  enable_thinking: z.boolean().nullish(),
  reasoning_effort: z.string().nullish(),
  do_sample: z.boolean().nullish(),
  ignore_eos: z.boolean().nullish(),
  tool_stream: z.boolean().nullish(),
  request_id: z.string().nullish(),
  chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
  skip_special_tokens: z.boolean().nullish(),
});
export type ChatRequest = z.infer<typeof chatRequest>;

/** Function tools of a Chat request (other tool types are not callable by GLM and are dropped). */
export function functionTools(tools: z.infer<typeof zFunctionTool>[] | null | undefined, param = 'tools'): ToolDefinition[] {
  const out: ToolDefinition[] = [];
  (tools ?? []).forEach((t, i) => {
    if (t.type !== undefined && t.type !== 'function') return;
    if (!t.function) throw new ApiError('invalid_request', `${param}.${i}.function is required`, `${param}.${i}.function`);
    checkToolSchema(t.function.name, t.function.parameters, `${param}.${i}.function.parameters`);
    const fn: ToolDefinition['function'] = { name: t.function.name };
    if (t.function.description != null) fn.description = t.function.description;
    if (t.function.parameters != null) fn.parameters = t.function.parameters as Record<string, unknown>;
    out.push({ type: 'function', function: fn });
  });
  return out;
}

export function prepareChat(body: unknown, ctx: ModelContext): Prepared {
  const req = parseBody(chatRequest, body);
  checkResponseFormat(req.response_format?.type, 'response_format.type');
  const n = req.n ?? 1;
  if (n < 1 || n > 16) throw new ApiError('invalid_request', 'n must be between 1 and 16', 'n');
  const tc = req.tool_choice;
  const messages: ChatMessage[] = req.messages.map((m) => {
    const out: ChatMessage = { role: m.role === 'developer' ? 'system' : m.role, content: m.content ?? null };
    const reasoning = m.reasoning_content ?? m.reasoning; // both names render into history (clients.md §2 #8)
    if (typeof reasoning === 'string') out.reasoning_content = reasoning;
    if (m.tool_calls) out.tool_calls = m.tool_calls.map((c) => ({ ...c, function: { name: c.function.name, arguments: c.function.arguments ?? {} } }));
    if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    if (m.name !== undefined) out.name = m.name;
    return out;
  });
  const kwargs = req.chat_template_kwargs ?? undefined;
  const thinking = resolveThinking({
    type: req.thinking?.type,
    enable: (kwargs?.enable_thinking as boolean | undefined) ?? req.enable_thinking ?? undefined,
    effort: req.reasoning_effort ?? undefined,
  });
  const r = renderChat(ctx, {
    messages,
    tools: functionTools(req.tools),
    toolChoice: tc == null ? 'auto' : typeof tc === 'string' ? tc : { name: tc.function.name },
    thinking,
    clearThinking: req.thinking?.clear_thinking,
    reasoningEffort: req.reasoning_effort ?? undefined,
    templateKwargs: kwargs,
    skipSpecialTokens: req.skip_special_tokens,
  });
  const s = { ...sampling(req, maxTokens(ctx, r.prompt.length, req.max_completion_tokens ?? req.max_tokens)), ...(req.ignore_eos ? { ignoreEos: true } : {}) };
  const wantLogprobs = req.logprobs === true;
  const output = req.parallel_tool_calls === false ? { ...r.output, maxToolCalls: 1 } : r.output;
  const plan = { prompt: r.prompt, sampling: wantLogprobs ? { ...s, logprobs: req.top_logprobs ?? 0 } : s, output, tools: r.tools };
  const id = newId('chatcmpl-');
  const created = seconds();
  const model = req.model;
  return {
    endpoint: 'chat',
    plan,
    n,
    stream: req.stream === true,
    wantLogprobs,
    model,
    writer: () => new ChatStream(id, created, model, req.stream_options?.include_usage === true, n),
    respond: (choices, usage) => ({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: choices.map((c) => ({
        index: c.index,
        finish_reason: finishReason(c.finish),
        logprobs: c.logprobs ? { content: c.logprobs.map(logprobEntry), refusal: null } : null,
        message: {
          // refusal: required (nullable) in OpenAI's schema; this server never refuses.
          role: 'assistant',
          content: c.output.content,
          reasoning_content: c.output.reasoning,
          refusal: null,
          ...(c.output.toolCalls.length > 0
            ? { tool_calls: c.output.toolCalls.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: t.argumentsJson } })) }
            : {}),
        },
      })),
      usage: usageJson(
        usage,
        choices.reduce((a, c) => a + c.reasoningTokens, 0),
      ),
    }),
  };
}

/**
 * One OpenAI delta per block event: Chat has no blocks, only the kinds of delta. A call's start carries
 * id/type/name and arguments ""; its argument fragments follow under the same `index` (the call's, not the block's).
 */
export function chatDelta(e: BlockEvent): Record<string, unknown> | undefined {
  if (e.type === 'stop') return undefined;
  const h = e.head;
  if (e.type === 'start') {
    return h.kind === 'tool_call' ? { tool_calls: [{ index: h.call, id: h.id, type: 'function', function: { name: h.name, arguments: '' } }] } : undefined;
  }
  switch (h.kind) {
    case 'thinking':
      return { reasoning_content: e.text };
    case 'text':
      return { content: e.text };
    case 'tool_call':
      return { tool_calls: [{ index: h.call, function: { arguments: e.text } }] };
  }
}

class ChatStream implements StreamWriter {
  constructor(
    private readonly id: string,
    private readonly created: number,
    private readonly model: string,
    private readonly includeUsage: boolean,
    private readonly n: number,
  ) {}

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}): SseFrame {
    return {
      data: JSON.stringify({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.model,
        choices,
        ...(this.includeUsage ? { usage: null } : {}),
        ...extra,
      }),
    };
  }

  open(): SseFrame[] {
    // openai-node's accumulator needs a role in the stream ("missing role" otherwise).
    return Array.from({ length: this.n }, (_, i) => this.chunk([{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
  }

  events(choice: number, events: readonly BlockEvent[], logprobs: readonly TokenLogprob[] | undefined): SseFrame[] {
    const deltas = events.map(chatDelta).filter((d) => d !== undefined);
    if (logprobs && logprobs.length > 0 && deltas.length === 0) deltas.push({});
    return deltas.map((delta, i) =>
      this.chunk([
        {
          index: choice,
          delta,
          finish_reason: null,
          logprobs: logprobs && i === deltas.length - 1 ? { content: logprobs.map(logprobEntry) } : null,
        },
      ]),
    );
  }

  private reasoningTokens = 0;

  choiceDone(r: ChoiceResult): SseFrame[] {
    this.reasoningTokens += r.reasoningTokens;
    return [this.chunk([{ index: r.index, delta: {}, logprobs: null, finish_reason: finishReason(r.finish) }])];
  }

  close(usage: Usage): SseFrame[] {
    const frames: SseFrame[] = [];
    if (this.includeUsage)
      frames.push({
        data: JSON.stringify({
          id: this.id,
          object: 'chat.completion.chunk',
          created: this.created,
          model: this.model,
          choices: [],
          usage: usageJson(usage, this.reasoningTokens),
        }),
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
