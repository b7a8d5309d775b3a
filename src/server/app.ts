// The HTTP surface (hono): routes → dialect modules → engine; auth, body limits, errors in each dialect's shape,
// ledger rows and metrics for every generation request, and a drain switch for shutdown.

import { Hono } from 'hono';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { randomUUID } from 'node:crypto';
import type { Gate } from './auth.js';
import { runJson, runSse, submitAll } from './generate.js';
import type { Outcome, ServingEngine } from './generate.js';
import type { Ledger } from './ledger.js';
import type { Metrics } from './metrics.js';
import type { ModelNames } from './models.js';
import { anthropicError, countTokens, prepareMessages } from './protocol/anthropic.js';
import { ApiError, type ModelContext } from './protocol/common.js';
import type { Endpoint, ErrorShape, Prepared } from './protocol/dialect.js';
import { seconds } from './protocol/dialect.js';
import { OPENAI_ERRORS, openaiErrorBody } from './protocol/openai-common.js';
import { prepareChat } from './protocol/openai-chat.js';
import { prepareCompletions } from './protocol/openai-completions.js';
import { prepareResponses, responsesError } from './protocol/responses.js';
import { OFFLOAD_BYTES, type RenderPool } from './render-pool.js';
import { mountWebUi } from './web-ui.js';
import { routingKey } from './routing-key.js';
import { mountSglangApi } from './sglang-api.js';
import { mountWorkersApi, type WorkersApiOptions } from './workers-api.js';

export interface AppOptions {
  readonly engine: ServingEngine;
  readonly models: ModelNames;
  readonly gate: Gate;
  readonly ledger: Ledger;
  readonly metrics: Metrics;
  readonly maxBodyBytes: number;
  /** Silence after which a stream gets a keep-alive (ping / comment / in_progress). */
  readonly keepAliveMs: number;
  /** One line per finished generation request (access log); omitted = quiet. */
  readonly log?: (line: string) => void;
  /** Renders large prompts on a worker thread (the checkpoint's tokenizer and template); absent: on the event loop. */
  readonly render?: RenderPool;
  /** A front end over upstream replicas: its /workers admin API. */
  readonly workers?: WorkersApiOptions;
}

/** Requests being answered; shutdown waits for them, then aborts what is left. */
export class InFlight {
  private readonly aborts = new Map<string, () => void>();
  private waiters: (() => void)[] = [];
  draining = false;

  add(id: string, abort: () => void): void {
    this.aborts.set(id, abort);
  }

  delete(id: string): void {
    this.aborts.delete(id);
    if (this.aborts.size === 0) for (const w of this.waiters.splice(0)) w();
  }

  get size(): number {
    return this.aborts.size;
  }

  /** Resolves when nothing is in flight or after ms (then aborts the rest and waits for them to end). */
  async drain(ms: number): Promise<{ finished: number; aborted: number }> {
    this.draining = true;
    const before = this.aborts.size;
    const idle = (): Promise<void> => (this.aborts.size === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r)));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      idle().then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), ms);
      }),
    ]);
    clearTimeout(timer);
    let aborted = 0;
    if (timedOut) {
      aborted = this.aborts.size;
      for (const a of [...this.aborts.values()]) a();
      await idle();
    }
    return { finished: before - aborted, aborted };
  }
}

/** Each route fails through its dialect's error table (the OpenAI one for everything that is not a dialect's). */
function shapeFor(path: string): ErrorShape {
  if (path.startsWith('/v1/messages')) return anthropicError;
  if (path.startsWith('/v1/responses')) return responsesError;
  return (e) => openaiErrorBody(OPENAI_ERRORS, e);
}

function errorResponse(c: Context, e: ApiError): Response {
  const r = shapeFor(c.req.path)(e);
  return c.json(r.body as object, r.status as 400);
}

async function readBody(c: Context): Promise<{ body: unknown; bytes: number }> {
  const text = await c.req.text();
  try {
    return { body: JSON.parse(text) as unknown, bytes: text.length };
  } catch (e) {
    throw new ApiError('invalid_request', `the request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** What the server can hold: the context, the longest prompt admitted, and the KV cache in tokens. */
function capacity(e: ServingEngine): Record<string, number> {
  const s = e.stats();
  return {
    contextLength: e.maxContext,
    maxPromptTokens: Math.min(e.maxContext - 1, e.maxPromptTokens ?? Infinity),
    cacheTokens: s.blocksTotal * s.blockSize,
    cacheTokensUsed: s.blocksUsed * s.blockSize,
    cacheTokensCached: s.blocksCached * s.blockSize,
  };
}

/** Runs a dialect's prepare: large bodies render and tokenize on the render worker, off the event loop. */
function prepareBody<P>(o: AppOptions, bytes: number, prepare: (ctx: ModelContext) => P): P | Promise<P> {
  return o.render && bytes >= OFFLOAD_BYTES ? o.render.prepare(prepare, o.engine) : prepare(o.engine);
}

/**
 * One generation endpoint: keys, body, the dialect's prepare, submission, then JSON or SSE; the ledger row and
 * metrics when it ends (however it ends), and the dialect's error shape when it fails before the first byte.
 */
function generationHandler(o: AppOptions, inFlight: InFlight, endpoint: Endpoint, prepare: (body: unknown, ctx: ModelContext) => Prepared) {
  return async (c: Context): Promise<Response> => {
    const startedAt = new Date();
    const t0 = performance.now();
    const requestId = randomUUID();
    let keyId: string | null = null;
    let model = '';
    let stream = false;
    let added = false;
    let ended = false;
    const record = (status: number, out: Partial<Outcome>): void => {
      const usage = out.usage ?? { promptTokens: 0, cachedTokens: 0, completionTokens: 0 };
      o.ledger.record({
        requestId,
        startedAt,
        keyId,
        model,
        servedModel: o.models.primary,
        endpoint,
        stream,
        status,
        finishReason: out.finish ?? null,
        ...usage,
        latencyMs: performance.now() - t0,
        ttftMs: out.ttftMs ?? null,
        error: out.error ?? null,
      });
      o.metrics.requests.inc({ endpoint, status: String(status) });
      o.metrics.latency.observe({ endpoint }, (performance.now() - t0) / 1000);
      if (out.ttftMs != null) o.metrics.ttft.observe({ endpoint }, out.ttftMs / 1000);
      o.metrics.promptTokens.inc({ endpoint }, usage.promptTokens);
      o.metrics.cachedTokens.inc({ endpoint }, usage.cachedTokens);
      o.metrics.completionTokens.inc({ endpoint }, usage.completionTokens);
      o.log?.(
        `${endpoint} ${status} ${model || '-'}${stream ? ' stream' : ''} prompt ${usage.promptTokens} (cached ${usage.cachedTokens}) completion ${usage.completionTokens} ${((performance.now() - t0) / 1000).toFixed(2)}s${out.error ? ` — ${out.error}` : ''}`,
      );
    };
    // Requests that arrive together are batched by the engine's next step (Engine.announce).
    const arrived = o.engine.announce?.();
    try {
      if (inFlight.draining) throw new ApiError('overloaded', 'the server is shutting down', null, 503);
      keyId = o.gate.admit(c.req.raw.headers)?.id ?? null;
      const { body, bytes } = await readBody(c);
      if (body && typeof body === 'object' && typeof (body as { model?: unknown }).model === 'string') model = (body as { model: string }).model;
      if (model && !o.models.accepts(model))
        throw new ApiError('model_not_found', `The model '${model}' does not exist (this server serves ${o.models.served.join(', ')})`, 'model');
      const p = await prepareBody(o, bytes, (ctx) => prepare(body, ctx));
      stream = p.stream;
      const streams = submitAll(o.engine, p, requestId, routingKey(c.req.raw.headers, body));
      arrived?.();
      inFlight.add(requestId, () => streams.forEach((s) => s.abort()));
      added = true;
      o.metrics.inFlight.inc();
      let lastToken = 0;
      const hooks = {
        keepAliveMs: o.keepAliveMs,
        onToken: () => {
          const t = performance.now();
          if (lastToken) o.metrics.interToken.observe({ endpoint }, (t - lastToken) / 1000);
          lastToken = t;
        },
        onEnd: (out: Outcome) => {
          ended = true;
          record(out.error ? (out.unavailable ? 503 : 500) : out.aborted ? 499 : 200, out);
          o.metrics.inFlight.dec();
          inFlight.delete(requestId);
        },
      };
      const signal = c.req.raw.signal;
      if (!p.stream) return c.json((await runJson(streams, p, signal, t0, hooks)) as object);
      const ch = runSse(streams, p, signal, t0, hooks);
      return new Response(ch.body, {
        status: 200,
        headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' },
      });
    } catch (e) {
      arrived?.();
      const err = e instanceof ApiError ? e : new ApiError('api', `internal error: ${(e as Error).message}`);
      if (err.kind === 'api') console.error(`glm5 serve: ${endpoint} ${requestId}: ${(e as Error).stack ?? e}`);
      if (!ended) {
        record(shapeFor(c.req.path)(err).status, { error: err.message });
        if (added) {
          o.metrics.inFlight.dec();
          inFlight.delete(requestId);
        }
      }
      return errorResponse(c, err);
    }
  };
}

export function createApp(o: AppOptions): { app: Hono; inFlight: InFlight } {
  const app = new Hono();
  const inFlight = new InFlight();
  const started = seconds();

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: o.maxBodyBytes,
      onError: (c) => errorResponse(c, new ApiError('too_large', `request body is larger than ${o.maxBodyBytes} bytes`)),
    }),
  );

  app.get('/health', (c) =>
    c.json(
      { status: inFlight.draining ? 'draining' : 'ok', model: o.models.primary, ...capacity(o.engine), ...o.engine.stats() },
      inFlight.draining ? 503 : 200,
    ),
  );
  app.get('/v1/models', (c) => c.json(o.models.list(started, o.engine.maxContext) as object));
  app.get('/v1/models/:id{.+}', (c) => {
    const id = c.req.param('id');
    if (!o.models.accepts(id)) return errorResponse(c, new ApiError('model_not_found', `The model '${id}' does not exist`, 'model'));
    return c.json({ id, object: 'model', created: started, owned_by: 'glm5', max_model_len: o.engine.maxContext, context_length: o.engine.maxContext });
  });
  app.get('/metrics', async (c) => c.text(await o.metrics.registry.metrics(), 200, { 'Content-Type': o.metrics.registry.contentType }));

  const generation = (endpoint: Endpoint, prepare: (body: unknown, ctx: ModelContext) => Prepared) => generationHandler(o, inFlight, endpoint, prepare);

  app.post('/v1/chat/completions', generation('chat', prepareChat));
  app.post('/v1/completions', generation('completions', prepareCompletions));
  app.post('/v1/responses', generation('responses', prepareResponses));
  app.post('/v1/messages', generation('messages', prepareMessages));
  app.post('/v1/messages/count_tokens', async (c) => {
    try {
      o.gate.admit(c.req.raw.headers);
      const { body, bytes } = await readBody(c);
      return c.json(await prepareBody(o, bytes, (ctx) => countTokens(body, ctx)));
    } catch (e) {
      return errorResponse(c, e instanceof ApiError ? e : new ApiError('api', (e as Error).message));
    }
  });

  // Claude Code sends HEAD / before every run: 200 even while the chat page is not built (hono answers HEAD with
  // the GET route, which would then be a 503).
  app.use('/', async (c, next) => (c.req.method === 'HEAD' ? c.body(null, 200) : next()));
  mountSglangApi(app, { engine: o.engine, models: o.models, gate: o.gate, ledger: o.ledger, inFlight }); // SGLang's /generate & co.
  if (o.workers) mountWorkersApi(app, o.workers);
  mountWebUi(app); // the chat page at `/` (web/)

  app.notFound((c) => errorResponse(c, new ApiError('not_found', `no route ${c.req.method} ${c.req.path}`)));
  app.onError((e, c) => {
    console.error(`glm5 serve: ${c.req.method} ${c.req.path}: ${e.stack ?? e}`);
    return errorResponse(c, new ApiError('api', `internal error: ${e.message}`));
  });
  return { app, inFlight };
}
