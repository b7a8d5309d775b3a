// Operations of glm5 serve, as a process: API keys (hashed, Bearer and x-api-key, rate limits, quotas,
// revocation), the ledger (one row per request, equal to the usage clients got, priced), glm5 usage, 16
// concurrent streaming clients, a client that disconnects (its blocks freed, visible in /metrics), and SIGTERM
// under 16 streams (drained with every ledger row, or aborted at the deadline).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { KeyStore } from '../src/server/auth.js';
import { openDb } from '../src/server/db.js';
import { usageReport } from '../src/server/ledger.js';
import { glm5, metric, startServerProcess } from './server-helpers.js';
import type { ServerProcess } from './server-helpers.js';

interface Row {
  request_id: string;
  key_id: string | null;
  model: string;
  endpoint: string;
  status: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  multiplier: number;
  ttft_ms: number | null;
  latency_ms: number;
}
const rows = (db: string): Row[] => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT * FROM ledger ORDER BY id').all() as Row[];
  } finally {
    d.close();
  }
};
const usageKey = (u: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } | null }) =>
  `${u.prompt_tokens}/${u.prompt_tokens_details?.cached_tokens ?? 0}/${u.completion_tokens}`;
const rowKey = (r: Row) => `${r.prompt_tokens}/${r.cached_tokens}/${r.completion_tokens}`;

test('keys: none = open; with keys: 401 without or with a bad key, Bearer and x-api-key work, rpm and quota → 429, revoke at once', async () => {
  const server = await startServerProcess();
  assert.match(server.stderr(), /no API keys configured: the server is open/);
  // Keys created while it runs apply at once.
  const db = server.db;
  const cli = glm5(['keys', 'create', 'main', '--db', db, '--json']);
  assert.equal(cli.status, 0, cli.stderr);
  const main = JSON.parse(cli.stdout) as { id: string; secret: string };
  const store = new KeyStore(openDb(db));
  const mk = (name: string, limits: { rpm?: number; tokenQuota?: number }) => {
    const { key, secret } = store.create(name, limits);
    return { id: key.id, secret };
  };
  const limited = mk('limited', { rpm: 2 });
  const small = mk('small', { tokenQuota: 8 });
  assert.ok(!JSON.stringify(new Database(db, { readonly: true }).prepare('SELECT * FROM api_keys').all()).includes(main.secret), 'secrets are not stored');
  const oa = (key: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
  const req = { model: 'glm-5', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 2 };
  try {
    await assert.rejects(oa('nope').chat.completions.create(req), (e: unknown) => e instanceof OpenAI.AuthenticationError);
    const noKey = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-5', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(noKey.status, 401);
    assert.equal(((await noKey.json()) as { error: { type: string } }).error.type, 'authentication_error');
    const ok = await oa(main.secret).chat.completions.create(req);
    assert.ok(ok.usage!.prompt_tokens > 0);
    const an = new Anthropic({ baseURL: server.url, apiKey: main.secret, maxRetries: 0 }); // sends x-api-key
    assert.equal((await an.messages.create({ model: 'glm-5', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] })).type, 'message');

    await oa(limited.secret).chat.completions.create(req);
    await oa(limited.secret).chat.completions.create(req);
    await assert.rejects(
      oa(limited.secret).chat.completions.create(req),
      (e: unknown) => e instanceof OpenAI.RateLimitError && /try again in \d+s/.test(e.message),
    );

    const used = await oa(small.secret).chat.completions.create(req); // admitted (0 used); 7 prompt + ≥ 1 completion ≥ 8
    assert.ok(used.usage!.total_tokens >= 8);
    await assert.rejects(oa(small.secret).chat.completions.create(req), (e: unknown) => e instanceof OpenAI.RateLimitError && /quota/.test(e.message));
    // Over quota and bad keys in the other dialects' shapes.
    await assert.rejects(
      oa(small.secret).responses.create({ model: 'glm-5', input: 'hi' }),
      (e: unknown) => e instanceof OpenAI.RateLimitError && /quota/.test(e.message),
    );
    await assert.rejects(
      new Anthropic({ baseURL: server.url, apiKey: small.secret, maxRetries: 0 }).messages.create({
        model: 'glm-5',
        max_tokens: 2,
        messages: [{ role: 'user', content: 'hi' }],
      }),
      (e: unknown) => e instanceof Anthropic.RateLimitError && (e.error as { error: { type: string } }).error.type === 'rate_limit_error',
    );
    await assert.rejects(
      new Anthropic({ baseURL: server.url, apiKey: 'bad', maxRetries: 0 }).messages.create({
        model: 'glm-5',
        max_tokens: 2,
        messages: [{ role: 'user', content: 'hi' }],
      }),
      (e: unknown) => e instanceof Anthropic.AuthenticationError,
    );

    assert.equal(glm5(['keys', 'revoke', 'main', '--db', db]).status, 0);
    await assert.rejects(oa(main.secret).chat.completions.create(req), (e: unknown) => e instanceof OpenAI.AuthenticationError);
    const list = store.list();
    assert.deepEqual(
      list.map((k) => [k.name, k.revokedAt !== null]),
      [
        ['main', true],
        ['limited', false],
        ['small', false],
      ],
    );
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
  // Every request has its row; rejected ones with their status and no tokens.
  const r = rows(db);
  assert.deepEqual(
    r.map((x) => x.status),
    [401, 401, 200, 200, 200, 200, 429, 200, 429, 429, 429, 401, 401],
  );
  assert.deepEqual(
    r.filter((x) => x.status === 200).map((x) => x.key_id),
    [main.id, main.id, limited.id, limited.id, small.id],
  );
  const report = usageReport(openDb(db));
  assert.ok(
    report.some((x) => x.key.startsWith('main') && x.requests === 2),
    JSON.stringify(report),
  );
  const text = glm5(['usage', '--db', db]).stdout;
  assert.match(text, /main \(key_\w+\)\s+glm-5\s+2\s/);
  assert.match(text, /^total\s+13\s/m);
});

test('16 concurrent streaming clients finish with independent outputs; ledger rows equal returned usage, priced', async () => {
  const server = await startServerProcess();
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const req = (i: number) => ({
    model: 'glm-5',
    messages: [{ role: 'user' as const, content: `Request number ${i}: say something about ${'abcdefghijklmnop'[i]}` }],
    max_tokens: 24,
    temperature: 0.9,
    seed: 100 + i,
    stream_options: { include_usage: true },
  });
  try {
    const streamed = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const s = client.chat.completions.stream(req(i));
        // openai-node assigns unknown delta fields instead of appending: clients accumulate reasoning themselves.
        let reasoning: string | null = null;
        s.on('chunk', (c) => {
          const r = (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content;
          if (r !== undefined) reasoning = (reasoning ?? '') + r;
        });
        const final = await s.finalChatCompletion();
        return { final, text: JSON.stringify([final.choices[0]!.message.content, reasoning]) };
      }),
    );
    // Alone, one at a time, the same seeds give the same answers: nothing leaked between concurrent requests.
    for (let i = 0; i < 16; i += 5) {
      const alone = await client.chat.completions.create({ ...req(i), stream: false });
      const m = alone.choices[0]!.message as { content: string | null; reasoning_content?: string | null };
      assert.equal(streamed[i]!.text, JSON.stringify([m.content, m.reasoning_content]), `request ${i}`);
    }
    const texts = new Set(streamed.map((c) => c.text));
    assert.ok(texts.size >= 12, 'outputs differ per request');
    const ledger = rows(server.db);
    const got = streamed.map((c) => usageKey(c.final.usage!)).sort();
    const fromLedger = ledger.slice(0, 16).map(rowKey).sort();
    assert.deepEqual(fromLedger, got, 'ledger rows = usage returned');
    for (const r of ledger) {
      assert.equal(r.cost_usd, ((r.prompt_tokens - r.cached_tokens) * 1.0 + r.cached_tokens * 0.2 + r.completion_tokens * 3.2) / 1e6, 'glm-5 list price');
      assert.ok(r.ttft_ms !== null && r.ttft_ms > 0 && r.latency_ms >= r.ttft_ms);
    }
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
    assert.equal(num(/^glm5_requests_total\{endpoint="chat",status="200"\} (\S+)$/m), ledger.length);
    assert.equal(num(/^glm5_time_to_first_token_seconds_count\{endpoint="chat"\} (\S+)$/m), ledger.length);
    assert.ok(num(/^glm5_inter_token_seconds_count\{endpoint="chat"\} (\S+)$/m) > 16);
    assert.equal(
      num(/^glm5_completion_tokens_total\{endpoint="chat"\} (\S+)$/m),
      ledger.reduce((a, r) => a + r.completion_tokens, 0),
    );
    for (const name of [
      'glm5_requests_running',
      'glm5_requests_waiting',
      'glm5_cache_blocks_used',
      'glm5_prefix_cache_hit_rate',
      'glm5_request_duration_seconds_bucket',
    ])
      assert.match(text, new RegExp(`^${name}`, 'm'));
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
});

test('a client that disconnects mid-stream aborts its request: blocks freed (/metrics), ledger row 499', async () => {
  const server = await startServerProcess();
  try {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-5', prompt: 'tell me a long story '.repeat(10), max_tokens: 3000, ignore_eos: true, stream: true }),
    });
    const reader = res.body!.getReader();
    let chunks = 0;
    while (chunks < 5) {
      await reader.read();
      chunks++;
    }
    assert.equal(await metric(server.url, 'glm5_requests_running'), 1);
    assert.ok((await metric(server.url, 'glm5_cache_blocks_used')) > 0);
    ac.abort();
    let used = -1;
    for (let i = 0; i < 100; i++) {
      used = await metric(server.url, 'glm5_cache_blocks_used');
      if (used === 0 && (await metric(server.url, 'glm5_requests_running')) === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(used, 0, 'the aborted request holds no blocks');
    const r = rows(server.db);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.status, 499);
    assert.ok(r[0]!.completion_tokens > 0 && r[0]!.completion_tokens < 3000);
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
});

async function sixteenStreams(
  server: ServerProcess,
  maxTokens: number,
  ignoreEos = false,
): Promise<{ first: Promise<void>; done: Promise<{ usage: string | null; error: boolean }[]> }> {
  let started = 0;
  let markFirst!: () => void;
  const first = new Promise<void>((r) => (markFirst = r));
  const one = async (i: number): Promise<{ usage: string | null; error: boolean }> => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'glm-5',
        messages: [{ role: 'user', content: `stream ${i}` }],
        max_tokens: maxTokens,
        seed: i,
        ignore_eos: ignoreEos,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    let counted = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
      if (!counted && text.includes('"role":"assistant"')) {
        counted = true;
        if (++started === 16) markFirst();
      }
    }
    const events = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
      .map(
        (e) =>
          JSON.parse(e.slice(6)) as {
            usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
            error?: unknown;
          },
      );
    const u = events.find((e) => e.usage)?.usage;
    return { usage: u ? usageKey(u) : null, error: events.some((e) => e.error) };
  };
  return { first, done: Promise.all(Array.from({ length: 16 }, (_, i) => one(i))) };
}

test('SIGTERM under 16 streaming clients: all finish, every ledger row equals the usage returned; new requests refused', async () => {
  const server = await startServerProcess(['--drain-timeout-s', '60']);
  const { first, done } = await sixteenStreams(server, 40);
  await first;
  const exit = server.stop();
  await new Promise((r) => setTimeout(r, 100));
  const late = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(
    (r) => r.status,
    () => 'refused',
  );
  assert.ok(late === 503 || late === 'refused', `late request: ${late}`);
  const results = await done;
  assert.equal(await exit, 0, server.stderr());
  assert.ok(
    results.every((r) => r.usage !== null && !r.error),
    'all 16 completed with usage',
  );
  const ledger = rows(server.db).filter((r) => r.status === 200);
  assert.deepEqual(ledger.map(rowKey).sort(), results.map((r) => r.usage!).sort());
  assert.match(server.stderr(), /stopped \(16 finished, 0 aborted\)/);
});

test('SIGTERM with a short deadline: the 16 streams are aborted with an error event, each still has its ledger row', async () => {
  const server = await startServerProcess(['--drain-timeout-s', '0.3']);
  const { first, done } = await sixteenStreams(server, 3000, true); // (vLLM's ignore_eos: none may end early)
  await first;
  void server.stop();
  const results = await done;
  assert.equal(await server.stop(), 0, server.stderr());
  assert.ok(
    results.every((r) => r.error && r.usage === null),
    'aborted streams end with an error chunk',
  );
  const ledger = rows(server.db);
  assert.equal(ledger.length, 16);
  assert.ok(ledger.every((r) => r.status === 499 && r.completion_tokens > 0));
});
