// Chat prompts from a checkpoint's own template (chat_template.jinja, else tokenizer_config.json's chat_template),
// falling back to the built-in GLM-5 template; and prompt token ids in which only template markers are special.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_GLM5_TEMPLATE } from './builtin-template.js';
import { mapStrings, normalizeMessages } from './chat-messages.js';
import type { ChatMessage, ToolDefinition } from './chat-messages.js';
import { JinjaTemplate } from './jinja-runtime.js';
import type { Tokenizer } from './tokenizer.js';

export interface RenderChatOptions {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDefinition[] | null;
  /** undefined: the template's default (GLM: on). false sets enable_thinking=false. */
  readonly thinking?: boolean;
  /** Default true: end with the assistant header (`<|assistant|><think>` for GLM). */
  readonly addGenerationPrompt?: boolean;
  /** GLM-4.7/5 `clear_thinking`; false keeps reasoning of earlier turns ("preserved thinking"). */
  readonly clearThinking?: boolean;
  readonly reasoningEffort?: string;
  /** vLLM/SGLang `chat_template_kwargs`, passed through as template variables. */
  readonly templateKwargs?: Readonly<Record<string, unknown>>;
}

export interface EncodedChat {
  readonly prompt: string;
  readonly ids: number[];
}

export type TemplateOrigin = 'chat_template.jinja' | 'tokenizer_config.json' | 'builtin';

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'];

export class ChatTemplate {
  private readonly template: JinjaTemplate;

  constructor(
    readonly source: string,
    readonly origin: TemplateOrigin,
    /** Extra variables transformers passes to every template (eos_token, …). */
    private readonly globals: Readonly<Record<string, unknown>> = {},
  ) {
    this.template = new JinjaTemplate(source);
  }

  static builtin(): ChatTemplate {
    return new ChatTemplate(BUILTIN_GLM5_TEMPLATE, 'builtin');
  }

  static fromDir(dir: string): ChatTemplate {
    const cfgPath = join(dir, 'tokenizer_config.json');
    const cfg = existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>) : {};
    const globals: Record<string, unknown> = {};
    for (const k of SPECIAL_TOKEN_KEYS) {
      const v = cfg[k];
      if (typeof v === 'string') globals[k] = v;
      else if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') globals[k] = (v as { content: string }).content;
    }
    const file = join(dir, 'chat_template.jinja');
    if (existsSync(file)) return new ChatTemplate(readFileSync(file, 'utf8'), 'chat_template.jinja', globals);
    const inConfig = cfg.chat_template;
    if (typeof inConfig === 'string') return new ChatTemplate(inConfig, 'tokenizer_config.json', globals);
    if (Array.isArray(inConfig)) {
      // transformers' named-template form: [{name: 'default', template: '…'}, …]
      const named = inConfig as { name?: string; template?: string }[];
      const def = named.find((t) => t.name === 'default') ?? named[0];
      if (def && typeof def.template === 'string') return new ChatTemplate(def.template, 'tokenizer_config.json', globals);
    }
    return new ChatTemplate(BUILTIN_GLM5_TEMPLATE, 'builtin', globals);
  }

  /** The prompt text, byte-identical to transformers' apply_chat_template with the same template. */
  renderChat(options: RenderChatOptions): string {
    return this.template.render(this.variables(normalizeMessages(options.messages), options.tools ?? null, options));
  }

  /**
   * Prompt text and ids, where only markers the template itself wrote become added tokens: every string of the
   * request (message text, reasoning, tool arguments, tool schemas) is encoded as plain text, so a user typing
   * `<|assistant|>` gets the characters, not the token. Without such text the ids equal encode(prompt, special).
   */
  encodeChat(options: RenderChatOptions, tokenizer: Tokenizer): EncodedChat {
    const messages = normalizeMessages(options.messages);
    const tools = options.tools ?? null;
    const added = [...tokenizer.addedTokens.keys()].sort((a, b) => b.length - a.length);
    if (added.length === 0) {
      const prompt = this.template.render(this.variables(messages, tools, options));
      return { prompt, ids: tokenizer.encode(prompt, { special: false }) };
    }
    const marker = new RegExp(added.map(escapeRegExp).join('|'), 'g');
    // Hide markers inside request strings by swapping their first character for a private-use character that
    // occurs nowhere in the request; the template then cannot tell, and the swap is undone on the text pieces.
    const used = JSON.stringify([messages, tools]);
    const firstChars = [...new Set(added.map((t) => String.fromCodePoint(t.codePointAt(0)!)))];
    const hide = new Map<string, string>();
    for (let cp = 0xe000; hide.size < firstChars.length; cp++) {
      if (cp > 0xf8ff) throw new Error('no free private-use character to escape markers with');
      const c = String.fromCharCode(cp);
      if (!used.includes(c)) hide.set(firstChars[hide.size]!, c);
    }
    const unhide = new Map([...hide].map(([a, b]) => [b, a]));
    const unhideRe = new RegExp([...unhide.keys()].join('|'), 'g');
    const hideMarkers = (s: string): string =>
      s.replace(marker, (t) => hide.get(String.fromCodePoint(t.codePointAt(0)!))! + t.slice(t.codePointAt(0)! > 0xffff ? 2 : 1));
    const restore = (s: string): string => s.replace(unhideRe, (c) => unhide.get(c)!);

    const rendered = this.template.render(this.variables(mapStrings(messages, hideMarkers), tools && mapStrings(tools, hideMarkers), options));
    const ids: number[] = [];
    let prompt = '';
    let last = 0;
    const addText = (piece: string): void => {
      const text = restore(piece);
      prompt += text;
      for (const id of tokenizer.encode(text, { special: false })) ids.push(id); // not ids.push(...): a long text overflows the stack
    };
    for (const m of rendered.matchAll(marker)) {
      addText(rendered.slice(last, m.index));
      prompt += m[0];
      ids.push(tokenizer.specialId(m[0]));
      last = m.index + m[0].length;
    }
    addText(rendered.slice(last));
    return { prompt, ids };
  }

  private variables(messages: ChatMessage[], tools: readonly ToolDefinition[] | null, o: RenderChatOptions): Record<string, unknown> {
    const vars: Record<string, unknown> = {
      ...this.globals,
      ...(o.templateKwargs ?? {}),
      messages,
      tools: tools && tools.length > 0 ? tools : undefined,
      add_generation_prompt: o.addGenerationPrompt ?? true,
    };
    if (o.thinking !== undefined) vars.enable_thinking = o.thinking;
    if (o.clearThinking !== undefined) vars.clear_thinking = o.clearThinking;
    if (o.reasoningEffort !== undefined) vars.reasoning_effort = o.reasoningEffort;
    return vars;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
