// OpenAI-format chat input (messages, tools) and its normalisation before any template sees it.

import { isFloatField, markFloatField, parseJson } from './py-json.js';
import { THINK_CLOSE, THINK_OPEN } from './special-tokens.js';

export type ContentPart = string | { type: string; text?: string; [key: string]: unknown };
export type MessageContent = string | ContentPart[] | null;

export interface ToolCallInput {
  id?: string;
  type?: string;
  /** arguments: the OpenAI JSON string form or an already-decoded object. */
  function: { name: string; arguments: string | Record<string, unknown> };
}

export interface ChatMessage {
  role: string;
  content?: MessageContent;
  reasoning_content?: string | null;
  tool_calls?: ToolCallInput[] | null;
  tool_call_id?: string;
  name?: string;
  [key: string]: unknown;
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; [key: string]: unknown };
  [key: string]: unknown;
}

/** Input no template can render (maps to HTTP 400). */
export class ChatInputError extends Error {
  override name = 'ChatInputError';
}

function textParts(content: ContentPart[], sep: string): string {
  const out: string[] = [];
  for (const p of content) {
    if (typeof p === 'string') out.push(p);
    else if (p && p.type === 'text' && typeof p.text === 'string') out.push(p.text);
  }
  return out.join(sep);
}

/**
 * What vLLM does before rendering GLM templates, plus what keeps every template path identical:
 * - null content → '' (Python would print "None");
 * - tool results given as content parts → their text parts joined with '\n';
 * - tool-call arguments given as a JSON string → decoded; anything but an object is rejected;
 * - an assistant content holding raw `…</think>…` with no reasoning_content → split into reasoning_content and
 *   content exactly as the GLM templates split it, so the template never has to look for markers inside text.
 */
export function normalizeMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  if (!Array.isArray(messages)) throw new ChatInputError('messages must be an array');
  return messages.map((m, i) => {
    if (!m || typeof m !== 'object' || typeof m.role !== 'string') throw new ChatInputError(`messages[${i}] needs a string role`);
    const out: ChatMessage = { ...m };
    if (out.content === null || out.content === undefined) out.content = '';
    if (m.role === 'tool' && Array.isArray(out.content)) out.content = textParts(out.content, '\n');
    if (m.role === 'assistant') {
      if (Array.isArray(m.tool_calls))
        out.tool_calls = m.tool_calls.map((tc: ToolCallInput, j: number) => normalizeToolCall(tc, `messages[${i}].tool_calls[${j}]`));
      if (typeof m.reasoning_content !== 'string') {
        const text = typeof out.content === 'string' ? out.content : textParts(out.content as ContentPart[], '');
        if (text.includes(THINK_CLOSE)) {
          const before = text.split(THINK_CLOSE)[0]!.replace(/\n+$/, '');
          out.reasoning_content = before.split(THINK_OPEN).pop()!.replace(/^\n+/, '');
          out.content = text.split(THINK_CLOSE).pop()!.replace(/^\n+/, '');
        }
      }
    }
    return out;
  });
}

function normalizeToolCall(tc: ToolCallInput, where: string): ToolCallInput {
  const fn = tc?.function;
  if (!fn || typeof fn.name !== 'string') throw new ChatInputError(`${where}.function.name must be a string`);
  let args: unknown = fn.arguments ?? {};
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : parseJson(args);
    } catch {
      throw new ChatInputError(`${where}.function.arguments is not valid JSON`);
    }
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) {
    throw new ChatInputError(`${where}.function.arguments must be a JSON object`);
  }
  return { ...tc, function: { ...fn, arguments: args as Record<string, unknown> } };
}

/** Deep copy with every string (keys included) passed through fn; float marks from parseJson carry over. */
export function mapStrings<T>(value: T, fn: (s: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return fn(v);
    if (Array.isArray(v)) {
      const out = v.map(walk);
      v.forEach((_, i) => isFloatField(v, i) && markFloatField(out, i));
      return out;
    }
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        out[fn(k)] = walk(x);
        if (isFloatField(v, k)) markFloatField(out, fn(k));
      }
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
