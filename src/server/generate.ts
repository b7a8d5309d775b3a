// Runs one prepared request on the engine: submits its n choices, turns engine events into the dialect's JSON or
// SSE frames, aborts everything when the client goes away, and reports timing and usage for the ledger.

import type { EngineEvent, EngineStats, GenerateRequest, RequestStream, Usage } from '../engine/types.js';
import { ContextLengthError, RequestError } from '../engine/types.js';
import { ChoiceTracker, totalUsage } from './protocol/choices.js';
import type { ChoiceResult } from './protocol/choices.js';
import { ApiError } from './protocol/common.js';
import type { ModelContext } from './protocol/common.js';
import type { Prepared } from './protocol/dialect.js';
import { SseChannel } from './sse.js';
import { pushAll } from '../tensor/arrays.js';

/** What the server needs from the engine (the Engine class satisfies it). */
export interface ServingEngine extends ModelContext {
  submit(req: GenerateRequest): RequestStream;
  stats(): EngineStats;
  /** A request is on its way (body being read): returns the call that says it was submitted or failed. */
  announce?(): () => void;
}

export interface Outcome {
  usage: Usage;
  finish: string | null;
  ttftMs: number | null;
  /** true when the client went away (or the server aborted it) before the end. */
  aborted: boolean;
  error: string | null;
  /** The error is that no engine could take the request (every upstream replica down): 503, not 500. */
  unavailable?: boolean;
}

export interface RunHooks {
  /** Fires when the request ends, before its last bytes are sent (the ledger row is written here). */
  onEnd(o: Outcome): void;
  /** Every token event's arrival (for the inter-token histogram). */
  onToken?(): void;
  keepAliveMs: number;
}

/**
 * Submits every choice; a request the engine can never run becomes a 400 before any byte is sent, one no engine can
 * take now a 503. routingKey: the client's session id (routing-key.ts), for engines that spread over replicas.
 */
export function submitAll(engine: ServingEngine, p: Prepared, requestId: string, routingKey?: string): RequestStream[] {
  const streams: RequestStream[] = [];
  try {
    for (let i = 0; i < p.n; i++) {
      const seed = p.plan.sampling.seed;
      streams.push(
        engine.submit({
          id: p.n > 1 ? `${requestId}-${i}` : requestId,
          prompt: p.plan.prompt,
          sampling: { ...p.plan.sampling, ...(seed !== undefined ? { seed: seed + i } : {}) },
          ...(routingKey !== undefined ? { routingKey } : {}),
        }),
      );
    }
  } catch (e) {
    for (const s of streams) s.abort();
    if (e instanceof ContextLengthError) {
      // Claude Code recovers on this wording (clients.md §5); the engine's reason follows.
      throw new ApiError('context_length', `prompt is too long: ${e.promptTokens} tokens > ${e.maxPromptTokens} maximum (${e.message})`, 'messages');
    }
    if (e instanceof RequestError) {
      if (e.code === 'engine_closed') throw new ApiError('overloaded', 'the server is shutting down', null, 503);
      if (e.code === 'unavailable') throw new ApiError('overloaded', e.message, null, 503);
      throw new ApiError('invalid_request', e.message);
    }
    throw e;
  }
  return streams;
}

/** Drives all choices, calling onEvents for each choice's output as it comes. */
async function drive(
  streams: RequestStream[],
  p: Prepared,
  t0: number,
  hooks: RunHooks,
  onEvents: (t: ChoiceTracker, ev: EngineEvent, events: ReturnType<ChoiceTracker['push']>) => Promise<void>,
): Promise<{ trackers: ChoiceTracker[]; ttftMs: number | null; unavailable: boolean }> {
  const trackers = streams.map((_, i) => new ChoiceTracker(i, p.plan.output, p.wantLogprobs));
  let ttftMs: number | null = null;
  let unavailable = false;
  await Promise.all(
    streams.map(async (s, i) => {
      const t = trackers[i]!;
      for await (const ev of s) {
        if (ev.type === 'token') {
          if (ttftMs === null && ev.ids.length > 0) ttftMs = performance.now() - t0;
          hooks.onToken?.();
        }
        if (ev.type === 'done' && ev.errorCode === 'unavailable') unavailable = true;
        await onEvents(t, ev, t.push(ev));
      }
    }),
  );
  return { trackers, ttftMs, unavailable };
}

function outcome(trackers: ChoiceTracker[], ttftMs: number | null, aborted: boolean, unavailable: boolean): Outcome {
  const usage = totalUsage(trackers.map((t) => t.usage ?? { promptTokens: 0, cachedTokens: 0, completionTokens: 0 }));
  const results = trackers.filter((t) => t.finished).map((t) => t.result());
  const err = results.find((r) => r.finish === 'error');
  return {
    usage,
    finish: results[0]?.finish ?? null,
    ttftMs,
    aborted: aborted || results.some((r) => r.finish === 'abort'),
    error: err ? (err.error ?? 'engine error') : null,
    ...(unavailable ? { unavailable } : {}),
  };
}

/** The failure an Outcome's error becomes: overloaded (503) when no engine could take it, else an internal error. */
function failure(o: Outcome): ApiError {
  return o.unavailable ? new ApiError('overloaded', o.error ?? 'no engine is available', null, 503) : new ApiError('api', `generation failed: ${o.error}`);
}

/** Non-streaming: the whole answer as one JSON body (null when the client left first). */
export async function runJson(streams: RequestStream[], p: Prepared, signal: AbortSignal, t0: number, hooks: RunHooks): Promise<unknown> {
  const abortAll = (): void => streams.forEach((s) => s.abort());
  signal.addEventListener('abort', abortAll, { once: true });
  try {
    const { trackers, ttftMs, unavailable } = await drive(streams, p, t0, hooks, async () => {});
    const o = outcome(trackers, ttftMs, signal.aborted, unavailable);
    hooks.onEnd(o);
    if (o.error) throw failure(o);
    const results: ChoiceResult[] = trackers.map((t) => t.result());
    return p.respond(results, o.usage);
  } finally {
    signal.removeEventListener('abort', abortAll);
  }
}

/** Streaming: opening frames at once, keep-alives during silences, the dialect's frames as events arrive. */
export function runSse(streams: RequestStream[], p: Prepared, signal: AbortSignal, t0: number, hooks: RunHooks): SseChannel {
  const ch = new SseChannel();
  const w = p.writer();
  const abortAll = (): void => streams.forEach((s) => s.abort());
  ch.onCancel(abortAll);
  signal.addEventListener('abort', abortAll, { once: true });
  const timer = setInterval(
    () => {
      if (Date.now() - ch.lastSend >= hooks.keepAliveMs) void ch.send([w.keepAlive()]);
    },
    Math.max(10, Math.min(hooks.keepAliveMs / 2, 1000)),
  );
  let ended = false;
  void (async () => {
    try {
      await ch.send(w.open());
      const { trackers, ttftMs, unavailable } = await drive(streams, p, t0, hooks, async (t, ev, events) => {
        const frames = ev.type === 'token' ? w.events(t.index, events, ev.logprobs, ev.ids) : w.events(t.index, events, undefined);
        if (ev.type === 'done' && ev.finishReason !== 'error' && ev.finishReason !== 'abort') pushAll(frames, w.choiceDone(t.result()));
        await ch.send(frames);
      });
      const o = outcome(trackers, ttftMs, signal.aborted || ch.isCancelled, unavailable);
      ended = true;
      hooks.onEnd(o);
      if (o.error) await ch.send(w.fail(failure(o)));
      else if (o.aborted) await ch.send(w.fail(new ApiError('overloaded', 'the request was aborted (server shutting down)', null, 503)));
      else await ch.send(w.close(o.usage));
    } catch (e) {
      // An engine or writer failure mid-stream: the client gets the dialect's failure event, the ledger its row.
      abortAll();
      const err = e instanceof ApiError ? e : new ApiError('api', (e as Error).message);
      if (!ended)
        hooks.onEnd({ usage: { promptTokens: 0, cachedTokens: 0, completionTokens: 0 }, finish: 'error', ttftMs: null, aborted: false, error: err.message });
      await ch.send(w.fail(err));
    } finally {
      clearInterval(timer);
      signal.removeEventListener('abort', abortAll);
      ch.close();
    }
  })();
  return ch;
}
