// What the page keeps in the browser (localStorage): conversations, settings and the API key. Nothing is
// stored on the server; clearing the site's data clears the history.

export interface ToolCall {
  id: string;
  name: string;
  /** The JSON text the model wrote (streamed fragments joined). */
  arguments: string;
}

export interface Stats {
  model: string;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** Request start → last byte. */
  seconds: number;
  /** Request start → first streamed token. */
  ttftSeconds: number;
  /** Request start → first answer token or call, when the model thought first. */
  thinkingSeconds?: number;
  /** Completion tokens over the time after the first token (what the answer streamed at). */
  tokensPerSecond: number;
  /** USD; absent when no price is known. */
  cost?: number;
  finish: string;
}

export interface Message {
  id: string;
  role: 'user' | 'assistant' | 'tool';
  content: string;
  reasoning?: string;
  toolCalls?: ToolCall[];
  /** role 'tool': the call this result answers. */
  toolCallId?: string;
  stats?: Stats;
  error?: string;
  /** The user pressed stop while this message streamed: seconds from the request to the stop. */
  stopped?: number;
}

export interface Conversation {
  id: string;
  title: string;
  created: number;
  updated: number;
  messages: Message[];
}

export interface Settings {
  model: string;
  system: string;
  /** null = the server's default (its generation_config). */
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  thinking: boolean;
  tools: boolean;
  /** A JSON object merged into every request body (server-specific fields such as `ignore_eos`, `top_k`). */
  extraBody: string;
  /** USD per million tokens; used when neither the server's answer nor its model list gives a price. */
  price: { input: number; cachedInput: number; output: number };
}

// GLM-5 list prices (src/server/pricing.ts): the fallback for servers that publish none.
export const DEFAULT_SETTINGS: Settings = {
  model: '',
  system: '',
  temperature: null,
  topP: null,
  maxTokens: null,
  thinking: true,
  tools: true,
  extraBody: '',
  price: { input: 1.0, cachedInput: 0.2, output: 3.2 },
};

export const KEYS = { conversations: 'glm5.conversations', current: 'glm5.current', settings: 'glm5.settings', apiKey: 'glm5.apiKey' } as const;

function read<T>(key: string, fallback: T): T {
  try {
    const s = localStorage.getItem(key);
    return s === null ? fallback : (JSON.parse(s) as T);
  } catch {
    return fallback;
  }
}

function write(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    console.warn('glm5: could not save to localStorage', e);
  }
}

export const newId = (): string => Math.random().toString(36).slice(2, 10) + Date.now().toString(36);

/** Keeps only well-formed conversations (the storage is user-editable). */
function valid(c: unknown): c is Conversation {
  const x = c as Conversation;
  return (
    !!x &&
    typeof x.id === 'string' &&
    typeof x.title === 'string' &&
    Array.isArray(x.messages) &&
    x.messages.every((m) => m && typeof m.role === 'string' && typeof m.content === 'string')
  );
}

export class Store {
  conversations: Conversation[];
  currentId: string | null;
  settings: Settings;
  apiKey: string;

  constructor() {
    const list = read<unknown[]>(KEYS.conversations, []);
    this.conversations = (Array.isArray(list) ? list.filter(valid) : []).sort((a, b) => b.updated - a.updated);
    this.currentId = read<string | null>(KEYS.current, null);
    if (!this.conversations.some((c) => c.id === this.currentId)) this.currentId = this.conversations[0]?.id ?? null;
    const s = read<Partial<Settings>>(KEYS.settings, {});
    this.settings = { ...DEFAULT_SETTINGS, ...s, price: { ...DEFAULT_SETTINGS.price, ...s.price } };
    this.apiKey = read<string>(KEYS.apiKey, '');
  }

  get current(): Conversation | undefined {
    return this.conversations.find((c) => c.id === this.currentId);
  }

  create(): Conversation {
    const c: Conversation = { id: newId(), title: 'New chat', created: Date.now(), updated: Date.now(), messages: [] };
    this.conversations.unshift(c);
    this.currentId = c.id;
    this.save();
    return c;
  }

  select(id: string): void {
    this.currentId = id;
    write(KEYS.current, id);
  }

  rename(id: string, title: string): void {
    const c = this.conversations.find((x) => x.id === id);
    if (!c || !title.trim()) return;
    c.title = title.trim().slice(0, 120);
    this.save();
  }

  remove(id: string): void {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    if (this.currentId === id) this.currentId = this.conversations[0]?.id ?? null;
    this.save();
  }

  /** Marks a conversation changed: it moves to the top and everything is written. */
  touch(c: Conversation): void {
    c.updated = Date.now();
    this.conversations.sort((a, b) => b.updated - a.updated);
    this.save();
  }

  save(): void {
    write(KEYS.conversations, this.conversations);
    write(KEYS.current, this.currentId);
  }

  saveSettings(): void {
    write(KEYS.settings, this.settings);
  }

  setApiKey(key: string): void {
    this.apiKey = key.trim();
    if (this.apiKey) write(KEYS.apiKey, this.apiKey);
    else localStorage.removeItem(KEYS.apiKey);
  }
}
