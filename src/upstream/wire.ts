// HTTP to upstream servers: a streamed POST read as server-sent events (one JSON value per `data:` line), and
// small GETs with a deadline for health, load and detection. Failures become UpstreamErrors that say whether
// another replica may take the request.

import { RETRYABLE_STATUS, UpstreamError } from './types.js';

/** The upstream's base URL without a trailing slash. */
export const baseUrl = (url: string): string => url.replace(/\/+$/, '');

/** A connection-level failure (refused, reset, cut mid-stream) — the replica is at fault, never the request. */
function networkError(url: string, e: unknown): UpstreamError {
  if (e instanceof UpstreamError) return e;
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return new UpstreamError(`${url}: ${err.message}${cause ? ` (${cause})` : ''}`, true);
}

/** A non-2xx answer: its status decides whether the replica or the request is at fault. */
async function statusError(url: string, r: Response): Promise<UpstreamError> {
  let text = '';
  try {
    text = (await r.text()).slice(0, 500);
  } catch {
    /* the body is only for the message */
  }
  return new UpstreamError(`${url}: HTTP ${r.status}${text ? `: ${text}` : ''}`, RETRYABLE_STATUS.has(r.status), r.status);
}

/**
 * POSTs JSON and resolves once the answer's headers are in (2xx): the body is then read as SSE, yielding each
 * `data:` payload parsed as JSON until `[DONE]` or the end. An `error:` line (llama-server) or a payload with a
 * top-level `error` (SGLang, vLLM) throws, as does a connection cut mid-stream.
 */
export async function postSse(url: string, body: unknown, signal: AbortSignal): Promise<AsyncIterable<unknown>> {
  let r: Response;
  try {
    r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify(body), signal });
  } catch (e) {
    throw networkError(url, e);
  }
  if (!r.ok || !r.body) throw await statusError(url, r);
  return readSse(url, r.body);
}

async function* readSse(url: string, body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buf = '';
  const reader = body.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw networkError(url, e);
      }
      if (chunk.done) break;
      buf += decoder.decode(chunk.value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const v = parseLine(url, line);
        if (v === DONE) return;
        if (v !== undefined) yield v;
      }
    }
    const v = parseLine(url, buf.trim());
    if (v !== undefined && v !== DONE) yield v;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

const DONE = Symbol('done');

function parseLine(url: string, line: string): unknown {
  const m = /^(data|error):\s?(.*)$/.exec(line);
  if (!m) return undefined;
  const payload = m[2]!;
  if (payload === '[DONE]') return DONE;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    throw new UpstreamError(`${url}: a stream line is not JSON: ${payload.slice(0, 200)}`, true);
  }
  const err = m[1] === 'error' ? v : (v as { error?: unknown } | null)?.error;
  if (err) {
    const message = typeof err === 'string' ? err : ((err as { message?: string }).message ?? JSON.stringify(err));
    throw new UpstreamError(`${url}: ${message}`, false);
  }
  return v;
}

/** GET with a deadline: the response, or null when the server cannot be reached in time. */
export async function get(url: string, timeoutMs: number): Promise<Response | null> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return null;
  }
}

/** GET → parsed JSON, or null (unreachable, non-2xx, or not JSON). */
export async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const r = await get(url, timeoutMs);
  if (!r?.ok) {
    await r?.body?.cancel();
    return null;
  }
  try {
    return (await r.json()) as unknown;
  } catch {
    return null;
  }
}

/** POST JSON and forget the answer (aborts by id); failures are ignored: the connection close stops the request too. */
export async function postQuiet(url: string, body: unknown, timeoutMs: number): Promise<void> {
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.body?.cancel();
  } catch {
    /* best effort */
  }
}

/** The sum of a Prometheus gauge over all its label sets (`name{…} value` lines), or null when absent. */
export function promSum(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

/** Health probe: GET path answers 2xx within the deadline. */
export async function probe(url: string, timeoutMs: number): Promise<boolean> {
  const r = await get(url, timeoutMs);
  await r?.body?.cancel().catch(() => {});
  return r?.ok === true;
}
