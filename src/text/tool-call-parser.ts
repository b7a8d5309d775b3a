// Streaming parser for GLM tool calls inside the content:
//   <tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value>…</tool_call>   (GLM-4.5/4.6 add '\n's)
// It emits the text outside calls and, per call, tool_start / tool_args fragments that concatenate to the call's
// JSON arguments (spec §4) / tool_end. Incremental: each character is scanned a bounded number of times.

import { randomBytes } from 'node:crypto';
import type { ToolDefinition } from './chat-messages.js';
import type { OutputEvent, ToolCall } from './output-events.js';
import { isFloatField, pyFloatRepr, pyJsonDumps, pyJsonString } from './py-json.js';
import { findFirst, partialTagLength, safeCut } from './stream-scan.js';
import { ARG_KEY_CLOSE, ARG_KEY_OPEN, ARG_VALUE_CLOSE, ARG_VALUE_OPEN, TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from './special-tokens.js';
import { ToolSchemas } from './tool-args.js';

export type ParsedToolCall = ToolCall;

/** What the tool-call parser emits: the text outside calls and the calls' events. */
export type ToolParserEvent = Exclude<OutputEvent, { kind: 'reasoning' }>;

export interface ToolCallParserOptions {
  readonly tools?: readonly ToolDefinition[] | null;
  readonly newId?: () => string;
  /**
   * A `<tool_call>` still open at the end of the output is not a call. 'text' (default, vLLM): its text is given
   * back as text. 'drop': it is dropped.
   */
  readonly unclosedCalls?: 'text' | 'drop';
}

type Phase = 'name' | 'body' | 'key' | 'between' | 'value';

interface OpenCall {
  raw: string; // everything consumed since <tool_call>, to give back as content if the call never closes
  phase: Phase;
  name: string;
  index: number; // -1: empty name, the call is skipped
  id: string;
  key: string;
  value: string;
  valueIsString: boolean;
  args: Record<string, unknown>;
  keys: string[];
  pairsText: string; // completed pairs as streamed, without the braces
  openText: string; // the string value being streamed: `, "key": "partial`
  sent: string;
}

const GAP = /^(?:\s|\\n)*$/; // what may separate </arg_key> from <arg_value>: whitespace or a literal "\n"

export class ToolCallParser {
  private readonly schemas: ToolSchemas;
  private readonly newId: () => string;
  private readonly dropUnclosed: boolean;
  private buf = '';
  private call: OpenCall | undefined;
  private content = '';
  private contentBeforeFirstCall: string | undefined;
  private readonly calls: ParsedToolCall[] = [];
  private events: ToolParserEvent[] = [];
  private finished = false;

  constructor(options: ToolCallParserOptions = {}) {
    this.schemas = new ToolSchemas(options.tools);
    this.newId = options.newId ?? (() => 'call_' + randomBytes(12).toString('hex'));
    this.dropUnclosed = options.unclosedCalls === 'drop';
  }

  push(text: string): ToolParserEvent[] {
    if (this.finished) throw new Error('ToolCallParser: push after finish');
    this.buf += text;
    return this.drain(false);
  }

  /** End of output. A `<tool_call>` that never closed is not a call: its text is given back as text (or dropped). */
  finish(): ToolParserEvent[] {
    const events = this.drain(true);
    this.finished = true;
    return events;
  }

  /**
   * Non-streaming view (vLLM): with calls, content is the text before the first `<tool_call>` (whitespace-only →
   * null); without, all of the text ("" → null). Streaming deltas also carry text between and after calls.
   */
  result(): { content: string | null; toolCalls: ParsedToolCall[] } {
    if (this.calls.length === 0) return { content: this.content === '' ? null : this.content, toolCalls: [] };
    const before = this.contentBeforeFirstCall ?? '';
    return { content: before.trim() === '' ? null : before, toolCalls: [...this.calls] };
  }

  private drain(final: boolean): ToolParserEvent[] {
    this.events = [];
    for (;;) {
      if (!this.call) {
        const i = this.buf.indexOf(TOOL_CALL_OPEN);
        if (i >= 0) {
          this.emitContent(this.buf.slice(0, i));
          this.buf = this.buf.slice(i + TOOL_CALL_OPEN.length);
          this.contentBeforeFirstCall ??= this.content;
          this.call = newCall();
          continue;
        }
        const cut = final ? this.buf.length : safeCut(this.buf, this.buf.length - partialTagLength(this.buf, [TOOL_CALL_OPEN]));
        this.emitContent(this.buf.slice(0, cut));
        this.buf = this.buf.slice(cut);
        break;
      }
      if (!this.step(this.call)) break;
    }
    if (final && this.call) {
      // Unclosed call: vLLM keeps it as text. (A tool_start may already have been emitted; no tool_end follows.)
      if (!this.dropUnclosed) this.emitContent(TOOL_CALL_OPEN + this.call.raw + this.buf);
      this.buf = '';
      this.call = undefined;
    }
    return this.events;
  }

  /** Advances the open call; false when it needs more text. */
  private step(c: OpenCall): boolean {
    switch (c.phase) {
      case 'name': {
        const hit = findFirst(this.buf, ['\n', ARG_KEY_OPEN, TOOL_CALL_CLOSE]);
        if (!hit) return false;
        c.name = this.buf.slice(0, hit.index).trim();
        this.take(c, hit.index + (hit.tag === '\n' ? 1 : 0));
        if (c.name !== '') {
          c.index = this.nextIndex++;
          c.id = this.newId();
          this.events.push({ kind: 'tool_start', index: c.index, id: c.id, name: c.name });
        }
        c.phase = 'body';
        return true;
      }
      case 'body': {
        const hit = findFirst(this.buf, [ARG_KEY_OPEN, TOOL_CALL_CLOSE]);
        if (!hit) {
          this.take(c, this.buf.length - partialTagLength(this.buf, [ARG_KEY_OPEN, TOOL_CALL_CLOSE])); // stray text
          return false;
        }
        this.take(c, hit.index + hit.tag.length);
        if (hit.tag === TOOL_CALL_CLOSE) this.close(c);
        else c.phase = 'key';
        return true;
      }
      case 'key': {
        const hit = findFirst(this.buf, [ARG_KEY_CLOSE, TOOL_CALL_CLOSE]);
        if (!hit) return false;
        if (hit.tag === ARG_KEY_CLOSE) {
          c.key = this.buf.slice(0, hit.index).trim();
          c.phase = 'between';
        }
        this.take(c, hit.index + hit.tag.length);
        if (hit.tag === TOOL_CALL_CLOSE) this.close(c); // pair without </arg_key>: dropped
        return true;
      }
      case 'between': {
        const tags = [ARG_VALUE_OPEN, ARG_KEY_OPEN, TOOL_CALL_CLOSE];
        const hit = findFirst(this.buf, tags);
        if (!hit) {
          const gap = this.buf.slice(0, this.buf.length - partialTagLength(this.buf, tags));
          if (GAP.test(gap.replace(/\\$/, ''))) return false;
          c.phase = 'body'; // junk between key and value: the pair is malformed and dropped
          return true;
        }
        if (hit.tag === ARG_VALUE_OPEN && GAP.test(this.buf.slice(0, hit.index))) {
          this.take(c, hit.index + hit.tag.length);
          c.phase = 'value';
          c.value = '';
          c.valueIsString = this.schemas.isStringArg(c.name, c.key);
        } else c.phase = 'body'; // the pair has no value: dropped; the tag is read again as body
        return true;
      }
      case 'value': {
        const hit = findFirst(this.buf, [ARG_VALUE_CLOSE, TOOL_CALL_CLOSE]);
        if (!hit) {
          const cut = safeCut(this.buf, this.buf.length - partialTagLength(this.buf, [ARG_VALUE_CLOSE, TOOL_CALL_CLOSE]));
          c.value += this.buf.slice(0, cut);
          this.take(c, cut);
          if (c.valueIsString && c.index >= 0) {
            c.openText = (c.pairsText ? ', ' : '') + pyJsonString(c.key, false) + ': ' + JSON.stringify(c.value).slice(0, -1);
            this.emitArgs(c, false);
          }
          return false;
        }
        c.value += this.buf.slice(0, hit.index);
        this.take(c, hit.index + hit.tag.length);
        // A call that ends inside a value keeps the value (so streamed text stays a prefix of the result).
        this.completePair(c);
        if (hit.tag === TOOL_CALL_CLOSE) this.close(c);
        else c.phase = 'body';
        return true;
      }
    }
  }

  private nextIndex = 0;

  private take(c: OpenCall, n: number): void {
    c.raw += this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
  }

  private completePair(c: OpenCall): void {
    if (c.index < 0) return;
    const sep = c.pairsText ? ', ' : '';
    this.schemas.setArg(c.args, c.name, c.key, c.value);
    if (!c.keys.includes(c.key)) c.keys.push(c.key); // a repeated key overwrites in place, like a Python dict
    c.pairsText += sep + pyJsonString(c.key, false) + ': ' + dumpArg(c.args, c.key);
    c.openText = '';
    this.emitArgs(c, false);
  }

  private close(c: OpenCall): void {
    if (c.index >= 0) {
      this.emitArgs(c, true);
      const argumentsJson = '{' + c.keys.map((k) => pyJsonString(k, false) + ': ' + dumpArg(c.args, k)).join(', ') + '}';
      const call: ToolCall = { id: c.id, name: c.name, arguments: c.args, argumentsJson };
      this.calls.push(call);
      this.events.push({ kind: 'tool_end', index: c.index, call });
    }
    this.call = undefined;
  }

  /** Sends the part of the call's argument text not sent yet; only ever appends. */
  private emitArgs(c: OpenCall, closing: boolean): void {
    const body = c.pairsText + c.openText;
    const target = closing ? '{' + body + '}' : body ? '{' + body : '';
    if (target.length <= c.sent.length) return;
    if (!target.startsWith(c.sent)) throw new Error('tool-call arguments stream diverged'); // a bug, never input
    this.events.push({ kind: 'tool_args', index: c.index, text: target.slice(c.sent.length) });
    c.sent = target;
  }

  private emitContent(text: string): void {
    if (!text) return;
    this.content += text;
    const last = this.events[this.events.length - 1];
    if (last?.kind === 'text') this.events[this.events.length - 1] = { kind: 'text', text: last.text + text };
    else this.events.push({ kind: 'text', text });
  }
}

function newCall(): OpenCall {
  return {
    raw: '',
    phase: 'name',
    name: '',
    index: -1,
    id: '',
    key: '',
    value: '',
    valueIsString: false,
    args: {},
    keys: [],
    pairsText: '',
    openText: '',
    sent: '',
  };
}

function dumpArg(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  return typeof v === 'number' && isFloatField(args, key) ? pyFloatRepr(v) : pyJsonDumps(v);
}
