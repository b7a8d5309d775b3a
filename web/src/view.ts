// A conversation's messages as DOM. Assistant messages are live views updated in place while they stream
// (so an opened or closed thinking block keeps its state); tool results appear inside the call that asked.

import { h, icon, setChildren } from './dom.js';
import { duration, statsLine } from './format.js';
import { renderMarkdown } from './markdown.js';
import type { Conversation, Message, ToolCall } from './store.js';

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/** `{"expression": "48 * 7"}` → `expression: "48 * 7"`, for the one-line summary of a call. */
function inlineArgs(json: string): string {
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    return Object.entries(o)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(', ');
  } catch {
    return json;
  }
}

function actionButton(action: string, iconName: string, label: string, id: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'act', 'data-action': action, 'data-id': id, title: label, 'aria-label': label });
  b.append(icon(iconName), h('span', {}, label));
  return b;
}

class ToolView {
  readonly el: HTMLElement;
  private readonly summaryArgs: HTMLElement;
  private readonly args: HTMLElement;
  private readonly result: HTMLElement;
  private readonly status: HTMLElement;
  private shownArgs = '';
  private shownResult: string | undefined;

  constructor(call: ToolCall) {
    this.summaryArgs = h('code', { class: 'tool-inline' });
    this.status = h('span', { class: 'tool-status' });
    this.args = h('pre', { class: 'tool-args' });
    this.result = h('pre', { class: 'tool-result' });
    this.el = h(
      'div',
      { class: 'tool-call', 'data-tool': call.name },
      h('div', { class: 'tool-head' }, icon('tool'), h('span', { class: 'tool-name' }, call.name), this.summaryArgs, this.status),
      h(
        'div',
        { class: 'tool-io' },
        h('div', { class: 'tool-part' }, h('div', { class: 'io-label' }, 'Input'), this.args),
        h('div', { class: 'tool-part' }, h('div', { class: 'io-label' }, 'Output'), this.result),
      ),
    );
  }

  update(call: ToolCall, result: string | undefined, streaming: boolean): void {
    if (call.arguments !== this.shownArgs) {
      this.shownArgs = call.arguments;
      this.args.textContent = pretty(call.arguments) || '{}';
      this.summaryArgs.textContent = inlineArgs(call.arguments);
    }
    if (result !== this.shownResult) {
      this.shownResult = result;
      this.result.textContent = result === undefined ? '' : pretty(result);
    }
    const state = result !== undefined ? (/^\s*\{\s*"error"/.test(result) ? 'error' : 'done') : streaming ? 'running' : 'skipped';
    this.el.dataset.status = state;
    this.status.textContent = state === 'running' ? 'running…' : state === 'done' ? 'done' : state === 'error' ? 'error' : 'not run';
  }
}

/** One assistant message: thinking (collapsible), text, tool calls, stats and actions. */
export class AssistantView {
  readonly el: HTMLElement;
  private readonly thinking: HTMLDetailsElement;
  private readonly thinkingLabel: HTMLElement;
  private readonly thinkingBody: HTMLElement;
  private readonly body: HTMLElement;
  private readonly tools: HTMLElement;
  private readonly foot: HTMLElement;
  private readonly toolViews = new Map<number, ToolView>();
  private userToggled = false;
  private shown = { reasoning: '', content: '', foot: '' };

  constructor(
    readonly msg: Message,
    live: boolean,
  ) {
    this.thinkingLabel = h('span', { class: 'thinking-label' });
    this.thinkingBody = h('div', { class: 'thinking-body markdown' });
    const summary = h('summary', {}, icon('bulb'), this.thinkingLabel, icon('chevron'));
    summary.addEventListener('click', () => {
      this.userToggled = true;
    });
    this.thinking = h('details', { class: 'thinking', hidden: true }, summary, this.thinkingBody);
    this.thinking.open = live;
    this.body = h('div', { class: 'markdown answer' });
    this.tools = h('div', { class: 'tools' });
    this.foot = h('div', { class: 'msg-foot' });
    this.el = h('div', { class: 'msg assistant', 'data-id': msg.id }, this.thinking, this.body, this.tools, this.foot);
  }

  update(results: ReadonlyMap<string, string>, streaming: boolean, isLast: boolean): void {
    const m = this.msg;
    const reasoning = m.reasoning ?? '';
    const started = m.content !== '' || (m.toolCalls?.length ?? 0) > 0;
    if (reasoning !== this.shown.reasoning) {
      this.shown.reasoning = reasoning;
      this.thinking.hidden = reasoning.trim() === '';
      renderMarkdown(this.thinkingBody, reasoning);
    }
    // Open while only thinking streams; closed once the answer (or a call) starts, unless the user chose. A message
    // that ended with thinking alone (stopped, cut off) keeps it open: it is all there is to read.
    if (!this.userToggled) this.thinking.open = !started;
    const thinkingNow = streaming && !started;
    this.thinking.classList.toggle('live', thinkingNow);
    const secs = m.stats?.thinkingSeconds;
    this.thinkingLabel.textContent = thinkingNow ? 'Thinking…' : secs !== undefined ? `Thought for ${duration(secs)}` : 'Thoughts';

    if (m.content !== this.shown.content) {
      this.shown.content = m.content;
      renderMarkdown(this.body, m.content);
    }
    this.body.classList.toggle('streaming', streaming && !m.toolCalls?.length);
    this.body.hidden = m.content === '' && !(streaming && started && !m.toolCalls?.length);
    // Finished with neither text nor a call (only thinking, or nothing): say so rather than show a gap.
    const empty = !streaming && !started && !m.error && m.stopped === undefined;

    (m.toolCalls ?? []).forEach((call, i) => {
      let v = this.toolViews.get(i);
      if (!v) {
        v = new ToolView(call);
        this.toolViews.set(i, v);
        this.tools.append(v.el);
      }
      v.update(call, results.get(call.id), streaming);
    });
    this.renderFoot(streaming, isLast, empty);
  }

  private renderFoot(streaming: boolean, isLast: boolean, empty: boolean): void {
    const m = this.msg;
    const key = `${streaming}|${isLast}|${empty}|${m.stopped}|${JSON.stringify(m.stats ?? null)}|${m.error ?? ''}`;
    if (key === this.shown.foot) return;
    this.shown.foot = key;
    const parts: Node[] = [];
    if (m.error) parts.push(h('div', { class: 'msg-error', role: 'alert' }, icon('alert'), h('span', {}, m.error)));
    if (empty)
      parts.push(h('div', { class: 'note' }, m.reasoning ? 'The model stopped after thinking, without an answer.' : 'The model returned an empty answer.'));
    const row = h('div', { class: 'foot-row' });
    const stats = h('span', { class: 'stats' });
    if (m.stopped !== undefined)
      stats.append(h('span', { class: 'badge warn' }, typeof m.stopped === 'number' ? `stopped after ${duration(m.stopped)}` : 'stopped'));
    if (m.stats) {
      const { parts: items, title } = statsLine(m.stats);
      stats.title = title;
      if (m.stats.finish === 'length') stats.append(h('span', { class: 'badge warn' }, 'max tokens reached'));
      for (const p of items) stats.append(h('span', {}, p));
    }
    if (stats.childNodes.length > 0) row.append(stats);
    if (!streaming) {
      const acts = h('span', { class: 'actions' });
      if (m.content) acts.append(actionButton('copy', 'copy', 'Copy', m.id));
      if (isLast) acts.append(actionButton('regenerate', 'refresh', 'Regenerate', m.id));
      row.append(acts);
    }
    parts.push(row);
    setChildren(this.foot, parts);
  }
}

function userView(m: Message): HTMLElement {
  const bubble = h('div', { class: 'bubble' }, m.content);
  const acts = h('div', { class: 'actions' }, actionButton('copy', 'copy', 'Copy', m.id), actionButton('edit', 'pencil', 'Edit', m.id));
  return h('div', { class: 'turn user' }, h('div', { class: 'msg user', 'data-id': m.id }, bubble, acts));
}

/** The whole conversation; returns the live views by message id (the controller updates the streaming one). */
export function renderConversation(container: HTMLElement, c: Conversation, busy: boolean): Map<string, AssistantView> {
  const views = new Map<string, AssistantView>();
  const results = toolResults(c);
  const lastAssistant = [...c.messages].reverse().find((m) => m.role === 'assistant');
  const nodes: Node[] = [];
  let turnBody: HTMLElement | null = null;
  for (const m of c.messages) {
    if (m.role === 'user') {
      nodes.push(userView(m));
      turnBody = null;
    } else if (m.role === 'assistant') {
      if (!turnBody) {
        turnBody = h('div', { class: 'turn-body' });
        nodes.push(h('div', { class: 'turn assistant' }, h('div', { class: 'avatar', 'aria-hidden': 'true' }, 'G'), turnBody));
      }
      const live = busy && m === c.messages[c.messages.length - 1];
      const v = new AssistantView(m, live);
      v.update(results, live, !busy && m === lastAssistant);
      views.set(m.id, v);
      turnBody.append(v.el);
    }
  }
  setChildren(container, nodes);
  return views;
}

/** tool_call_id → result text, from the conversation's tool messages. */
export function toolResults(c: Conversation): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of c.messages) if (m.role === 'tool' && m.toolCallId) out.set(m.toolCallId, m.content);
  return out;
}
