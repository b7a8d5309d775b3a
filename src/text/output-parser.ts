// GLM completion text → neutral output events (reasoning, text, tool calls; output-events.ts) and a final
// message: reasoning first, then text with tool calls. Feed decoded text in any chunking; the result does not
// depend on where the chunks were cut. This is the parser as vLLM defines it (every call reported, an unclosed
// call given back as text); model-output.ts adds what a server shows a client.

import type { ToolDefinition } from './chat-messages.js';
import type { OutputEvent, ToolCall } from './output-events.js';
import { pushMerged } from './output-events.js';
import { ReasoningParser } from './reasoning-parser.js';
import { ToolCallParser } from './tool-call-parser.js';

export interface OutputParserOptions {
  /** true when the prompt ended with `<think>` (GLM default): text up to `</think>` is reasoning. */
  readonly thinking: boolean;
  /** Request tools: their JSON schemas type the argument values. */
  readonly tools?: readonly ToolDefinition[] | null;
  /** false for tool_choice "none": `<tool_call>` text stays text. Default true. */
  readonly parseToolCalls?: boolean;
  /** Tool-call id generator (default `call_` + 24 hex digits). */
  readonly newToolCallId?: () => string;
  /** A call still open at the end: given back as text ('text', default, as vLLM) or dropped. */
  readonly unclosedCalls?: 'text' | 'drop';
}

/** The whole message in the OpenAI field names that `glm5 parse` prints. */
export interface ParsedOutput {
  readonly content: string | null;
  readonly reasoning_content: string | null;
  readonly tool_calls: ToolCall[];
}

export class OutputParser {
  private readonly reasoning: ReasoningParser;
  private readonly tools: ToolCallParser | undefined;
  private finished = false;

  constructor(options: OutputParserOptions) {
    this.reasoning = new ReasoningParser(options.thinking);
    this.tools =
      options.parseToolCalls === false
        ? undefined
        : new ToolCallParser({ tools: options.tools, newId: options.newToolCallId, unclosedCalls: options.unclosedCalls });
  }

  /** Decoded text of the next token(s), stop token excluded. */
  push(text: string): OutputEvent[] {
    if (this.finished) throw new Error('OutputParser: push after finish');
    const r = this.reasoning.push(text);
    return this.events(r.reasoning, r.content, false);
  }

  /** End of generation: flushes held-back text. */
  finish(): OutputEvent[] {
    if (this.finished) return [];
    this.finished = true;
    const r = this.reasoning.finish();
    return this.events(r.reasoning, r.content, true);
  }

  /** The whole message (call after finish()). */
  result(): ParsedOutput {
    const r = this.reasoning.result();
    if (!this.tools) return { content: r.content, reasoning_content: r.reasoning, tool_calls: [] };
    const t = this.tools.result();
    return { content: t.content, reasoning_content: r.reasoning, tool_calls: t.toolCalls };
  }

  private events(reasoning: string, content: string, final: boolean): OutputEvent[] {
    const out: OutputEvent[] = [];
    if (reasoning) out.push({ kind: 'reasoning', text: reasoning });
    if (!this.tools) {
      if (content) out.push({ kind: 'text', text: content });
      return out;
    }
    for (const e of content ? this.tools.push(content) : []) pushMerged(out, e);
    if (final) for (const e of this.tools.finish()) pushMerged(out, e);
    return out;
  }
}

/** Parses a complete completion text in one go (the non-streaming path and `glm5 parse`). */
export function parseOutput(text: string, options: OutputParserOptions): ParsedOutput {
  const p = new OutputParser(options);
  p.push(text);
  p.finish();
  return p.result();
}
