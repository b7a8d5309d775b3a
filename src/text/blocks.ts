// Output events → blocks: one block per stretch of thinking or text and one per tool call, in output order, the
// index counting from 0. This is the one "open a block, switch when the kind of output changes, close at the end
// of a tool call" state machine; every wire format (Anthropic content blocks, Responses output items, Chat deltas)
// and the terminal chat map its block events, and the non-streamed answer is its finished blocks.

import type { OutputEvent, ToolCall } from './output-events.js';

export type BlockKind = 'thinking' | 'text' | 'tool_call';

/** What is known when a block opens. `call` is the tool call's index among the output's calls (Chat's index). */
export type BlockHead =
  | { readonly kind: 'thinking' }
  | { readonly kind: 'text' }
  | { readonly kind: 'tool_call'; readonly call: number; readonly id: string; readonly name: string };

/** A finished block. */
export type Block =
  | { readonly kind: 'thinking'; readonly text: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'tool_call'; readonly call: number; readonly toolCall: ToolCall };

/** Delta text is thinking text, answer text, or a fragment of a call's arguments JSON (never ''). */
export type BlockEvent =
  | { readonly type: 'start'; readonly index: number; readonly head: BlockHead }
  | { readonly type: 'delta'; readonly index: number; readonly head: BlockHead; readonly text: string }
  | { readonly type: 'stop'; readonly index: number; readonly block: Block };

/** The block being written: its head and the delta text so far. */
export interface OpenBlock {
  readonly index: number;
  readonly head: BlockHead;
  readonly text: string;
}

/**
 * Feed it the events of one output in order (a call's tool_start, tool_args and tool_end come together, as
 * ModelOutput emits them); finish() closes the last block.
 */
export class BlockSegmenter {
  private readonly done: Block[] = [];
  private current: { index: number; head: BlockHead; text: string } | undefined;
  private next = 0;

  push(events: readonly OutputEvent[]): BlockEvent[] {
    const out: BlockEvent[] = [];
    for (const e of events) {
      switch (e.kind) {
        case 'reasoning':
        case 'text': {
          const head: BlockHead = e.kind === 'reasoning' ? { kind: 'thinking' } : { kind: 'text' };
          if (e.text === '') break;
          if (this.current?.head.kind !== head.kind) this.start(out, head);
          this.delta(out, e.text);
          break;
        }
        case 'tool_start':
          this.start(out, { kind: 'tool_call', call: e.index, id: e.id, name: e.name });
          break;
        case 'tool_args':
          this.expectCall(e.index);
          this.delta(out, e.text);
          break;
        case 'tool_end':
          this.expectCall(e.index);
          this.stop(out, { kind: 'tool_call', call: e.index, toolCall: e.call });
          break;
      }
    }
    return out;
  }

  /** End of output: closes the open block. */
  finish(): BlockEvent[] {
    const out: BlockEvent[] = [];
    this.close(out);
    return out;
  }

  /** The finished blocks so far (all of them after finish()). */
  get blocks(): readonly Block[] {
    return this.done;
  }

  get open(): OpenBlock | undefined {
    return this.current;
  }

  private start(out: BlockEvent[], head: BlockHead): void {
    this.close(out);
    this.current = { index: this.next++, head, text: '' };
    out.push({ type: 'start', index: this.current.index, head });
  }

  private delta(out: BlockEvent[], text: string): void {
    const c = this.current!;
    if (text === '') return;
    c.text += text;
    out.push({ type: 'delta', index: c.index, head: c.head, text });
  }

  private close(out: BlockEvent[]): void {
    const c = this.current;
    if (!c) return;
    if (c.head.kind === 'tool_call') throw new Error(`tool call ${c.head.call} ended without its tool_end event`);
    this.stop(out, c.head.kind === 'thinking' ? { kind: 'thinking', text: c.text } : { kind: 'text', text: c.text });
  }

  private stop(out: BlockEvent[], block: Block): void {
    out.push({ type: 'stop', index: this.current!.index, block });
    this.done.push(block);
    this.current = undefined;
  }

  private expectCall(call: number): void {
    const h = this.current?.head;
    if (h?.kind !== 'tool_call' || h.call !== call) throw new Error(`tool call ${call} event outside its block`);
  }
}
