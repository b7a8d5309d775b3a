// Splits GLM output into reasoning and content, chunk by chunk (vLLM `glm45` / DeepSeek-R1 rules, spec §3).
// With thinking on the prompt ends in `<think>`, so output is `{reasoning}</think>{content}`.

import { findFirst, partialTagLength, safeCut } from './stream-scan.js';
import { THINK_CLOSE, THINK_OPEN, TOOL_CALL_OPEN } from './special-tokens.js';

export interface ReasoningDelta {
  reasoning: string;
  content: string;
}

export interface ReasoningResult {
  /** null when thinking is off; otherwise the text before `</think>` (may be ""). */
  readonly reasoning: string | null;
  /** null when empty (including: no `</think>` yet, i.e. generation cut inside the reasoning). */
  readonly content: string | null;
}

type State = 'start' | 'reasoning' | 'content';

/**
 * Rules: thinking off → everything is content. Thinking on → one leading `<think>` is dropped; reasoning runs to
 * the first `</think>` (dropped) or to a `<tool_call>` (kept, it starts the content: a tool call is never
 * swallowed into reasoning); after that everything is content. Suffixes that may begin a tag are held back.
 */
export class ReasoningParser {
  private state: State;
  private buf = '';
  private reasoning = '';
  private content = '';
  private finished = false;

  constructor(private readonly thinking: boolean) {
    this.state = thinking ? 'start' : 'content';
  }

  push(chunk: string): ReasoningDelta {
    if (this.finished) throw new Error('ReasoningParser: push after finish');
    this.buf += chunk;
    return this.drain(false);
  }

  /** End of output: releases anything held back. */
  finish(): ReasoningDelta {
    const d = this.drain(true);
    this.finished = true;
    return d;
  }

  result(): ReasoningResult {
    return { reasoning: this.thinking ? this.reasoning : null, content: this.content === '' ? null : this.content };
  }

  private drain(final: boolean): ReasoningDelta {
    const out: ReasoningDelta = { reasoning: '', content: '' };
    if (this.state === 'start') {
      if (!final && this.buf.length < THINK_OPEN.length && THINK_OPEN.startsWith(this.buf)) return out;
      if (this.buf.startsWith(THINK_OPEN)) this.buf = this.buf.slice(THINK_OPEN.length);
      this.state = 'reasoning';
    }
    if (this.state === 'reasoning') {
      const hit = findFirst(this.buf, [THINK_CLOSE, TOOL_CALL_OPEN]);
      if (hit) {
        out.reasoning = this.buf.slice(0, hit.index);
        this.buf = this.buf.slice(hit.index + (hit.tag === THINK_CLOSE ? hit.tag.length : 0));
        this.state = 'content';
      } else {
        const keep = final ? 0 : partialTagLength(this.buf, [THINK_CLOSE, TOOL_CALL_OPEN]);
        const cut = final ? this.buf.length : safeCut(this.buf, this.buf.length - keep);
        out.reasoning = this.buf.slice(0, cut);
        this.buf = this.buf.slice(cut);
      }
    }
    if (this.state === 'content') {
      out.content = this.buf;
      this.buf = '';
    }
    this.reasoning += out.reasoning;
    this.content += out.content;
    return out;
  }
}
