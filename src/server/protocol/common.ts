// What every dialect shares: the model context a request is rendered against, typed API errors (each dialect's
// error table maps them to its own type / code / status), the one thinking switch (clients.md §1), sampling
// fields → the engine's SamplingParams, and prompt rendering with the context check.

import type { SamplingParams } from '../../engine/types.js';
import type { ChatMessage, ToolDefinition } from '../../text/chat-messages.js';
import { ChatInputError } from '../../text/chat-messages.js';
import type { ChatTemplate } from '../../text/chat-template.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import type { ModelOutputOptions } from '../../text/model-output.js';
import { z } from 'zod';

/** The model a request is rendered for (an Engine satisfies it). */
export interface ModelContext {
  readonly tokenizer: Tokenizer;
  readonly template: ChatTemplate;
  /** max_position_embeddings: prompt + completion must fit. */
  readonly maxContext: number;
  /**
   * The longest prompt the engine admits: maxContext − 1, or less when the KV cache budget holds fewer positions
   * (the engine's `maxPromptTokens`). Absent: maxContext − 1.
   */
  readonly maxPromptTokens?: number;
}

/** Serving limits (serving.md §7). */
export const MAX_OUTPUT_TOKENS = 131_072;

export type ErrorKind =
  | 'invalid_request'
  | 'context_length'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'model_not_found'
  | 'too_large'
  | 'rate_limit'
  | 'quota'
  | 'api'
  | 'overloaded';

/** The usual HTTP status of each kind; a dialect's error table may differ (Anthropic's overloaded is 529). */
const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  context_length: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  model_not_found: 404,
  too_large: 413,
  rate_limit: 429,
  quota: 429,
  api: 500,
  overloaded: 503,
};

/** A request the server answers with an error; each dialect renders it through its error table. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** A status set by the thrower (e.g. 503 while shutting down); otherwise the dialect's table decides. */
  readonly explicitStatus: number | undefined;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly param: string | null = null,
    status?: number,
  ) {
    super(message);
    this.explicitStatus = status;
  }

  get status(): number {
    return this.explicitStatus ?? STATUS[this.kind];
  }
}

/** One row of a dialect's error table. */
export interface ErrorRow {
  readonly type: string;
  /** The `code` field of OpenAI-shaped errors (absent from Anthropic's shape). */
  readonly code?: string | null;
  readonly status: number;
}

export type ErrorTable = Readonly<Record<ErrorKind, ErrorRow>>;

/** An error's row in a table, with the thrower's explicit status if it set one. */
export function errorRow(table: ErrorTable, e: ApiError): ErrorRow {
  const row = table[e.kind];
  return e.explicitStatus === undefined ? row : { ...row, status: e.explicitStatus };
}

/** A zod failure as one readable 400: `messages.0.content: expected string, received number`. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  throw new ApiError('invalid_request', path ? `${path}: ${issue.message}` : issue.message, path || null);
}

/** Thinking requests from any dialect's knobs; undefined = the template's default (GLM-5: on). */
export interface ThinkingKnobs {
  /** Z.ai / Anthropic `thinking.type`. */
  type?: string | undefined;
  /** `chat_template_kwargs.enable_thinking` or top-level `enable_thinking`. */
  enable?: boolean | undefined;
  /** `reasoning_effort`, Responses `reasoning.effort`, Anthropic `output_config.effort`. */
  effort?: string | undefined;
}

/** One switch from many knobs: an explicit enabled/disabled wins, then enable_thinking, then effort `none` = off. */
export function resolveThinking(k: ThinkingKnobs): boolean | undefined {
  if (k.type === 'disabled') return false;
  if (k.type === 'enabled' || k.type === 'adaptive') return true;
  if (k.enable !== undefined) return k.enable;
  if (k.effort === 'none') return false;
  if (k.effort !== undefined) return true;
  return undefined;
}

/** A request rendered and ready for the engine. */
export interface Plan {
  readonly prompt: number[];
  readonly sampling: Partial<SamplingParams>;
  /** Options for each choice's ModelOutput (thinking as the prompt actually ended). */
  readonly output: ModelOutputOptions;
  /** The tool names the model may call (for tool_choice checks and lookups). */
  readonly tools: readonly ToolDefinition[];
}

export interface RenderInput {
  readonly messages: ChatMessage[];
  readonly tools: ToolDefinition[];
  readonly toolChoice: 'auto' | 'none' | 'required' | { name: string };
  readonly thinking: boolean | undefined;
  readonly clearThinking?: boolean | undefined;
  readonly reasoningEffort?: string | undefined;
  readonly templateKwargs?: Record<string, unknown> | undefined;
  /** vLLM's `skip_special_tokens` (default true: control tokens never reach text). */
  readonly skipSpecialTokens?: boolean | null | undefined;
}

/**
 * Renders the chat and decides how the output is parsed. tool_choice `required` / named are prompt-level only
 * (GLM's XML calls do not fit JSON grammars; vLLM does the same): a named choice keeps only that tool in the
 * prompt. `none` keeps the tools block (as vLLM) but turns tool parsing off.
 */
export function renderChat(ctx: ModelContext, input: RenderInput): { prompt: number[]; output: ModelOutputOptions; tools: ToolDefinition[] } {
  let tools = input.tools;
  const choice = input.toolChoice;
  if (typeof choice === 'object') {
    tools = tools.filter((t) => t.function.name === choice.name);
    if (tools.length === 0) throw new ApiError('invalid_request', `tool_choice names '${choice.name}', which is not among the tools`, 'tool_choice');
  } else if (choice === 'required' && tools.length === 0) {
    throw new ApiError('invalid_request', "tool_choice 'required' needs at least one tool", 'tool_choice');
  }
  if (input.messages.length === 0) throw new ApiError('invalid_request', 'messages must not be empty', 'messages');
  let encoded;
  try {
    encoded = ctx.template.encodeChat(
      {
        messages: input.messages,
        tools,
        thinking: input.thinking,
        clearThinking: input.clearThinking,
        reasoningEffort: input.reasoningEffort,
        templateKwargs: input.templateKwargs,
      },
      ctx.tokenizer,
    );
  } catch (e) {
    if (!(e instanceof Error)) throw e; // control flow of the render worker (render-pool.ts), not a failure
    if (e instanceof ChatInputError) throw new ApiError('invalid_request', e.message, 'messages');
    throw new ApiError('invalid_request', `the chat template could not render these messages: ${(e as Error).message}`, 'messages');
  }
  checkContext(ctx, encoded.ids.length);
  // The parser must agree with how the prompt ended: `…</think>` means thinking is off whatever was asked.
  const thinking = input.thinking !== false && !encoded.prompt.endsWith('</think>');
  return {
    prompt: encoded.ids,
    tools,
    output: { thinking, tools, parseToolCalls: choice !== 'none', controlTokens: controlTokens(ctx, input.skipSpecialTokens) },
  };
}

/**
 * What is removed from text and reasoning: every added token of the tokenizer, unless the request set vLLM's
 * `skip_special_tokens: false` (then text shows them as the model wrote them).
 */
export function controlTokens(ctx: ModelContext, skip: boolean | null | undefined = true): string[] {
  return skip === false ? [] : Array.from(ctx.tokenizer.addedTokens.keys());
}

/** Claude Code matches this wording to recover (clients.md §5); the other dialects share it. */
export function checkContext(ctx: ModelContext, promptTokens: number): void {
  const max = Math.min(ctx.maxContext - 1, ctx.maxPromptTokens ?? Infinity);
  if (promptTokens <= max) return;
  const cacheBound = max < ctx.maxContext - 1 && promptTokens < ctx.maxContext;
  const hint = cacheBound ? ` (the KV cache holds ${max + 1} positions: raise --kv-cache-gb)` : '';
  throw new ApiError('context_length', `prompt is too long: ${promptTokens} tokens > ${max} maximum${hint}`, 'messages');
}

/**
 * max_tokens: absent → the rest of the context, capped at 128K (serving.md §7); present → as asked, clamped to
 * what the context has left (generation then ends with `length` at the context's end).
 */
export function maxTokens(ctx: ModelContext, promptTokens: number, asked: number | undefined | null): number {
  const room = ctx.maxContext - promptTokens;
  if (asked === undefined || asked === null) return Math.min(room, MAX_OUTPUT_TOKENS);
  return Math.min(asked, room);
}

export interface SamplingFields {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  top_k?: number | null | undefined;
  min_p?: number | null | undefined;
  seed?: number | null | undefined;
  do_sample?: boolean | null | undefined;
  presence_penalty?: number | null | undefined;
  frequency_penalty?: number | null | undefined;
  repetition_penalty?: number | null | undefined;
  stop?: string | string[] | null | undefined;
  /** OpenAI logit_bias: token id (as a string key) → bias in [-100, 100]. */
  logit_bias?: Record<string, number> | null | undefined;
}

/** Request sampling → the engine's (unset fields fall back to generation_config.json inside the engine). */
export function sampling(f: SamplingFields, maxTokens: number): Partial<SamplingParams> {
  const s: { -readonly [K in keyof SamplingParams]?: SamplingParams[K] } = { maxTokens };
  if (f.do_sample === false) s.temperature = 0;
  else if (f.temperature != null) s.temperature = f.temperature;
  if (f.do_sample !== false && f.top_p != null) s.topP = f.top_p;
  if (f.top_k != null) s.topK = f.top_k;
  if (f.min_p != null) s.minP = f.min_p;
  if (f.seed != null) s.seed = f.seed;
  if (f.presence_penalty != null) s.presencePenalty = f.presence_penalty;
  if (f.frequency_penalty != null) s.frequencyPenalty = f.frequency_penalty;
  if (f.repetition_penalty != null) s.repetitionPenalty = f.repetition_penalty;
  if (f.stop != null) s.stop = (typeof f.stop === 'string' ? [f.stop] : f.stop).filter((x) => x !== '');
  if (f.logit_bias != null) {
    const bias = new Map<number, number>();
    for (const [k, v] of Object.entries(f.logit_bias)) {
      if (!/^\d+$/.test(k)) throw new ApiError('invalid_request', `logit_bias keys must be token ids, got '${k}'`, 'logit_bias');
      if (!(v >= -100 && v <= 100)) throw new ApiError('invalid_request', `logit_bias values must be between -100 and 100, got ${v}`, 'logit_bias');
      bias.set(Number(k), v);
    }
    s.logitBias = bias;
  }
  return s;
}

/** Zod pieces shared by the dialects: numbers that may be null, stop lists. */
export const zNum = z.number().nullish();
export const zInt = z.number().int().nullish();
export const zStop = z.union([z.string(), z.array(z.string())]).nullish();
export const zLogitBias = z.record(z.string(), z.number()).nullish();
export const zTemperature = z.number().min(0).max(2).nullish();
export const zTopP = z.number().gt(0).max(1).nullish();

/** A tool's JSON schema must be an object schema (or absent); anything else is an invalid tool schema (400). */
export function checkToolSchema(name: string, schema: unknown, where: string): void {
  if (schema === undefined || schema === null) return;
  if (typeof schema !== 'object' || Array.isArray(schema))
    throw new ApiError('invalid_request', `${where}: the parameters of tool '${name}' must be a JSON schema object`, where);
  const s = schema as Record<string, unknown>;
  if (s.type !== undefined && s.type !== 'object')
    throw new ApiError('invalid_request', `${where}: the parameters of tool '${name}' must have type "object", got ${JSON.stringify(s.type)}`, where);
  if (s.properties !== undefined && (typeof s.properties !== 'object' || s.properties === null || Array.isArray(s.properties))) {
    throw new ApiError('invalid_request', `${where}: 'properties' of tool '${name}' must be an object`, where);
  }
}

/** Unique ids with a dialect prefix. */
export function newId(prefix: string): string {
  const hex = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
  return prefix + hex;
}
