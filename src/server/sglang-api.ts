// SGLang's native HTTP API on glm5 (../shared/spec/sglang-generate.md), so glm5 replicas sit behind routers (glm5's
// own `--upstream`, SGLang's) and RL frameworks (slime) drive them: POST /generate (streamed or not), POST
// /abort_request (by rid or all: aborted requests still answer, with their partial tokens), GET /v1/loads,
// /server_info, /model_info (and their old /get_* names), /health_generate; the weight-control endpoints of RL
// rollouts answer 501 in JSON. Every reply is JSON (slime retries anything else). /generate rows go to the ledger.

import type { Context, Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import { ContextLengthError, RequestError, type EngineEvent, type RequestStream } from '../engine/types.js';
import type { Gate } from './auth.js';
import type { ServingEngine } from './generate.js';
import type { Ledger } from './ledger.js';
import type { ModelNames } from './models.js';
import { ApiError } from './protocol/common.js';
import { prepareGenerate, responseObject, type GenerateCall, type Progress } from './sglang-generate.js';
import { SseChannel } from './sse.js';

export interface SglangApiOptions {
  readonly engine: ServingEngine;
  readonly models: ModelNames;
  readonly gate: Gate;
  readonly ledger: Ledger;
  /** The server's shutdown switch: new requests get 503 while draining; in-flight ones are aborted at the deadline. */
  readonly inFlight: { readonly draining: boolean; add(id: string, abort: () => void): void; delete(id: string): void };
  /** Stream deltas instead of SGLang's cumulative chunks unless a request says otherwise (default false). */
  readonly incrementalStreaming?: boolean;
}

const VERSION = '0.1.0';

function errorJson(e: unknown): { status: number; body: unknown } {
  if (e instanceof ApiError) return { status: e.status, body: { error: { message: e.message, type: e.kind } } };
  if (e instanceof ContextLengthError) return { status: 400, body: { error: { message: e.message, type: 'context_length' } } };
  if (e instanceof RequestError) {
    const status = e.code === 'engine_closed' || e.code === 'unavailable' ? 503 : 400;
    return { status, body: { error: { message: e.message, type: e.code } } };
  }
  return { status: 500, body: { error: { message: (e as Error).message, type: 'internal' } } };
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** `POST /generate`: SGLang's native request (input_ids or text) on the engine, JSON or SSE chunks; one ledger row. */
function generateHandler(o: SglangApiOptions, running: Map<string, RequestStream>) {
  return async (c: Context): Promise<Response> => {
    const t0 = performance.now();
    const startedAt = new Date();
    let call: GenerateCall | undefined;
    let keyId: string | null = null;
    const record = (status: number, p: Progress | null, error: string | null): void => {
      const u = p?.finish?.usage ?? { promptTokens: 0, cachedTokens: 0, completionTokens: 0 };
      o.ledger.record({
        requestId: call?.request.id ?? randomUUID(),
        startedAt,
        keyId,
        model: o.models.primary,
        servedModel: o.models.primary,
        endpoint: 'generate',
        stream: call?.stream ?? false,
        status,
        finishReason: p?.finish?.reason ?? null,
        ...u,
        latencyMs: performance.now() - t0,
        ttftMs: null,
        error,
      });
    };
    let stream: RequestStream;
    try {
      if (o.inFlight.draining) throw new ApiError('overloaded', 'the server is shutting down', null, 503);
      keyId = o.gate.admit(c.req.raw.headers)?.id ?? null;
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new ApiError('invalid_request', 'the request body is not valid JSON');
      }
      call = prepareGenerate(body, o.engine.tokenizer, `glm5-${randomUUID()}`, o.incrementalStreaming ?? false);
      const key = c.req.header('x-session-id');
      stream = o.engine.submit({ ...call.request, ...(key ? { routingKey: key } : {}) });
    } catch (e) {
      const { status, body } = errorJson(e);
      record(status, null, (e as Error).message);
      return json(status, body);
    }
    const id = call.request.id;
    running.set(id, stream);
    o.inFlight.add(id, () => stream.abort());
    const signal = c.req.raw.signal;
    const onClose = (): void => stream.abort();
    signal.addEventListener('abort', onClose, { once: true });
    const end = (p: Progress): void => {
      running.delete(id);
      o.inFlight.delete(id);
      signal.removeEventListener('abort', onClose);
      const f = p.finish;
      record(f?.reason === 'error' ? 500 : f?.reason === 'abort' ? 499 : 200, p, f?.error ?? null);
    };
    if (!call.stream) {
      const p = await collect(stream);
      end(p);
      if (p.finish?.reason === 'error' && p.ids.length === 0)
        return json(p.finish.unavailable ? 503 : 500, { error: { message: p.finish.error ?? 'generation failed' } });
      return json(200, responseObject(call, p, 0, 0, t0));
    }
    return new Response(streamChunks(call, stream, t0, end).body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
    });
  };
}

/** Load, server and model information (`/v1/loads`, `/server_info`, `/model_info`) and `/health_generate`. */
function mountInfoRoutes(app: Hono, o: SglangApiOptions): void {
  const loads = (): unknown => {
    const s = o.engine.stats();
    return {
      loads: [
        {
          dp_rank: 0,
          num_running_reqs: s.running,
          num_waiting_reqs: s.waiting,
          num_used_tokens: s.blocksUsed * s.blockSize,
          max_total_num_tokens: s.blocksTotal * s.blockSize,
        },
      ],
    };
  };
  app.get('/v1/loads', (c) => c.json(loads() as object));
  const serverInfo = (): unknown => ({
    engine: 'glm5',
    version: VERSION,
    model_path: o.models.primary,
    tokenizer_path: o.models.primary,
    served_model_name: o.models.primary,
    context_length: o.engine.maxContext,
    tp_size: 1,
    dp_size: 1,
    pp_size: 1,
    ep_size: 1,
    disaggregation_mode: null,
    enable_memory_saver: false,
    incremental_streaming_output: o.incrementalStreaming ?? false,
    skip_tokenizer_init: false,
  });
  for (const path of ['/server_info', '/get_server_info']) app.get(path, (c) => c.json(serverInfo() as object));
  const modelInfo = (): unknown => ({ model_path: o.models.primary, tokenizer_path: o.models.primary, is_generation: true, weight_version: 'default' });
  for (const path of ['/model_info', '/get_model_info']) app.get(path, (c) => c.json(modelInfo() as object));
  app.get('/health_generate', async () => {
    try {
      const r = await o.engine.submit({ prompt: [0], sampling: { maxTokens: 1, temperature: 0 } }).result;
      return json(r.finishReason === 'error' ? 503 : 200, { status: r.finishReason === 'error' ? 'error' : 'ok' });
    } catch (e) {
      return json(503, { status: 'error', message: (e as Error).message });
    }
  });
}

export function mountSglangApi(app: Hono, o: SglangApiOptions): void {
  const running = new Map<string, RequestStream>();
  app.post('/generate', generateHandler(o, running));

  app.post('/abort_request', async (c) => {
    let body: { rid?: unknown; abort_all?: unknown } = {};
    try {
      o.gate.admit(c.req.raw.headers);
      body = (await c.req.json()) as typeof body;
    } catch (e) {
      const { status, body: b } = errorJson(e instanceof ApiError ? e : new ApiError('invalid_request', 'the request body is not valid JSON'));
      return json(status, b);
    }
    const ids = (body.abort_all === true ? [...running.keys()] : typeof body.rid === 'string' ? [body.rid] : []).filter((id) => running.has(id));
    for (const id of ids) running.get(id)!.abort();
    return json(200, { aborted: ids.length });
  });

  mountInfoRoutes(app, o);
  for (const path of ['/pause_generation', '/continue_generation', '/flush_cache', '/update_weights_from_disk', '/get_weight_version']) {
    app.all(path, () =>
      json(501, { error: { message: `${path} is not implemented by glm5 yet (RL weight control belongs to a later round)`, type: 'not_implemented' } }),
    );
  }
}

/** Applies one engine event to a request's progress. */
function apply(p: Progress, ev: EngineEvent): void {
  if (ev.type === 'token') {
    for (const id of ev.ids) p.ids.push(id);
    p.text += ev.text;
    if (ev.logprobs) for (const l of ev.logprobs) p.logprobs.push(l);
  } else {
    p.finish = {
      reason: ev.finishReason,
      usage: ev.usage,
      ...(ev.stopReason !== undefined ? { stopReason: ev.stopReason } : {}),
      ...(ev.error !== undefined ? { error: ev.error } : {}),
      ...(ev.errorCode === 'unavailable' ? { unavailable: true } : {}),
    };
  }
}

async function collect(stream: RequestStream): Promise<Progress> {
  const p: Progress = { ids: [], text: '', logprobs: [] };
  for await (const ev of stream) apply(p, ev);
  return p;
}

/**
 * SSE: one chunk per engine step at most (events that arrive together — a last token and the end — make one chunk),
 * cumulative or deltas, then `data: [DONE]`. A client that leaves aborts the request.
 */
function streamChunks(call: GenerateCall, stream: RequestStream, t0: number, end: (p: Progress) => void): SseChannel {
  const ch = new SseChannel();
  ch.onCancel(() => stream.abort());
  const p: Progress = { ids: [], text: '', logprobs: [] };
  let sentIds = 0,
    sentText = 0,
    sentFinish = false;
  const flush = async (): Promise<void> => {
    if (sentFinish || (!p.finish && p.ids.length === sentIds)) return;
    sentFinish = p.finish !== undefined;
    const from = call.incremental ? sentIds : 0;
    const obj = responseObject(call, p, from, 0, t0);
    if (call.incremental) {
      const full = obj.text as string;
      obj.text = full.slice(sentText);
      sentText = full.length;
    }
    sentIds = p.ids.length;
    await ch.send([{ data: JSON.stringify(obj) }]);
  };
  void (async () => {
    let tick: Promise<void> | null = null;
    try {
      for await (const ev of stream) {
        apply(p, ev);
        // Coalesce what arrives in the same turn (a stop token and the end).
        tick ??= new Promise<void>((r) => setImmediate(r)).then(async () => {
          tick = null;
          await flush();
        });
        if (ev.type === 'done') break;
      }
      await tick;
      await flush();
      await ch.send([{ data: '[DONE]' }]);
    } catch (e) {
      await ch.send([{ data: JSON.stringify({ error: { message: (e as Error).message } }) }, { data: '[DONE]' }]);
    } finally {
      end(p);
      ch.close();
    }
  })();
  return ch;
}
