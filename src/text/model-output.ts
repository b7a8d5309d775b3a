// One request's model output as a client is shown it: decoded text in any chunking → ordered neutral events
// (output-events.ts) and the final message built from those same events, so a streamed answer and a non-streamed
// one never differ. Wraps OutputParser with the serving policies (the server and `glm5 chat` share them):
//   - no tools declared (or tool_choice none) → no tool parsing at all (clients.md §2 #9);
//   - a call is reported only when it is complete and valid: its `</tool_call>` arrived, its name is a declared
//     tool, and every argument its JSON schema lists as `required` is there. Until then nothing of it is shown;
//     then it is reported once, whole (#3, #5, #10). A call that is not (undeclared, missing a required argument,
//     or cut off by a stop token / EOS / max_tokens / a stop string) is dropped, markup and all; it is never text;
//   - control tokens (a tokenizer's added tokens) never reach text or reasoning (control-tokens.ts);
//   - whitespace right before a reported call is not text.

import type { ToolDefinition } from './chat-messages.js';
import { ControlTokenFilter } from './control-tokens.js';
import type { OutputEvent, ToolCall } from './output-events.js';
import { pushMerged } from './output-events.js';
import { OutputParser } from './output-parser.js';

export interface ModelOutputOptions {
  readonly thinking: boolean;
  /** Declared tools (OpenAI function shape). Empty or undefined → no tool parsing. */
  readonly tools?: readonly ToolDefinition[];
  /** false for tool_choice none. */
  readonly parseToolCalls?: boolean;
  readonly newToolCallId?: () => string;
  /** parallel_tool_calls false → 1: valid calls after the first are dropped. */
  readonly maxToolCalls?: number;
  /** Removed from text and reasoning (default: GLM-5's added tokens); [] keeps everything. */
  readonly controlTokens?: readonly string[];
}

export interface OutputResult {
  /** null when thinking is off (or there was no reasoning text at all); '' never reaches a client. */
  readonly reasoning: string | null;
  /** All text outside tool calls; null when empty (or whitespace-only next to tool calls). */
  readonly content: string | null;
  readonly toolCalls: readonly ToolCall[];
}

/** What a call needs to be reported: a declared name and the required arguments of its schema. */
function requiredArgs(tools: readonly ToolDefinition[]): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>();
  for (const t of tools) {
    const req = (t.function.parameters as { required?: unknown } | undefined)?.required;
    m.set(t.function.name, Array.isArray(req) ? req.filter((k): k is string => typeof k === 'string') : []);
  }
  return m;
}

export class ModelOutput {
  private readonly parser: OutputParser;
  private readonly required: Map<string, readonly string[]>;
  private readonly calls: ToolCall[] = [];
  private reasoning = '';
  private content = '';
  private pendingSpace = ''; // whitespace-only text held until we know whether a reported call follows it
  private readonly parsing: boolean;
  private readonly reasoningFilter: ControlTokenFilter;
  private readonly textFilter: ControlTokenFilter;
  private finished = false;

  constructor(private readonly options: ModelOutputOptions) {
    const tools = options.tools ?? [];
    this.required = requiredArgs(tools);
    this.parsing = options.parseToolCalls !== false && tools.length > 0;
    this.parser = new OutputParser({
      thinking: options.thinking,
      tools,
      parseToolCalls: this.parsing,
      newToolCallId: options.newToolCallId,
      unclosedCalls: 'drop',
    });
    this.reasoningFilter = new ControlTokenFilter(options.controlTokens);
    this.textFilter = new ControlTokenFilter(options.controlTokens);
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
      toolCalls: [...this.calls],
    };
  }

  private map(events: readonly OutputEvent[], final: boolean): OutputEvent[] {
    const out: OutputEvent[] = [];
    for (const e of events) {
      switch (e.kind) {
        case 'reasoning':
          this.addReasoning(this.reasoningFilter.push(e.text), out);
          break;
        case 'text':
          this.addReasoning(this.reasoningFilter.flush(), out); // reasoning has ended
          this.addText(this.textFilter.push(e.text), out);
          break;
        case 'tool_start':
          // A control token cannot span a call: the text before it is decided.
          this.addReasoning(this.reasoningFilter.flush(), out);
          this.addText(this.textFilter.flush(), out);
          break;
        case 'tool_args':
          break; // the whole call is sent at its end, once it is known to be valid
        case 'tool_end':
          if (this.valid(e.call)) this.report(e.call, out);
          break;
      }
    }
    if (final) {
      // A call still open here was cut off (the parser dropped its text): it is not reported.
      this.addReasoning(this.reasoningFilter.flush(), out);
      this.addText(this.textFilter.flush(), out);
      if (this.pendingSpace !== '' && this.calls.length === 0) this.addContent(this.pendingSpace, out);
      this.pendingSpace = '';
    }
    return out;
  }

  private valid(call: ToolCall): boolean {
    const required = this.required.get(call.name);
    if (required === undefined) return false; // not a declared tool
    if (this.calls.length >= (this.options.maxToolCalls ?? Infinity)) return false;
    return required.every((k) => Object.hasOwn(call.arguments, k));
  }

  private report(call: ToolCall, out: OutputEvent[]): void {
    const index = this.calls.length;
    this.calls.push(call);
    this.pendingSpace = ''; // whitespace right before a call is not text
    out.push({ kind: 'tool_start', index, id: call.id, name: call.name });
    out.push({ kind: 'tool_args', index, text: call.argumentsJson });
    out.push({ kind: 'tool_end', index, call });
  }

  private addReasoning(text: string, out: OutputEvent[]): void {
    if (text === '') return;
    this.reasoning += text;
    pushMerged(out, { kind: 'reasoning', text });
  }

  /**
   * Text, with whitespace-only stretches held while tools are parsed: dropped if a call follows (or, at the end,
   * if there were calls), so no stream ever shows an empty text part and every dialect's final message equals
   * what its stream showed.
   */
  private addText(text: string, out: OutputEvent[]): void {
    if (text === '') return;
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
    this.addContent(text, out);
  }

  private addContent(text: string, out: OutputEvent[]): void {
    this.content += text;
    pushMerged(out, { kind: 'text', text });
  }
}
