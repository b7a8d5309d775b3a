// The contract between a dialect module and the HTTP layer: a validated, rendered request plus the two ways of
// answering it (one JSON body, or SSE frames as events arrive).

import type { TokenLogprob, Usage } from '../../engine/types.js';
import type { ChoiceResult } from './choices.js';
import type { ApiError, Plan } from './common.js';
import type { BlockEvent } from '../../text/blocks.js';

export interface SseFrame {
  readonly event?: string;
  /** JSON text (or `[DONE]`). */
  readonly data?: string;
  /** A comment line (`: keep-alive`). */
  readonly comment?: string;
}

export interface StreamWriter {
  /** Sent as soon as the request is accepted (before prefill). */
  open(): SseFrame[];
  /** One choice's block events (text/segmenter output), the logprobs of the tokens that made them, and their ids. */
  events(choice: number, events: readonly BlockEvent[], logprobs: readonly TokenLogprob[] | undefined, ids?: readonly number[]): SseFrame[];
  choiceDone(result: ChoiceResult): SseFrame[];
  /** After every choice finished. */
  close(usage: Usage): SseFrame[];
  /** A failure after the stream started (the last frames sent), through the dialect's error table. */
  fail(error: ApiError): SseFrame[];
  /** Sent during long silences (prefill). */
  keepAlive(): SseFrame;
}

export type Endpoint = 'chat' | 'completions' | 'responses' | 'messages';

export interface Prepared {
  readonly endpoint: Endpoint;
  readonly plan: Plan;
  readonly n: number;
  readonly stream: boolean;
  readonly wantLogprobs: boolean;
  /** The model name the client asked for (echoed back). */
  readonly model: string;
  writer(): StreamWriter;
  respond(choices: readonly ChoiceResult[], usage: Usage): unknown;
}

/** An ApiError as the dialect's HTTP answer (status and JSON body), from the dialect's error table. */
export type ErrorShape = (e: ApiError) => { status: number; body: unknown };

export const seconds = (): number => Math.floor(Date.now() / 1000);
