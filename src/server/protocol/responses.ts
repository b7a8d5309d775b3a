// OpenAI Responses (/v1/responses) as Codex CLI uses it (clients.md §4): stateless; input items → chat messages;
// function, custom (free-form) and namespace tools; output items with the full event sequence, every event with
// a strictly increasing sequence_number, every stream ending in response.completed / incomplete / failed.

import { z } from 'zod';
import type { TokenLogprob, Usage } from '../../engine/types.js';
import type { Block, BlockEvent, BlockHead } from '../../text/blocks.js';
import type { ChatMessage, ToolCallInput, ToolDefinition } from '../../text/chat-messages.js';
import type { ChoiceResult } from './choices.js';
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
import type { ModelContext } from './common.js';
import type { Prepared, SseFrame, StreamWriter } from './dialect.js';
import { seconds } from './dialect.js';
import { checkResponseFormat, OPENAI_ERRORS, openaiErrorBody } from './openai-common.js';

const item = z.looseObject({ type: z.string().optional(), role: z.string().optional() });
const zTool = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  description: z.string().nullish(),
  parameters: z.unknown().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
});

export const responsesRequest = z.object({
  model: z.string(),
  instructions: z.string().nullish(),
  input: z.union([z.string(), z.array(item)]),
  tools: z.array(zTool).nullish(),
  tool_choice: z.union([z.string(), z.looseObject({ type: z.string(), name: z.string().optional() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  reasoning: z.object({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: zInt,
  temperature: zTemperature,
  top_p: zTopP,
  previous_response_id: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  text: z.object({ format: z.object({ type: z.string() }).nullish() }).nullish(),
});
type Item = z.infer<typeof item>;

/** How a model-side tool name maps back to a Responses item (function, custom, or a namespaced function). */
interface ToolKind {
  kind: 'function' | 'custom';
  name: string;
  namespace?: string;
}

/** Responses tools → chat tools + a lookup from the name the model sees to the item it becomes. */
export function responsesTools(tools: z.infer<typeof zTool>[] | null | undefined): { tools: ToolDefinition[]; kinds: Map<string, ToolKind> } {
  const out: ToolDefinition[] = [];
  const kinds = new Map<string, ToolKind>();
  const add = (t: z.infer<typeof zTool>, where: string, namespace?: string): void => {
    // Built-ins (web_search, image_generation, tool_search, …) cannot run here: dropped from the prompt.
    if (t.type !== 'function' && t.type !== 'custom') return;
    if (!t.name) throw new ApiError('invalid_request', `${where}.name is required`, `${where}.name`);
    const modelName = namespace ? `${namespace}__${t.name}` : t.name;
    if (t.type === 'function') {
      checkToolSchema(t.name, t.parameters, `${where}.parameters`);
      // Key order as in Chat tools (name, description, parameters): the template serialises it.
      const fn: ToolDefinition['function'] = { name: modelName };
      if (t.description != null) fn.description = t.description;
      fn.parameters = (t.parameters ?? { type: 'object', properties: {} }) as Record<string, unknown>;
      out.push({ type: 'function', function: fn });
      kinds.set(modelName, namespace ? { kind: 'function', name: t.name, namespace } : { kind: 'function', name: t.name });
    } else {
      // Free-form input (apply_patch): one string argument the model fills verbatim.
      const fn: ToolDefinition['function'] = {
        name: modelName,
        description: t.description ?? '',
        parameters: { type: 'object', properties: { input: { type: 'string', description: 'the raw input' } }, required: ['input'] },
      };
      out.push({ type: 'function', function: fn });
      kinds.set(modelName, { kind: 'custom', name: t.name });
    }
  };
  (tools ?? []).forEach((t, i) => {
    if (t.type === 'namespace') (t.tools ?? []).forEach((s, j) => add(s as z.infer<typeof zTool>, `tools.${i}.tools.${j}`, t.name));
    else add(t, `tools.${i}`);
  });
  return { tools: out, kinds };
}

function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Item[])
    .map((p) => (typeof p.text === 'string' && ['input_text', 'output_text', 'text', 'reasoning_text', 'summary_text'].includes(p.type ?? '') ? p.text : ''))
    .join('');
}

/** Input items → chat messages (reasoning attaches to the next assistant turn; calls merge into one turn). */
export function toChatMessages(instructions: string | null | undefined, input: string | Item[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (instructions) out.push({ role: 'system', content: instructions });
  if (typeof input === 'string') return [...out, { role: 'user', content: input }];
  let reasoning: string | undefined;
  const assistant = (): ChatMessage => {
    const last = out[out.length - 1];
    if (last?.role === 'assistant' && reasoning === undefined) return last;
    const m: ChatMessage = { role: 'assistant', content: '' };
    if (reasoning !== undefined) m.reasoning_content = reasoning;
    reasoning = undefined;
    out.push(m);
    return m;
  };
  input.forEach((it, i) => {
    const type = it.type ?? 'message';
    if (type === 'message') {
      const role = it.role === 'developer' ? 'system' : (it.role ?? 'user');
      const text = partsText(it.content);
      if (role === 'assistant') {
        const m = assistant();
        m.content = (m.content as string) + text;
      } else out.push({ role, content: text });
    } else if (type === 'reasoning') {
      const text = partsText(it.content) || partsText(it.summary);
      reasoning = (reasoning ?? '') + text;
    } else if (type === 'function_call' || type === 'custom_tool_call') {
      const m = assistant();
      const name = String(it.namespace ? `${it.namespace}__${it.name}` : (it.name ?? ''));
      let args: ToolCallInput['function']['arguments'];
      if (type === 'custom_tool_call') args = { input: String(it.input ?? '') };
      else args = typeof it.arguments === 'string' || (it.arguments && typeof it.arguments === 'object') ? (it.arguments as string) : {};
      (m.tool_calls ??= []).push({ id: String(it.call_id ?? ''), type: 'function', function: { name, arguments: args } });
    } else if (type === 'function_call_output' || type === 'custom_tool_call_output') {
      out.push({ role: 'tool', content: partsText(it.output), tool_call_id: String(it.call_id ?? '') });
    } else if (type === 'item_reference') {
      throw new ApiError(
        'invalid_request',
        `input.${i}: item_reference needs stored responses; this server is stateless (send the items themselves)`,
        `input.${i}`,
      );
    }
    // other item types (images, web search results…) carry nothing the model can read: ignored
  });
  return out;
}

export function prepareResponses(body: unknown, ctx: ModelContext): Prepared {
  const req = parseBody(responsesRequest, body);
  if (req.previous_response_id)
    throw new ApiError(
      'invalid_request',
      'previous_response_id is not supported: this server is stateless (send the whole input with store: false)',
      'previous_response_id',
    );
  checkResponseFormat(req.text?.format?.type ?? undefined, 'text.format.type');
  const { tools, kinds } = responsesTools(req.tools);
  const tc = req.tool_choice;
  const toolChoice =
    tc == null || tc === 'auto' ? 'auto' : tc === 'none' || tc === 'required' ? tc : typeof tc === 'object' && tc.name ? { name: tc.name } : 'auto';
  const r = renderChat(ctx, {
    messages: toChatMessages(req.instructions, req.input),
    tools,
    toolChoice,
    thinking: resolveThinking({ effort: req.reasoning?.effort ?? undefined }),
  });
  const s = sampling({ temperature: req.temperature, top_p: req.top_p }, maxTokens(ctx, r.prompt.length, req.max_output_tokens));
  const id = newId('resp_');
  const created = seconds();
  const model = req.model;
  const shell = (status: string, output: unknown[], usage: unknown): Record<string, unknown> => ({
    id,
    object: 'response',
    created_at: created,
    status,
    model,
    output,
    usage,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    tool_choice: tc ?? 'auto',
    tools: req.tools ?? [],
    store: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    // Required (nullable) in OpenAI's Response schema, in every event that carries a response: strictly typed
    // clients reject a response without them. The request's values are echoed; unset ones are null.
    instructions: req.instructions ?? null,
    metadata: req.metadata ?? null,
    temperature: req.temperature ?? null,
    top_p: req.top_p ?? null,
  });
  return {
    endpoint: 'responses',
    plan: { prompt: r.prompt, sampling: s, output: req.parallel_tool_calls === false ? { ...r.output, maxToolCalls: 1 } : r.output, tools: r.tools },
    n: 1,
    stream: req.stream === true,
    wantLogprobs: false,
    model,
    writer: () => new ResponsesStream(shell, kinds),
    respond: (choices, usage) => {
      const c = choices[0]!;
      const output = c.output.blocks.map((b) => outputItem(b, kinds)); // as the stream shows them
      return { ...shell(c.finish === 'length' ? 'incomplete' : 'completed', output, usageJson(usage, c.reasoningTokens)), output_text: c.output.content ?? '' };
    },
  };
}

export function usageJson(u: Usage, reasoningTokens: number): unknown {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

const reasoningItem = (id: string, text: string): unknown => ({
  id,
  type: 'reasoning',
  summary: [],
  content: [{ type: 'reasoning_text', text }],
  encrypted_content: null,
});
const textPart = (text: string): unknown => ({ type: 'output_text', text, annotations: [], logprobs: [] });
const messageItem = (id: string, text: string, status: string): unknown => ({ id, type: 'message', role: 'assistant', status, content: [textPart(text)] });

function callItem(t: { id: string; name: string; argumentsJson: string }, kinds: Map<string, ToolKind>, status: string): unknown {
  const k = kinds.get(t.name) ?? { kind: 'function', name: t.name };
  if (k.kind === 'custom') {
    const input = (JSON.parse(t.argumentsJson) as { input?: unknown }).input;
    return {
      id: 'ctc_' + t.id,
      type: 'custom_tool_call',
      status,
      call_id: t.id,
      name: k.name,
      input: typeof input === 'string' ? input : JSON.stringify(input ?? ''),
    };
  }
  return {
    id: 'fc_' + t.id,
    type: 'function_call',
    status,
    call_id: t.id,
    name: k.name,
    ...(k.namespace ? { namespace: k.namespace } : {}),
    arguments: t.argumentsJson,
  };
}

/** A finished block as a completed output item (reasoning and message items get fresh ids). */
function outputItem(b: Block, kinds: Map<string, ToolKind>, id?: string): unknown {
  switch (b.kind) {
    case 'thinking':
      return reasoningItem(id ?? newId('rs_'), b.text);
    case 'text':
      return messageItem(id ?? newId('msg_'), b.text, 'completed');
    case 'tool_call':
      return callItem(b.toolCall, kinds, 'completed');
  }
}

/** The output item being streamed: its block head, item id and the text (or arguments JSON) so far. */
interface OpenItem {
  readonly head: BlockHead;
  readonly id: string;
  readonly outputIndex: number;
  text: string;
}

/** Block events → output_item.added / content_part / *.delta / *.done / output_item.done at output_index = block index. */
class ResponsesStream implements StreamWriter {
  private seq = 0;
  private item: OpenItem | undefined;
  private readonly done: unknown[] = [];
  private result: ChoiceResult | undefined;

  constructor(
    private readonly shell: (status: string, output: unknown[], usage: unknown) => Record<string, unknown>,
    private readonly kinds: Map<string, ToolKind>,
  ) {}

  private ev(data: Record<string, unknown> & { type: string }): SseFrame {
    return { event: data.type, data: JSON.stringify({ ...data, sequence_number: this.seq++ }) };
  }

  open(): SseFrame[] {
    return [
      this.ev({ type: 'response.created', response: this.shell('in_progress', [], null) }),
      this.ev({ type: 'response.in_progress', response: this.shell('in_progress', [], null) }),
    ];
  }

  private isCustom(h: BlockHead): boolean {
    return h.kind === 'tool_call' && this.kinds.get(h.name)?.kind === 'custom';
  }

  /** A call item as far as it streamed (custom tools get their input whole at the end: the JSON wrapper is ours). */
  private partialCall(it: OpenItem, h: BlockHead & { kind: 'tool_call' }): unknown {
    return callItem({ id: h.id, name: h.name, argumentsJson: this.isCustom(h) ? '{"input": ""}' : it.text }, this.kinds, 'in_progress');
  }

  private openItem(out: SseFrame[], index: number, head: BlockHead): void {
    const id = head.kind === 'tool_call' ? head.id : newId(head.kind === 'thinking' ? 'rs_' : 'msg_');
    const it: OpenItem = { head, id, outputIndex: index, text: '' };
    this.item = it;
    const base = { output_index: index, item_id: id };
    if (head.kind === 'thinking') {
      out.push(
        this.ev({
          type: 'response.output_item.added',
          output_index: index,
          item: { id, type: 'reasoning', summary: [], content: [], encrypted_content: null },
        }),
      );
      out.push(this.ev({ type: 'response.content_part.added', ...base, content_index: 0, part: { type: 'reasoning_text', text: '' } }));
    } else if (head.kind === 'text') {
      out.push(
        this.ev({
          type: 'response.output_item.added',
          output_index: index,
          item: { id, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
        }),
      );
      out.push(this.ev({ type: 'response.content_part.added', ...base, content_index: 0, part: textPart('') }));
    } else {
      out.push(this.ev({ type: 'response.output_item.added', output_index: index, item: this.partialCall(it, head) }));
    }
  }

  private delta(out: SseFrame[], text: string): void {
    const it = this.item!;
    it.text += text;
    const h = it.head;
    if (h.kind === 'thinking')
      out.push(this.ev({ type: 'response.reasoning_text.delta', output_index: it.outputIndex, item_id: it.id, content_index: 0, delta: text }));
    else if (h.kind === 'text')
      out.push(this.ev({ type: 'response.output_text.delta', output_index: it.outputIndex, item_id: it.id, content_index: 0, delta: text, logprobs: [] }));
    else if (!this.isCustom(h))
      out.push(this.ev({ type: 'response.function_call_arguments.delta', output_index: it.outputIndex, item_id: 'fc_' + it.id, delta: text }));
  }

  private closeItem(out: SseFrame[], block: Block): void {
    const it = this.item!;
    const base = { output_index: it.outputIndex, item_id: it.id };
    const item = outputItem(block, this.kinds, it.id) as { id: string; input?: string };
    if (block.kind === 'thinking') {
      out.push(this.ev({ type: 'response.reasoning_text.done', ...base, content_index: 0, text: block.text }));
      out.push(this.ev({ type: 'response.content_part.done', ...base, content_index: 0, part: { type: 'reasoning_text', text: block.text } }));
    } else if (block.kind === 'text') {
      out.push(this.ev({ type: 'response.output_text.done', ...base, content_index: 0, text: block.text, logprobs: [] }));
      out.push(this.ev({ type: 'response.content_part.done', ...base, content_index: 0, part: textPart(block.text) }));
    } else if (this.isCustom(it.head)) {
      out.push(this.ev({ type: 'response.custom_tool_call_input.done', ...base, item_id: item.id, input: item.input }));
    } else out.push(this.ev({ type: 'response.function_call_arguments.done', ...base, item_id: item.id, arguments: block.toolCall.argumentsJson }));
    this.done.push(item);
    out.push(this.ev({ type: 'response.output_item.done', output_index: it.outputIndex, item }));
    this.item = undefined;
  }

  events(_choice: number, events: readonly BlockEvent[], _logprobs: readonly TokenLogprob[] | undefined): SseFrame[] {
    const out: SseFrame[] = [];
    for (const e of events) {
      if (e.type === 'start') this.openItem(out, e.index, e.head);
      else if (e.type === 'delta') this.delta(out, e.text);
      else this.closeItem(out, e.block);
    }
    return out;
  }

  choiceDone(r: ChoiceResult): SseFrame[] {
    this.result = r;
    return [];
  }

  close(usage: Usage): SseFrame[] {
    const incomplete = this.result?.finish === 'length';
    return [
      this.ev({
        type: incomplete ? 'response.incomplete' : 'response.completed',
        response: this.shell(incomplete ? 'incomplete' : 'completed', this.done, usageJson(usage, this.result?.reasoningTokens ?? 0)),
      }),
    ];
  }

  fail(e: ApiError): SseFrame[] {
    const code = errorRow(OPENAI_ERRORS, e).code ?? 'server_error';
    return [this.ev({ type: 'response.failed', response: { ...this.shell('failed', this.done, null), error: { code, message: e.message } } })];
  }

  /**
   * `response.in_progress` with the output so far: openai-node replaces its snapshot with the event's response, so
   * an empty output here would lose the items being streamed.
   */
  keepAlive(): SseFrame {
    const output = [...this.done];
    const it = this.item;
    if (it?.head.kind === 'thinking') output.push(reasoningItem(it.id, it.text));
    else if (it?.head.kind === 'text') output.push(messageItem(it.id, it.text, 'in_progress'));
    else if (it?.head.kind === 'tool_call') output.push(this.partialCall(it, it.head));
    return this.ev({ type: 'response.in_progress', response: this.shell('in_progress', output, null) });
  }
}

/** Errors on /v1/responses, before the stream: the same table as `response.failed`. */
export const responsesError = (e: ApiError): { status: number; body: unknown } => openaiErrorBody(OPENAI_ERRORS, e);
