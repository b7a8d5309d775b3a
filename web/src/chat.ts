// Sending a conversation: one streamed request per assistant message, demo tool calls run in the browser and
// sent back until the model answers, a stop that aborts the stream, and each message's usage, speed and cost.

import type { ChatBody, ModelInfo, Usage, WireMessage } from './api.js';
import { HttpError, streamChat } from './api.js';
import { costOf } from './format.js';
import type { Conversation, Message, Stats, Store, ToolCall } from './store.js';
import { newId } from './store.js';
import { demoTools, runTool } from './tools.js';
import { toolResults } from './view.js';

/** Tool rounds per question before the page stops calling the model again. */
const MAX_ROUNDS = 6;

export interface RunnerHooks {
  /** Redraws the current conversation (a message was added, busy changed). */
  refresh(): void;
  /** Redraws one streaming message (called at most once per frame). */
  update(conv: Conversation, msg: Message): void;
  /** The server answered 401: ask for a key. */
  needKey(message: string): void;
}

/** The request's messages in OpenAI form: system prompt, then the history up to (not including) `upTo`. */
export function wireMessages(conv: Conversation, system: string, upTo?: Message): WireMessage[] {
  const out: WireMessage[] = [];
  if (system.trim()) out.push({ role: 'system', content: system });
  const results = toolResults(conv);
  for (const m of conv.messages) {
    if (m === upTo) break;
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    else if (m.role === 'tool' && m.toolCallId) out.push({ role: 'tool', tool_call_id: m.toolCallId, content: m.content });
    else if (m.role === 'assistant') {
      // Calls that never ran (stopped, cut off) are left out, with nothing to answer them.
      const calls = (m.toolCalls ?? []).filter((c) => results.has(c.id));
      if (m.content === '' && calls.length === 0) continue;
      const w: WireMessage = { role: 'assistant', content: m.content };
      if (m.reasoning) w.reasoning_content = m.reasoning;
      if (calls.length > 0) w.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments || '{}' } }));
      out.push(w);
    }
  }
  return out;
}

/** The settings' extra body fields: a JSON object, or nothing when the text is empty or not an object. */
export function extraFields(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export class ChatRunner {
  private controller: AbortController | null = null;
  /** The conversation being answered, if any. */
  conversationId: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly models: () => readonly ModelInfo[],
    private readonly hooks: RunnerHooks,
  ) {}

  get busy(): boolean {
    return this.controller !== null;
  }

  /** Aborts the stream: the fetch body is cancelled and the connection closed, so the server frees the request. */
  stop(): void {
    this.controller?.abort();
  }

  /** Answers the conversation's last user message (tool rounds included). */
  async run(conv: Conversation): Promise<void> {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.conversationId = conv.id;
    let msg: Message | undefined;
    let startedAt = performance.now();
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        startedAt = performance.now();
        msg = { id: newId(), role: 'assistant', content: '' };
        conv.messages.push(msg);
        this.store.touch(conv);
        this.hooks.refresh();
        const finish = await this.request(conv, msg, controller.signal);
        if (finish !== 'tool_calls' || !msg.toolCalls?.length) break;
        for (const call of msg.toolCalls) conv.messages.push({ id: newId(), role: 'tool', toolCallId: call.id, content: runTool(call.name, call.arguments) });
      }
    } catch (e) {
      if (msg) {
        if (controller.signal.aborted) msg.stopped = (performance.now() - startedAt) / 1000;
        else msg.error = (e as Error).message;
      }
      if (e instanceof HttpError && e.status === 401) this.hooks.needKey(e.message);
    } finally {
      this.controller = null;
      this.conversationId = null;
      this.store.touch(conv);
      this.hooks.refresh();
    }
  }

  private body(conv: Conversation, msg: Message): ChatBody {
    const s = this.store.settings;
    const body: ChatBody = { model: s.model, messages: wireMessages(conv, s.system, msg), thinking: { type: s.thinking ? 'enabled' : 'disabled' } };
    if (s.temperature !== null) body.temperature = s.temperature;
    if (s.topP !== null) body.top_p = s.topP;
    if (s.maxTokens !== null) body.max_tokens = s.maxTokens;
    if (s.tools) body.tools = demoTools;
    return { ...body, ...extraFields(s.extraBody) };
  }

  /** One streamed request into `msg`; returns the finish reason. */
  private async request(conv: Conversation, msg: Message, signal: AbortSignal): Promise<string> {
    const body = this.body(conv, msg);
    const t0 = performance.now();
    let first: number | undefined;
    let answer: number | undefined;
    let finish = 'stop';
    let usage: Usage | undefined;
    let model = body.model;
    const calls: ToolCall[] = [];
    let pending = false;
    const draw = (): void => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        this.hooks.update(conv, msg);
      });
    };
    for await (const d of streamChat(body, this.store.apiKey, signal)) {
      const now = performance.now();
      if (d.kind === 'reasoning' || d.kind === 'content' || d.kind === 'tool') first ??= now;
      switch (d.kind) {
        case 'reasoning':
          msg.reasoning = (msg.reasoning ?? '') + d.text;
          break;
        case 'content':
          answer ??= now;
          msg.content += d.text;
          break;
        case 'tool': {
          answer ??= now;
          const call = (calls[d.index] ??= { id: d.id ?? `call_${newId()}`, name: '', arguments: '' });
          if (d.name) call.name ||= d.name;
          call.arguments += d.args;
          msg.toolCalls = calls.filter((c) => c !== undefined);
          break;
        }
        case 'finish':
          finish = d.reason;
          break;
        case 'usage':
          usage = d.usage;
          if (d.model) model = d.model;
          break;
      }
      draw();
    }
    const end = performance.now();
    if (usage) msg.stats = this.stats(usage, model, finish, { t0, first: first ?? end, answer, end, thought: msg.reasoning !== undefined });
    return finish;
  }

  private stats(u: Usage, model: string, finish: string, t: { t0: number; first: number; answer: number | undefined; end: number; thought: boolean }): Stats {
    const completion = u.completion_tokens;
    const decodeSeconds = (t.end - t.first) / 1000;
    const price = this.models().find((m) => m.id === model || m.id === this.store.settings.model)?.price ?? this.store.settings.price;
    const s: Stats = {
      model,
      promptTokens: u.prompt_tokens,
      cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
      completionTokens: completion,
      reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
      seconds: (t.end - t.t0) / 1000,
      ttftSeconds: (t.first - t.t0) / 1000,
      // The first token's time is prefill; the rest arrived at the decode speed.
      tokensPerSecond: completion > 1 && decodeSeconds > 0 ? (completion - 1) / decodeSeconds : completion / Math.max((t.end - t.t0) / 1000, 1e-3),
      cost: typeof u.cost === 'number' ? u.cost : costOf(u, price),
      finish,
    };
    if (t.thought) s.thinkingSeconds = ((t.answer ?? t.end) - t.t0) / 1000;
    return s;
  }
}
