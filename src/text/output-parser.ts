// GLM completion text → OpenAI-style stream deltas and a final message: reasoning first, then content with tool
// calls. Feed decoded text in any chunking; the result does not depend on where the chunks were cut.

import type { ToolDefinition } from './chat-messages.js';
import { ReasoningParser } from './reasoning-parser.js';
import { ToolCallParser } from './tool-call-parser.js';
import type { ParsedToolCall, ToolCallDelta, ToolParserEvent } from './tool-call-parser.js';

export interface OutputParserOptions {
  /** true when the prompt ended with `<think>` (GLM default): text up to `</think>` is reasoning. */
  readonly thinking: boolean;
  /** Request tools: their JSON schemas type the argument values. */
  readonly tools?: readonly ToolDefinition[] | null;
  /** false for tool_choice "none": `<tool_call>` text stays content. Default true. */
  readonly parseToolCalls?: boolean;
  /** Tool-call id generator (default `call_` + 24 hex digits). */
  readonly newToolCallId?: () => string;
}

/** One delta carries exactly one of the fields (in stream order); map each to one SSE chunk. */
export interface OutputDelta {
  reasoning_content?: string;
  content?: string;
  tool_calls?: ToolCallDelta[];
}

export interface ParsedOutput {
  readonly content: string | null;
  readonly reasoning_content: string | null;
  readonly tool_calls: ParsedToolCall[];
}

export class OutputParser {
  private readonly reasoning: ReasoningParser;
  private readonly tools: ToolCallParser | undefined;
  private finished = false;

  constructor(options: OutputParserOptions) {
    this.reasoning = new ReasoningParser(options.thinking);
    this.tools = options.parseToolCalls === false ? undefined : new ToolCallParser({ tools: options.tools, newId: options.newToolCallId });
  }

  /** Decoded text of the next token(s), stop token excluded. */
  push(text: string): OutputDelta[] {
    if (this.finished) throw new Error('OutputParser: push after finish');
    const r = this.reasoning.push(text);
    return this.deltas(r.reasoning, r.content, false);
  }

  /** End of generation: flushes held-back text. */
  finish(): OutputDelta[] {
    if (this.finished) return [];
    this.finished = true;
    const r = this.reasoning.finish();
    return this.deltas(r.reasoning, r.content, true);
  }

  /** The whole message (call after finish()). */
  result(): ParsedOutput {
    const r = this.reasoning.result();
    if (!this.tools) return { content: r.content, reasoning_content: r.reasoning, tool_calls: [] };
    const t = this.tools.result();
    return { content: t.content, reasoning_content: r.reasoning, tool_calls: t.toolCalls };
  }

  private deltas(reasoning: string, content: string, final: boolean): OutputDelta[] {
    const out: OutputDelta[] = [];
    if (reasoning) out.push({ reasoning_content: reasoning });
    if (!this.tools) {
      if (content) out.push({ content });
      return out;
    }
    const events: ToolParserEvent[] = content ? this.tools.push(content) : [];
    if (final) events.push(...this.tools.finish());
    for (const e of events) {
      if ('content' in e) {
        const last = out[out.length - 1];
        if (last?.content !== undefined) last.content += e.content;
        else out.push({ content: e.content });
      } else out.push({ tool_calls: [e.toolCall] });
    }
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
