// The front end's parts without sockets: the approximate prefix tree, the cache-aware router (thresholds, balance,
// sticky sessions), health hysteresis, the circuit breaker, backoff, SGLang chunk parsing, and a remote request
// over scripted replicas (stop ids and strings, budgets, retries before the first token, mid-stream failover with
// output identical to an uninterrupted run, all replicas failing).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrefixTree } from '../src/upstream/prefix-tree.js';
import { Router, ROUTER_DEFAULTS } from '../src/upstream/router.js';
import { Replica } from '../src/upstream/replicas.js';
import { BREAKER_DEFAULTS, CircuitBreaker, HEALTH_DEFAULTS, HealthState, backoffMs, RETRY_DEFAULTS } from '../src/upstream/health.js';
import { newTokens } from '../src/upstream/sglang.js';
import { promSum } from '../src/upstream/wire.js';
import { ByteVocab } from '../src/upstream/recover-ids.js';
import { RemoteEngine } from '../src/upstream/remote-engine.js';
import { UpstreamError, type EngineClient, type UpstreamCall, type UpstreamChunk } from '../src/upstream/types.js';
import type { EngineEvent, GenerationResult } from '../src/engine/types.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { ChatTemplate } from '../src/text/chat-template.js';

const replica = (id: string, load = 0): Replica => {
  const r = new Replica(id, `http://${id}`, 'glm5', HEALTH_DEFAULTS, BREAKER_DEFAULTS);
  r.reportedLoad = load;
  return r;
};
const range = (a: number, n: number): number[] => Array.from({ length: n }, (_, i) => a + i);

test('prefix tree: per-tenant match lengths, edge splits, sizes, LRU eviction, tenant removal', () => {
  const t = new PrefixTree();
  t.insert([1, 2, 3, 4, 5], 'a', 1);
  t.insert([1, 2, 3, 9], 'b', 2);
  assert.deepEqual(Object.fromEntries(t.match([1, 2, 3, 4, 5, 6])), { a: 5, b: 3 });
  assert.deepEqual(Object.fromEntries(t.match([1, 2, 3, 9, 9])), { a: 3, b: 4 });
  assert.deepEqual(Object.fromEntries(t.match([1, 7])), { a: 1, b: 1 });
  assert.equal(t.match([8]).size, 0);
  assert.equal(t.size('a'), 5);
  assert.equal(t.size('b'), 4);
  t.insert([1, 2, 3, 4, 5], 'b', 3);
  assert.equal(t.size('b'), 6, 'b now holds 1-2-3, 4-5 and 9');
  // a: an old branch and a newer one; eviction drops the least recently used leaf first.
  t.insert([20, 21, 22, 23], 'a', 10);
  assert.equal(t.size('a'), 9);
  t.evict(5);
  assert.equal(t.size('a'), 4, 'a: 4-5 (oldest leaf) then 1-2-3 (its parent, now a leaf) went');
  assert.equal(t.size('b'), 5, 'b: its oldest leaf (9) went');
  assert.equal(t.match([20, 21, 22, 23]).get('a'), 4, 'the newer branch stays');
  assert.equal(t.match([1, 2, 3, 4, 5]).get('a'), undefined, 'the older one went');
  assert.equal(t.match([1, 2, 3, 4, 5]).get('b'), 5, 'other tenants keep their nodes');
  t.removeTenant('b');
  assert.equal(t.size('b'), 0);
  assert.equal(t.match([1, 2, 3]).size, 0);
});

test('router: cache-aware semantics (match over threshold, else the emptiest tree; balance needs both thresholds)', () => {
  const rt = new Router({ ...ROUTER_DEFAULTS, cacheThreshold: 0.5, balanceAbsThreshold: 4, balanceRelThreshold: 1.5 });
  const [a, b, c] = [replica('a'), replica('b'), replica('c')];
  const all = [a, b, c];
  const sys = range(100, 60);
  assert.equal(rt.pick(all, [...sys, 1, 2], undefined, 0), a, 'empty trees: the first with the fewest tokens');
  assert.equal(rt.pick(all, [...sys, 3, 4], undefined, 0), a, 'shares 60/62 > 0.5 with a');
  assert.equal(rt.decisions.cache_hit, 1);
  assert.equal(rt.pick(all, range(500, 40), undefined, 0), b, 'no match: the emptiest tree (b)');
  assert.equal(rt.pick(all, range(900, 10), undefined, 0), c);
  // Low match (10 of 60 tokens ≤ 0.5): the emptiest tree again, not the best match.
  assert.equal(rt.pick(all, [...range(900, 10), ...range(2000, 50)], undefined, 0), c, 'c holds the fewest tokens');
  // Imbalance: abs 6 > 4 and 8 > 2 × 1.5 → least loaded, whatever the cache says.
  a.reportedLoad = 8;
  b.reportedLoad = 2;
  c.reportedLoad = 5;
  assert.equal(rt.pick(all, [...sys, 5], undefined, 0), b);
  assert.equal(rt.decisions.balance, 1);
  // abs spread 6 > 4 but ratio 26/20 < 1.5: balanced, so the cache decides.
  a.reportedLoad = 26;
  b.reportedLoad = 20;
  c.reportedLoad = 22;
  assert.equal(rt.pick(all, [...sys, 3, 4, 6], undefined, 0), a, 'a holds 62 of these tokens, b (since the balance pick) 60');
  // In-flight requests count when they exceed the reported load.
  a.reportedLoad = 0;
  a.inFlight = 30;
  b.reportedLoad = 0;
  c.reportedLoad = 0;
  assert.notEqual(rt.pick(all, [...sys, 7], undefined, 0), a);
});

test('router: a session key wins over cache and balance, moves when its replica is gone, expires', () => {
  const rt = new Router({ ...ROUTER_DEFAULTS, sessionTtlMs: 1000, maxSessions: 2 });
  const [a, b] = [replica('a'), replica('b')];
  const p = range(1, 50);
  assert.equal(rt.pick([a, b], p, undefined, 0), a);
  assert.equal(rt.pick([a, b], range(300, 50), 'k1', 0), b, 'first request of k1: the policy picks b (empty tree)');
  assert.equal(rt.pick([a, b], p, 'k1', 10), b, 'k1 sticks to b although a holds the prompt');
  b.reportedLoad = 500;
  assert.equal(rt.pick([a, b], p, 'k1', 20), b, 'and although b is far more loaded');
  assert.equal(rt.decisions.session, 2);
  assert.equal(rt.pick([a], p, 'k1', 30), a, 'b unavailable: k1 moves to a');
  assert.equal(rt.pick([a, b], range(300, 50), 'k1', 40), a, 'and stays there');
  b.reportedLoad = 0;
  a.reportedLoad = 500;
  assert.equal(rt.pick([a, b], range(300, 50), 'k1', 1000), a, 'a session ignores load');
  assert.equal(rt.pick([a, b], range(300, 50), 'k1', 2500), b, 'expired after the TTL: the policy decides again (a is overloaded)');
  rt.pick([a, b], p, 'k2', 2001);
  rt.pick([a, b], p, 'k3', 2002);
  assert.equal(rt.sessionCount, 2, 'at most maxSessions, least recently used dropped');
});

test('router: round robin cycles, ignoring the cache', () => {
  const rt = new Router({ ...ROUTER_DEFAULTS, policy: 'round_robin' });
  const all = [replica('a'), replica('b'), replica('c')];
  const p = range(1, 100);
  assert.deepEqual(
    [0, 1, 2, 3].map(() => rt.pick(all, p, undefined, 0)!.id),
    ['a', 'b', 'c', 'a'],
  );
  assert.equal(rt.tree.size('a'), 0, 'no tree kept');
});

test('health hysteresis: first probe decides, then N failures to go down and M successes to come back', () => {
  const h = new HealthState({ failureThreshold: 3, successThreshold: 2 });
  assert.equal(h.status, 'unknown');
  assert.ok(h.record(true));
  assert.equal(h.status, 'healthy');
  h.record(false);
  h.record(false);
  assert.equal(h.status, 'healthy', 'two failures: still healthy');
  h.record(true);
  h.record(false);
  h.record(false);
  assert.equal(h.status, 'healthy', 'a success in between resets the count');
  assert.ok(h.record(false));
  assert.equal(h.status, 'unhealthy');
  h.record(true);
  assert.equal(h.status, 'unhealthy', 'one success is not enough');
  assert.ok(h.record(true));
  assert.equal(h.status, 'healthy');
});

test('circuit breaker: opens after N failures in the window, half-opens after the timeout, closes after good trials', () => {
  const b = new CircuitBreaker({ failureThreshold: 3, successThreshold: 2, openMs: 100, windowMs: 50 });
  b.onFailure(0);
  b.onFailure(10);
  b.onFailure(70);
  b.onFailure(80);
  assert.equal(b.current(80), 'closed', 'the first two failures left the window');
  b.onFailure(90);
  assert.equal(b.current(90), 'open');
  assert.equal(b.allows(150), false);
  assert.equal(b.current(191), 'half_open');
  assert.ok(b.allows(191));
  b.onStart(191);
  assert.equal(b.allows(191), false, 'one trial at a time');
  b.onSuccess(195);
  b.onStart(196);
  b.onFailure(197);
  assert.equal(b.current(197), 'open', 'a failed trial reopens');
  b.current(300);
  b.onStart(300);
  b.onSuccess(301);
  b.onStart(302);
  b.onSuccess(303);
  assert.equal(b.current(303), 'closed');
  b.onFailure(304);
  b.onSuccess(305);
  b.onFailure(306);
  b.onFailure(307);
  assert.equal(b.current(307), 'closed', 'a success while closed clears the count');
});

test('backoff: exponential, capped, jittered within ±jitter', () => {
  const o = { ...RETRY_DEFAULTS, initialMs: 100, multiplier: 2, maxMs: 1000, jitter: 0.2 };
  assert.equal(
    backoffMs(1, o, () => 0.5),
    100,
  );
  assert.equal(
    backoffMs(3, o, () => 0.5),
    400,
  );
  assert.equal(
    backoffMs(10, o, () => 0.5),
    1000,
  );
  assert.equal(
    backoffMs(1, o, () => 0),
    80,
  );
  assert.equal(
    backoffMs(1, o, () => 1),
    120,
  );
});

test('SGLang chunks: cumulative and incremental output_ids (and their logprobs) give the same new tokens', () => {
  const lp = (ids: number[]) => ids.map((id) => [-0.5, id, null] as [number, number, null]);
  // Cumulative: every chunk repeats all tokens so far.
  let seen = 0;
  const got: number[] = [];
  for (const ids of [[5], [5, 6, 7], [5, 6, 7, 8]]) {
    const r = newTokens({ output_ids: ids, meta_info: { completion_tokens: ids.length, output_token_logprobs: lp(ids) } }, seen);
    seen += r.ids.length;
    got.push(...r.ids); // spread-ok: four ids
    assert.deepEqual(
      r.logprobs!.map((l) => l.id),
      r.ids,
    );
  }
  assert.deepEqual(got, [5, 6, 7, 8]);
  // Incremental: deltas, completion_tokens still the running total.
  seen = 0;
  const inc: number[] = [];
  for (const [ids, total] of [
    [[5], 1],
    [[6, 7], 3],
    [[8], 4],
  ] as [number[], number][]) {
    const r = newTokens({ output_ids: ids, meta_info: { completion_tokens: total, output_token_logprobs: lp(ids) } }, seen);
    seen += r.ids.length;
    inc.push(...r.ids); // spread-ok: four ids
    assert.deepEqual(
      r.logprobs!.map((l) => l.id),
      r.ids,
    );
  }
  assert.deepEqual(inc, [5, 6, 7, 8]);
  // No output_ids: the logprob entries carry the ids.
  assert.deepEqual(newTokens({ meta_info: { completion_tokens: 2, output_token_logprobs: lp([3, 4]) } }, 0).ids, [3, 4]);
});

test('Prometheus text: a gauge summed over its label sets', () => {
  const text =
    '# HELP x\nvllm:num_requests_running{model_name="a"} 3.0\nvllm:num_requests_running{model_name="b"} 2\nvllm:num_requests_waiting 4\nvllm:num_requests_running_total 99\n';
  assert.equal(promSum(text, 'vllm:num_requests_running'), 5);
  assert.equal(promSum(text, 'vllm:num_requests_waiting'), 4);
  assert.equal(promSum(text, 'vllm:absent'), null);
});

// ---- a remote request over scripted replicas --------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'glm5-upstream-'));
const preset = writePresetTextFiles(dir);
const tokenizer = Tokenizer.fromDir(dir);
const EOS = preset.eosTokenIds;

/** A deterministic "model": the next id depends on the last three, in the plain-text range of the preset vocab. */
const nextId = (ids: readonly number[]): number => 40 + ((ids.at(-1)! * 7 + (ids.at(-2) ?? 0) * 3 + (ids.at(-3) ?? 0)) % 400);

interface Script {
  /** Reject before the first byte with this error. */
  refuse?: UpstreamError;
  /** Die (connection cut) after this many tokens. */
  dieAfter?: number;
  /** Emit this id at this position instead of the model's. */
  inject?: [number, number];
}

class FakeClient implements EngineClient {
  readonly kind = 'glm5' as const;
  calls: UpstreamCall[] = [];
  aborted: string[] = [];
  constructor(
    readonly url: string,
    public script: Script = {},
  ) {}

  async generate(call: UpstreamCall): Promise<AsyncIterable<UpstreamChunk>> {
    this.calls.push(call);
    const s = this.script;
    if (s.refuse) throw s.refuse;
    const ctx = [...call.prompt, ...call.resumed];
    return (async function* (): AsyncGenerator<UpstreamChunk> {
      for (let i = 0; i < call.maxTokens; i++) {
        if (s.dieAfter !== undefined && i === s.dieAfter) throw new UpstreamError('socket hang up', true);
        const id = s.inject && s.inject[0] === ctx.length - call.prompt.length ? s.inject[1] : nextId(ctx);
        ctx.push(id);
        await new Promise((r) => setImmediate(r));
        yield {
          type: 'tokens',
          ids: [id],
          cachedTokens: 3,
          logprobs: [
            {
              id,
              logprob: -0.25,
              top: [
                { id, logprob: -0.25 },
                { id: 41, logprob: -2 },
              ],
            },
          ],
        };
        if (call.stopIds.includes(id)) {
          yield { type: 'end', finish: 'stop', cachedTokens: 3 };
          return;
        }
      }
      yield { type: 'end', finish: 'length', cachedTokens: 3 };
    })();
  }

  async abort(rid: string): Promise<void> {
    this.aborted.push(rid);
  }

  async health(): Promise<boolean> {
    return true;
  }

  async load(): Promise<number | null> {
    return 0;
  }
}

function fleet(scripts: Script[]): { engine: RemoteEngine; clients: FakeClient[] } {
  const engine = new RemoteEngine({
    tokenizer,
    template: ChatTemplate.fromDir(dir),
    maxContext: 4096,
    eosIds: EOS,
    generationConfig: {},
    upstreams: [],
    kind: 'glm5',
    retry: { maxRetries: 3, initialMs: 1, maxMs: 5 },
  });
  const clients = scripts.map((s, i) => {
    const r = engine.replicas.add(`http://fake${i}`, 'glm5');
    const c = new FakeClient(r.url, s);
    r.client = c;
    r.health.record(true);
    return c;
  });
  return { engine, clients };
}

async function run(
  engine: RemoteEngine,
  prompt: number[],
  sampling: Record<string, unknown>,
  key?: string,
): Promise<{ events: EngineEvent[]; result: GenerationResult }> {
  const s = engine.submit({ prompt, sampling: { temperature: 0, ...sampling }, ...(key ? { routingKey: key } : {}) });
  const events: EngineEvent[] = [];
  for await (const ev of s) events.push(ev);
  return { events, result: await s.result };
}

const PROMPT = range(50, 20);
const expected = (n: number): number[] => {
  const ctx = [...PROMPT];
  for (let i = 0; i < n; i++) ctx.push(nextId(ctx));
  return ctx.slice(PROMPT.length);
};

test('remote request: budget, text, logprobs and cached tokens; the upstream is told the stop ids', async () => {
  const { engine, clients } = fleet([{}]);
  const { events, result } = await run(engine, PROMPT, { maxTokens: 12, logprobs: 1 });
  assert.deepEqual(result.ids, expected(12));
  assert.equal(result.finishReason, 'length');
  assert.equal(result.text, tokenizer.decode(expected(12)));
  assert.deepEqual(result.usage, { promptTokens: 20, cachedTokens: 3, completionTokens: 12 });
  assert.equal(result.logprobs!.length, 12);
  assert.equal(result.logprobs![0]!.top.length, 1, 'top alternatives cut to what was asked');
  assert.equal(events.filter((e) => e.type === 'token').length, 12, 'one event per token');
  assert.deepEqual(clients[0]!.calls[0]!.stopIds.sort(), [...EOS].sort());
  assert.equal(clients[0]!.calls[0]!.maxTokens, 12);
  await engine.close();
});

test('remote request: a stop id ends it (in ids, not in text), after the upstream ends too; ignore_eos drops EOS', async () => {
  const { engine, clients } = fleet([{ inject: [4, EOS[1]!] }]);
  const { result } = await run(engine, PROMPT, { maxTokens: 12 });
  assert.deepEqual(result.ids, [...expected(4), EOS[1]]);
  assert.equal(result.finishReason, 'stop');
  assert.equal(result.stopReason, EOS[1]);
  assert.equal(result.text, tokenizer.decode(expected(4)));
  assert.deepEqual(clients[0]!.aborted, [], 'the upstream ended by itself: no abort');
  const ign = await run(engine, PROMPT, { maxTokens: 8, ignoreEos: true });
  assert.equal(ign.result.ids.length, 8, 'with ignore_eos the EOS id is plain output');
  assert.equal(clients[0]!.calls[1]!.stopIds.length, 0);
  await engine.close();
});

test("remote request: a stop string is glm5's: trimmed text, upstream closed and aborted by id", async () => {
  const { engine, clients } = fleet([{}]);
  const full = tokenizer.decode(expected(12));
  const stop = full.slice(6, 9);
  const { result } = await run(engine, PROMPT, { maxTokens: 12, stop: [stop] });
  assert.equal(result.finishReason, 'stop');
  assert.equal(result.stopReason, stop);
  assert.equal(result.text, full.slice(0, full.indexOf(stop)));
  await new Promise((res) => setImmediate(res));
  assert.equal(clients[0]!.aborted.length, 1);
  await engine.close();
});

test('remote request: a replica that refuses before the first token is retried elsewhere; a 400 is not retried', async () => {
  const { engine, clients } = fleet([{ refuse: new UpstreamError('HTTP 503', true, 503) }, {}]);
  const { result } = await run(engine, PROMPT, { maxTokens: 6 }, 'sess');
  assert.deepEqual(result.ids, expected(6));
  assert.equal(clients[0]!.calls.length + clients[1]!.calls.length, 2);
  clients[0]!.script = { refuse: new UpstreamError('HTTP 400: bad request', false, 400) };
  clients[1]!.script = { refuse: new UpstreamError('HTTP 400: bad request', false, 400) };
  const bad = await run(engine, PROMPT, { maxTokens: 6 });
  assert.equal(bad.result.finishReason, 'error');
  assert.match(bad.result.error!, /400/);
  await engine.close();
});

test('remote request: mid-stream failover resumes with prompt + tokens so far; the output equals an uninterrupted run', async () => {
  const { engine, clients } = fleet([{ dieAfter: 5 }, { dieAfter: 3 }, {}]);
  const { events, result } = await run(engine, PROMPT, { maxTokens: 16, logprobs: 0 });
  assert.deepEqual(result.ids, expected(16));
  assert.equal(result.text, tokenizer.decode(expected(16)));
  assert.equal(events.map((e) => (e.type === 'token' ? e.text : '')).join(''), result.text, 'the stream continues exactly');
  assert.equal(result.finishReason, 'length');
  assert.equal(result.usage.completionTokens, 16);
  assert.equal(result.logprobs!.length, 16);
  const calls = clients.flatMap((c) => c.calls);
  assert.equal(calls.length, 3);
  assert.deepEqual(
    calls.map((c) => c.resumed.length).sort((a, b) => a - b),
    [0, 5, 8],
  );
  assert.deepEqual(
    calls.map((c) => c.maxTokens).sort((a, b) => a - b),
    [8, 11, 16],
  );
  await engine.close();
});

test('remote request: every replica failing ends it with an error marked unavailable; none available refuses at submit', async () => {
  const { engine, clients } = fleet([{ refuse: new UpstreamError('ECONNREFUSED', true) }, { refuse: new UpstreamError('ECONNREFUSED', true) }]);
  const { result, events } = await run(engine, PROMPT, { maxTokens: 4 });
  assert.equal(result.finishReason, 'error');
  assert.equal((events.at(-1) as { errorCode?: string }).errorCode, 'unavailable');
  assert.equal(clients[0]!.calls.length + clients[1]!.calls.length, 4, '1 + maxRetries attempts');
  // Refused connections count as failed probes: after 3 each, both are down.
  await run(engine, PROMPT, { maxTokens: 4 });
  assert.throws(
    () => engine.submit({ prompt: PROMPT }),
    (e: Error & { code?: string }) => e.code === 'unavailable',
  );
  await engine.close();
});

test('remote request: abort ends it with its partial output and stops the upstream', async () => {
  const { engine, clients } = fleet([{}]);
  const s = engine.submit({ prompt: PROMPT, sampling: { temperature: 0, maxTokens: 1000 } });
  let n = 0;
  for await (const ev of s) {
    if (ev.type === 'token' && ++n === 3) s.abort();
  }
  const r = await s.result;
  assert.equal(r.finishReason, 'abort');
  assert.deepEqual(r.ids, expected(3));
  await new Promise((res) => setImmediate(res));
  assert.equal(clients[0]!.aborted.length, 1);
  await engine.close();
});

test('remote request: a replica dying mid-stream with none left to resume on ends it with an error, never silently', async () => {
  const { engine, clients } = fleet([{ dieAfter: 3 }]);
  const { events, result } = await run(engine, PROMPT, { maxTokens: 40 });
  assert.equal(result.finishReason, 'error');
  assert.match(result.error!, /no replica is available \(http:\/\/fake0: socket hang up\)/);
  assert.deepEqual(result.ids, expected(9), 'each attempt resumed where the last one died, until three cut connections took it down');
  const last = events.at(-1)!;
  assert.equal(last.type, 'done');
  assert.equal((last as { errorCode?: string }).errorCode, 'unavailable', 'the dialects end the stream with their overload error');
  assert.equal(clients[0]!.calls.length, 3);
  await engine.close();
});

test('remote request: retries exhausted on replicas that stay up end it unavailable too', async () => {
  const { engine, clients } = fleet([{ refuse: new UpstreamError('HTTP 503: busy', true, 503) }]);
  const { result, events } = await run(engine, PROMPT, { maxTokens: 4 });
  assert.match(result.error!, /gave up after 4 attempts: http:\/\/fake0: HTTP 503/);
  assert.equal((events.at(-1) as { errorCode?: string }).errorCode, 'unavailable');
  assert.equal(clients[0]!.calls.length, 4, 'HTTP errors do not count as failed probes: the replica stays up');
  await engine.close();
});

test('ids a stream skipped are recovered from their text (a character split over tokens)', () => {
  const v = new ByteVocab(tokenizer);
  const bytesOf = (ids: readonly number[]): Buffer => Buffer.concat(ids.map((id) => Buffer.from(tokenizer.tokenBytes(id))));
  let checked = 0;
  for (const text of ['漢字 and ü', 'plain words here', '👍 ok']) {
    const ids = tokenizer.encode(text, { special: false });
    // Any run of ids followed by the next one: recover the run from the text of run + next.
    for (let i = 0; i < ids.length - 1; i++) {
      for (let k = 1; k <= Math.min(3, ids.length - 1 - i); k++) {
        const run = ids.slice(i, i + k);
        const then = [ids[i + k]!];
        const spelled = bytesOf([...run, ...then]).toString('utf8');
        if (spelled.includes('\ufffd')) continue; // a cut inside a character is not text
        const got = v.recover(spelled, k, then);
        assert.ok(got, `${JSON.stringify(text)} ids ${i}..${i + k}`);
        assert.equal(bytesOf(got).toString('latin1'), bytesOf(run).toString('latin1'));
        checked++;
      }
    }
  }
  assert.ok(checked > 20);
  assert.equal(v.recover('ab', 5, []), null, 'five tokens cannot spell two bytes');
});
