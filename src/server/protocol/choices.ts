// The dialect-independent middle of every request: engine events of one choice → output events (text/
// model-output.ts) → block events (text/blocks.ts), and the finished choice (its blocks, message, finish reason,
// logprobs). Dialect modules only format what this produces.

import type { DoneEvent, EngineEvent, TokenLogprob, Usage } from '../../engine/types.js';
import { BlockSegmenter } from '../../text/blocks.js';
import type { Block, BlockEvent } from '../../text/blocks.js';
import { ModelOutput } from '../../text/model-output.js';
import type { ModelOutputOptions, OutputResult } from '../../text/model-output.js';
import { pushAll } from '../../tensor/arrays.js';

export type Finish = 'stop' | 'length' | 'tool_calls' | 'stop_sequence' | 'abort' | 'error';

/** The finished output: the message fields and the same output as blocks in order (what the stream showed). */
export interface ChoiceOutput extends OutputResult {
  readonly blocks: readonly Block[];
}

export interface ChoiceResult {
  readonly index: number;
  readonly output: ChoiceOutput;
  readonly finish: Finish;
  /** The stop string that matched, when finish is stop_sequence. */
  readonly stopSequence: string | null;
  readonly logprobs: TokenLogprob[] | null;
  readonly text: string;
  /** Every generated token id (a stop token that ended the choice included). */
  readonly ids: readonly number[];
  /** Tokens up to and including the one that closed the reasoning (`</think>` or a `<tool_call>` inside it). */
  readonly reasoningTokens: number;
  readonly error?: string;
}

/** Tracks one choice: feed engine events, get block events; after `done`, `result()`. */
export class ChoiceTracker {
  readonly output: ModelOutput;
  private readonly blocks = new BlockSegmenter();
  private text = '';
  private readonly ids: number[] = [];
  private logprobs: TokenLogprob[] | null = null;
  private done: DoneEvent | undefined;
  private inReasoning: boolean;
  private reasoningTokens = 0;

  constructor(
    readonly index: number,
    options: ModelOutputOptions,
    wantLogprobs: boolean,
  ) {
    this.output = new ModelOutput(options);
    this.inReasoning = options.thinking;
    if (wantLogprobs) this.logprobs = [];
  }

  /** Block events for one engine event (on `done` the parser is flushed and the last block closed). */
  push(ev: EngineEvent): BlockEvent[] {
    if (ev.type === 'token') {
      this.text += ev.text;
      pushAll(this.ids, ev.ids);
      // GLM's tags are single tokens, so the token that ends the reasoning carries the whole tag.
      if (this.inReasoning) {
        this.reasoningTokens += ev.ids.length;
        if (ev.text.includes('</think>') || ev.text.includes('<tool_call>')) this.inReasoning = false;
      }
      if (this.logprobs && ev.logprobs) pushAll(this.logprobs, ev.logprobs);
      return this.blocks.push(this.output.push(ev.text));
    }
    this.done = ev;
    const out = this.blocks.push(this.output.finish());
    for (const e of this.blocks.finish()) out.push(e);
    return out;
  }

  get usage(): Usage | undefined {
    return this.done?.usage;
  }

  get finished(): boolean {
    return this.done !== undefined;
  }

  result(): ChoiceResult {
    const d = this.done;
    if (!d) throw new Error('choice not finished');
    const out: ChoiceOutput = { ...this.output.result(), blocks: this.blocks.blocks };
    return {
      index: this.index,
      output: out,
      finish: finishOf(d, out.toolCalls.length),
      text: this.text,
      ids: this.ids,
      reasoningTokens: this.reasoningTokens,
      stopSequence: d.finishReason === 'stop' && typeof d.stopReason === 'string' ? d.stopReason : null,
      logprobs: this.logprobs,
      ...(d.error !== undefined ? { error: d.error } : {}),
    };
  }
}

/** `length` wins over tool calls (serving.md §4); a tool stop always carries ≥ 1 call (clients.md §2 #1). */
export function finishOf(d: DoneEvent, toolCalls: number): Finish {
  switch (d.finishReason) {
    case 'length':
      return 'length';
    case 'abort':
      return 'abort';
    case 'error':
      return 'error';
    case 'stop':
      if (toolCalls > 0) return 'tool_calls';
      return typeof d.stopReason === 'string' ? 'stop_sequence' : 'stop';
  }
}

/** n choices share one prompt: the prompt is billed once (first choice's cache view), completions add up. */
export function totalUsage(usages: readonly Usage[]): Usage {
  const first = usages[0] ?? { promptTokens: 0, cachedTokens: 0, completionTokens: 0 };
  return { promptTokens: first.promptTokens, cachedTokens: first.cachedTokens, completionTokens: usages.reduce((a, u) => a + u.completionTokens, 0) };
}
