// The chat page: wires the store, the conversation list, the settings panel and the runner to the static
// markup in index.html. Everything the page shows from the model goes through markdown.ts (sanitized).

import type { ModelInfo } from './api.js';
import { HttpError, listModels } from './api.js';
import { ChatRunner } from './chat.js';
import { copyText, fillIcons, flash } from './dom.js';
import { Settings } from './settings.js';
import { Sidebar } from './sidebar.js';
import type { Conversation, Message } from './store.js';
import { newId, Store } from './store.js';
import type { AssistantView } from './view.js';
import { renderConversation, toolResults } from './view.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const store = new Store();
let models: ModelInfo[] = [];
let views = new Map<string, AssistantView>();

const el = {
  app: $('app'),
  messages: $('messages'),
  scroller: $('scroller'),
  empty: $('empty'),
  title: $('chat-title'),
  input: $<HTMLTextAreaElement>('input'),
  send: $<HTMLButtonElement>('send'),
  stop: $<HTMLButtonElement>('stop'),
  composer: $<HTMLFormElement>('composer'),
  status: $('server-status'),
  dot: $('server-dot'),
  emptyModel: $('empty-model'),
};

const settings = new Settings(store, () => models, {
  keySaved: () => {
    void loadModels();
    // The answer that failed for want of a key: ask again with it.
    const conv = store.current;
    const last = conv?.messages[conv.messages.length - 1];
    if (conv && last?.role === 'assistant' && last.error) regenerate(conv);
  },
});

const runner = new ChatRunner(store, () => models, {
  refresh: () => draw(),
  update: (conv, msg) => {
    if (conv.id !== store.currentId) return;
    const v = views.get(msg.id);
    if (!v) return;
    const stick = nearBottom();
    // A frame may land after the stream ended and the conversation was redrawn: then draw it finished.
    const live = runner.busy && runner.conversationId === conv.id && conv.messages[conv.messages.length - 1] === msg;
    v.update(toolResults(conv), live, true);
    if (stick) scrollToEnd();
  },
  needKey: (message) => settings.askForKey(message),
});

const sidebar = new Sidebar($('conversations'), store, {
  open: (id) => {
    store.select(id);
    draw(true);
    closeSidebarOnNarrow();
  },
  changed: () => draw(),
});

function nearBottom(): boolean {
  const s = el.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

function scrollToEnd(): void {
  el.scroller.scrollTop = el.scroller.scrollHeight;
}

/** Redraws the list, the title, the messages and the busy state. */
function draw(jump = false): void {
  const conv = store.current;
  const busy = runner.busy && runner.conversationId === conv?.id;
  const stick = jump || nearBottom();
  sidebar.render(runner.conversationId);
  el.title.textContent = conv?.title ?? 'New chat';
  document.title = conv ? `${conv.title} · glm5` : 'glm5 chat';
  const hasMessages = !!conv && conv.messages.length > 0;
  el.empty.hidden = hasMessages;
  el.messages.hidden = !hasMessages;
  views = conv ? renderConversation(el.messages, conv, busy) : new Map();
  if (busy && conv) {
    const last = conv.messages[conv.messages.length - 1];
    if (last?.role === 'assistant') views.get(last.id)?.update(toolResults(conv), true, true);
  }
  el.send.hidden = runner.busy;
  el.stop.hidden = !runner.busy;
  el.app.classList.toggle('busy', runner.busy);
  if (stick) scrollToEnd();
}

function send(text: string): void {
  if (runner.busy || !text.trim()) return;
  const conv = store.current ?? store.create();
  conv.messages.push({ id: newId(), role: 'user', content: text });
  if (conv.title === 'New chat') conv.title = titleFrom(text);
  el.input.value = '';
  autosize();
  void runner.run(conv);
}

function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0]!;
  return line.length > 48 ? `${line.slice(0, 47)}…` : line;
}

/** Drops the answer after the last user message (or after `from`) and asks again. */
function regenerate(conv: Conversation, from?: Message): void {
  if (runner.busy) return;
  const i = from ? conv.messages.indexOf(from) : conv.messages.map((m) => m.role).lastIndexOf('user');
  if (i < 0) return;
  conv.messages.length = i + 1;
  void runner.run(conv);
}

function startEdit(conv: Conversation, m: Message, row: HTMLElement): void {
  if (runner.busy) return;
  const ta = document.createElement('textarea');
  ta.className = 'edit-box';
  ta.value = m.content;
  ta.rows = Math.min(12, m.content.split('\n').length + 1);
  const save = document.createElement('button');
  save.type = 'button';
  save.className = 'btn primary';
  save.textContent = 'Send';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'btn ghost';
  cancel.textContent = 'Cancel';
  const bar = document.createElement('div');
  bar.className = 'edit-bar';
  bar.append(cancel, save);
  row.replaceChildren(ta, bar);
  row.classList.add('editing');
  ta.focus();
  const submit = (): void => {
    if (!ta.value.trim()) return;
    m.content = ta.value;
    regenerate(conv, m);
  };
  cancel.addEventListener('click', () => draw());
  save.addEventListener('click', submit);
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape') draw();
  });
}

el.messages.addEventListener('click', (ev) => {
  const b = (ev.target as HTMLElement).closest<HTMLElement>('[data-action]');
  const conv = store.current;
  if (!b || !conv) return;
  if (b.dataset.action === 'copy-code') {
    const code = b.closest('pre')?.querySelector('code');
    void copyText(code?.textContent ?? '').then(() => flash(b));
    return;
  }
  const m = conv.messages.find((x) => x.id === b.dataset.id);
  if (!m) return;
  if (b.dataset.action === 'copy') void copyText(m.content).then(() => flash(b));
  else if (b.dataset.action === 'regenerate') regenerate(conv);
  else if (b.dataset.action === 'edit') startEdit(conv, m, b.closest<HTMLElement>('.msg')!);
});

function autosize(): void {
  el.input.style.height = 'auto';
  el.input.style.height = `${Math.min(el.input.scrollHeight, 240)}px`;
}

el.input.addEventListener('input', autosize);
el.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send(el.input.value);
  }
});
el.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  send(el.input.value);
});
el.stop.addEventListener('click', () => runner.stop());
$('new-chat').addEventListener('click', () => {
  if (store.current?.messages.length === 0) {
    el.input.focus();
    return;
  }
  store.create();
  draw(true);
  closeSidebarOnNarrow();
  el.input.focus();
});
$('suggestions').addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLElement>('[data-prompt]');
  if (b) send(b.dataset.prompt!);
});

// The sidebar: shown beside the chat on wide screens, over it on narrow ones.
const narrow = window.matchMedia('(max-width: 820px)');
function closeSidebarOnNarrow(): void {
  if (narrow.matches) el.app.classList.remove('sidebar-open');
}
$('open-sidebar').addEventListener('click', () => el.app.classList.add('sidebar-open'));
$('close-sidebar').addEventListener('click', () => el.app.classList.remove('sidebar-open'));
$('backdrop').addEventListener('click', () => {
  el.app.classList.remove('sidebar-open');
  settings.show(false);
});
if (!narrow.matches) el.app.classList.add('sidebar-open');

async function loadModels(): Promise<void> {
  try {
    models = await listModels(store.apiKey);
    settings.setModels(models);
    el.dot.className = 'dot ok';
    el.status.textContent = `${models.length} model${models.length === 1 ? '' : 's'} · connected`;
    el.emptyModel.textContent = store.settings.model || 'the server';
  } catch (e) {
    el.dot.className = 'dot bad';
    el.status.textContent = e instanceof HttpError ? `server: ${e.status}` : 'server unreachable';
    if (e instanceof HttpError && e.status === 401) settings.askForKey(e.message);
  }
}

// Another tab changed the stored conversations: show them.
window.addEventListener('storage', (e) => {
  if (e.key?.startsWith('glm5.') && !runner.busy) {
    Object.assign(store, new Store());
    draw();
  }
});

fillIcons(document);
settings.bind();
draw(true);
void loadModels();
el.input.focus();
