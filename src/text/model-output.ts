// One request's model output as a client is shown it: decoded text in any chunking → ordered neutral events
// (output-events.ts) and the final message built from those same events, so a streamed answer and a non-streamed
// one never differ. Wraps OutputParser with the serving policies (the server and `glm5 chat` share them):
//   - no tools declared (or tool_choice none) → no tool parsing at all (clients.md §2 #9);
//   - a call is reported only if its name is a declared tool, once, whole (#3); an undeclared call is dropped;
//   - a call cut off by the end of output (max_tokens / stop string) after its name was streamed is closed:
//     its arguments are the pairs completed so far (an open string value keeps the text received), so every
//     call's fragments concatenate to one JSON object (#5, #10). Before its name is complete it stays text;
//   - whitespace right before a call is not text.

import type { ToolDefinition } from './chat-messages.js';
import type { OutputEvent, ToolCall } from './output-events.js';
import { pushMerged } from './output-events.js';
import { OutputParser } from './output-parser.js';
import { pyJsonDumps } from './py-json.js';
import { TOOL_CALL_OPEN } from './special-tokens.js';

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

export interface OutputResult {
  /** null when thinking is off (or there was no reasoning text at all); '' never reaches a client. */
  readonly reasoning: string | null;
  /** All text outside tool calls; null when empty (or whitespace-only next to tool calls). */
  readonly content: string | null;
  readonly toolCalls: readonly ToolCall[];
}

interface CallState {
  readonly index: number; // our index (declared calls only, 0..)
  readonly id: string;
  readonly name: string;
  args: string;
  call: ToolCall | undefined; // set at tool_end
}

export class ModelOutput {
  private readonly parser: OutputParser;
  private readonly declared: Set<string>;
  private readonly byParserIndex = new Map<number, CallState | null>(); // null: undeclared, dropped
  private readonly calls: CallState[] = [];
  private reasoning = '';
  private content = '';
  private pendingSpace = ''; // whitespace-only text held until we know whether a tool call follows it
  private readonly parsing: boolean;
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
    return {
      reasoning: this.options.thinking && this.reasoning !== '' ? this.reasoning : null,
      content: this.content === '' ? null : this.content,
      toolCalls: this.calls.map((c) => c.call ?? { id: c.id, name: c.name, arguments: JSON.parse(c.args) as Record<string, unknown>, argumentsJson: c.args }),
    };
  }

  private map(events: readonly OutputEvent[], final: boolean): OutputEvent[] {
    const out: OutputEvent[] = [];
    const open = final ? this.calls.filter((c) => !c.call) : [];
    for (const e of events) {
      switch (e.kind) {
        case 'reasoning':
          this.reasoning += e.text;
          pushMerged(out, e);
          break;
        case 'text': {
          // At finish, a call that never closed is given back by the parser as `<tool_call>…` text; once we
          // streamed its header we close it instead (see the header comment), and that text is not content.
          const cut = final && open.length > 0 ? e.text.indexOf(TOOL_CALL_OPEN) : -1;
          if (cut >= 0) {
            if (cut > 0) this.addText(e.text.slice(0, cut), out);
          } else this.addText(e.text, out);
          break;
        }
        case 'tool_start': {
          if (!this.declared.has(e.name) || this.calls.length >= (this.options.maxToolCalls ?? Infinity)) {
            this.byParserIndex.set(e.index, null);
            break;
          }
          const c: CallState = { index: this.calls.length, id: e.id, name: e.name, args: '', call: undefined };
          this.calls.push(c);
          this.byParserIndex.set(e.index, c);
          this.pendingSpace = ''; // whitespace right before a call is not text
          out.push({ kind: 'tool_start', index: c.index, id: c.id, name: c.name });
          break;
        }
        case 'tool_args': {
          const c = this.byParserIndex.get(e.index);
          if (!c || !e.text) break;
          c.args += e.text;
          out.push({ kind: 'tool_args', index: c.index, text: e.text });
          break;
        }
        case 'tool_end': {
          const c = this.byParserIndex.get(e.index);
          if (!c) break;
          c.call = e.call;
          out.push({ kind: 'tool_end', index: c.index, call: c.call });
          break;
        }
      }
    }
    if (final) {
      if (this.pendingSpace !== '' && this.calls.length === 0) this.flushSpace(out);
      this.pendingSpace = '';
      for (const c of this.calls) {
        if (c.call) continue;
        const rest = closingText(c.args);
        c.args += rest;
        c.call = { id: c.id, name: c.name, arguments: JSON.parse(c.args) as Record<string, unknown>, argumentsJson: c.args };
        out.push({ kind: 'tool_args', index: c.index, text: rest });
        out.push({ kind: 'tool_end', index: c.index, call: c.call });
      }
    }
    return out;
  }

  /**
   * Text, with whitespace-only stretches held while tools are parsed: dropped if a call follows (or, at the end,
   * if there were calls), so no stream ever shows an empty text part and every dialect's final message equals
   * what its stream showed.
   */
  private addText(text: string, out: OutputEvent[]): void {
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
    pushMerged(out, { kind: 'text', text });
  }

  private flushSpace(out: OutputEvent[]): void {
    const text = this.pendingSpace;
    this.pendingSpace = '';
    this.content += text;
    pushMerged(out, { kind: 'text', text });
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
