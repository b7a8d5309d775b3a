// One request's model output as the server sees it: decoded text in any chunking → ordered reasoning / content /
// tool-call events, the same for every dialect, and the final message built from those same events (so a
// streamed answer and a non-streamed one never differ). Wraps src/text's OutputParser with the server's policies:
//   - no tools declared (or tool_choice none) → no tool parsing at all (clients.md §2 #9);
//   - a call is reported only if its name is a declared tool, once, whole (#3); an undeclared call is dropped;
//   - a call cut off by the end of output (max_tokens / stop string) after its name was streamed is closed:
//     its arguments are the pairs completed so far (an open string value keeps the text received), so every
//     call's fragments concatenate to one JSON object (#5, #10). Before its name is complete it stays text.

import type { ToolDefinition } from '../../text/chat-messages.js';
import { OutputParser } from '../../text/output-parser.js';
import { pyJsonDumps } from '../../text/py-json.js';

export type OutputEvent =
  | { readonly kind: 'reasoning'; readonly text: string }
  | { readonly kind: 'content'; readonly text: string }
  | { readonly kind: 'tool_start'; readonly index: number; readonly id: string; readonly name: string }
  | { readonly kind: 'tool_args'; readonly index: number; readonly text: string }
  /** The call's arguments are complete (always follows its last tool_args). */
  | { readonly kind: 'tool_end'; readonly index: number };

export interface OutputToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: Record<string, unknown>;
  /** Concatenation of the call's streamed fragments: `{"city": "Paris"}`. */
  readonly argumentsJson: string;
}

/** The output in order, adjacent pieces of one kind merged: what block-structured dialects (Anthropic, Responses) show. */
export type OutputSegment =
  | { readonly kind: 'reasoning' | 'content'; readonly text: string }
  | { readonly kind: 'tool'; readonly index: number };

export interface OutputResult {
  /** null when thinking is off (or there was no reasoning text at all); '' never reaches a client. */
  readonly reasoning: string | null;
  /** All content text outside tool calls; null when empty (or whitespace-only next to tool calls). */
  readonly content: string | null;
  readonly toolCalls: readonly OutputToolCall[];
  readonly segments: readonly OutputSegment[];
}

export interface ModelOutputOptions {
  readonly thinking: boolean;
  /** Declared tools (OpenAI function shape). Empty or undefined → no tool parsing. */
  readonly tools?: readonly ToolDefinition[];
  /** false for tool_choice none. */
  readonly parseToolCalls?: boolean;
  readonly newToolCallId?: () => string;
  /** parallel_tool_calls false → 1: calls after the first are dropped like undeclared ones. */
  readonly maxToolCalls?: number;
}

interface CallState {
  readonly index: number; // our index (declared calls only, 0..)
  readonly id: string;
  readonly name: string;
  args: string;
  closed: boolean;
}

export class ModelOutput {
  private readonly parser: OutputParser;
  private readonly declared: Set<string>;
  private readonly byParserIndex = new Map<number, CallState | null>(); // null: undeclared, dropped
  private readonly calls: CallState[] = [];
  private reasoning = '';
  private content = '';
  private pendingSpace = ''; // whitespace-only content held until we know whether a tool call follows it
  private readonly parsing: boolean;
  private readonly segments: { kind: 'reasoning' | 'content' | 'tool'; text: string; index: number }[] = [];
  private finished = false;

  constructor(private readonly options: ModelOutputOptions) {
    const tools = options.tools ?? [];
    this.declared = new Set(tools.map((t) => t.function.name));
    this.parsing = options.parseToolCalls !== false && tools.length > 0;
    this.parser = new OutputParser({ thinking: options.thinking, tools, parseToolCalls: this.parsing, newToolCallId: options.newToolCallId });
  }

  push(text: string): OutputEvent[] {
    if (text === '') return [];
    return this.map(this.parser.push(text), false);
  }

  finish(): OutputEvent[] {
    if (this.finished) return [];
    this.finished = true;
    return this.map(this.parser.finish(), true);
  }

  get toolCallCount(): number {
    return this.calls.length;
  }

  result(): OutputResult {
    const reasoning = this.options.thinking && this.reasoning !== '' ? this.reasoning : null;
    return {
      reasoning,
      content: this.content === '' ? null : this.content,
      toolCalls: this.calls.map((c) => ({ id: c.id, name: c.name, arguments: JSON.parse(c.args) as Record<string, unknown>, argumentsJson: c.args })),
      segments: this.segments.map((g) => (g.kind === 'tool' ? { kind: 'tool', index: g.index } : { kind: g.kind, text: g.text })),
    };
  }

  private map(deltas: ReturnType<OutputParser['push']>, final: boolean): OutputEvent[] {
    const out: OutputEvent[] = [];
    const open = final ? this.calls.filter((c) => !c.closed) : [];
    for (const d of deltas) {
      if (d.reasoning_content) {
        this.reasoning += d.reasoning_content;
        this.emit(out, { kind: 'reasoning', text: d.reasoning_content });
      }
      if (d.content) {
        // At finish, a call that never closed is given back by the parser as `<tool_call>…` text; once we streamed
        // its header we close it instead (see the header comment), and that text is not content.
        if (final && open.length > 0 && d.content.includes('<tool_call>')) {
          const before = d.content.slice(0, d.content.indexOf('<tool_call>'));
          if (before) this.addContent(before, out);
          continue;
        }
        this.addContent(d.content, out);
      }
      for (const tc of d.tool_calls ?? []) {
        if (tc.id !== undefined) {
          const name = tc.function.name ?? '';
          if (!this.declared.has(name) || this.calls.length >= (this.options.maxToolCalls ?? Infinity)) {
            this.byParserIndex.set(tc.index, null);
            continue;
          }
          const c: CallState = { index: this.calls.length, id: tc.id, name, args: '', closed: false };
          this.calls.push(c);
          this.byParserIndex.set(tc.index, c);
          this.pendingSpace = ''; // whitespace right before a call is not content
          this.emit(out, { kind: 'tool_start', index: c.index, id: c.id, name });
          continue;
        }
        const c = this.byParserIndex.get(tc.index);
        if (!c || !tc.function.arguments) continue;
        c.args += tc.function.arguments;
        out.push({ kind: 'tool_args', index: c.index, text: tc.function.arguments });
        if (isCompleteObject(c.args)) {
          c.closed = true;
          out.push({ kind: 'tool_end', index: c.index });
        }
      }
    }
    if (final) {
      if (this.pendingSpace !== '' && this.calls.length === 0) this.flushSpace(out);
      this.pendingSpace = '';
      for (const c of this.calls) {
        if (c.closed) continue;
        const rest = closingText(c.args);
        c.args += rest;
        c.closed = true;
        out.push({ kind: 'tool_args', index: c.index, text: rest });
        out.push({ kind: 'tool_end', index: c.index });
      }
    }
    return out;
  }

  /**
   * Content, with whitespace-only stretches held while tools are parsed: dropped if a call follows (or, at the end,
   * if there were calls), so no stream ever shows an empty text part and every dialect's final message equals
   * what its stream showed.
   */
  private addContent(text: string, out: OutputEvent[]): void {
    if (this.parsing) {
      if (text.trim() === '') {
        this.pendingSpace += text;
        return;
      }
      const lead = text.length - text.trimEnd().length;
      const body = this.pendingSpace + text.slice(0, text.length - lead);
      this.pendingSpace = text.slice(text.length - lead);
      text = body;
    }
    this.content += text;
    this.emit(out, { kind: 'content', text });
  }

  private flushSpace(out: OutputEvent[]): void {
    const text = this.pendingSpace;
    this.pendingSpace = '';
    this.content += text;
    this.emit(out, { kind: 'content', text });
  }

  /** Appends an event (merging adjacent content) and records the segment it belongs to. */
  private emit(out: OutputEvent[], e: OutputEvent): void {
    const last = out[out.length - 1];
    if (e.kind === 'content' && last?.kind === 'content') out[out.length - 1] = { kind: 'content', text: last.text + e.text };
    else out.push(e);
    const seg = this.segments[this.segments.length - 1];
    if (e.kind === 'reasoning' || e.kind === 'content') {
      if (seg && seg.kind === e.kind) seg.text += e.text;
      else this.segments.push({ kind: e.kind, text: e.text, index: -1 });
    } else if (e.kind === 'tool_start') this.segments.push({ kind: 'tool', text: '', index: e.index });
  }
}

/** The parser closes an object only when `</tool_call>` arrives, so a complete object means the call ended. */
function isCompleteObject(s: string): boolean {
  if (!s.endsWith('}')) return false;
  try {
    const v = JSON.parse(s) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** What turns a cut-off argument text (`{"a": 1, "b": "par`) into a JSON object. */
function closingText(args: string): string {
  if (args === '') return '{}';
  for (const tail of ['}', '"}']) {
    try {
      JSON.parse(args + tail);
      return tail;
    } catch {
      /* try the next */
    }
  }
  // A cut inside an escape sequence (`"a\`): the parser never streams that, but never emit invalid JSON.
  throw new Error(`cannot close tool-call arguments ${pyJsonDumps(args)}`);
}
