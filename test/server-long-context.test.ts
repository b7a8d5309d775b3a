// Long context through the real server (issue 23): a one-layer checkpoint with a large context serves a ~150K-token
// conversation on /v1/chat/completions, /v1/messages and /v1/responses (streaming), in one message and across
// many; count_tokens equals the billed prompt tokens; the repeated prompt is a prefix-cache hit; a prompt one
// token over the context gets each dialect's exact overflow error; /v1/models and /health tell the capacity.
// Large bodies are rendered on the server's render worker (render-pool.ts), so this also covers that path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presetConfig } from '../src/model/presets.js';
import { writeSyntheticCheckpoint } from '../src/model/synthetic.js';
import { ChatTemplate } from '../src/text/chat-template.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { metric, startServerProcess, type ServerProcess } from './server-helpers.js';

/** Prompt tokens of the long conversation (the context is set just above it). */
const LONG = Number(process.env.GLM5_LONG_TOKENS ?? 150_000);

const dir = mkdtempSync(join(tmpdir(), 'glm5-long-'));
const vocab = writePresetTextFiles(dir);
const tokenizer = Tokenizer.fromDir(dir);
const template = ChatTemplate.fromDir(dir);

const WORDS = ['river', 'stone', 'light', 'house', 'garden', 'letter', 'window', 'morning', 'bread', 'music', 'paper', 'winter'];
const line = (i: number): string => `Line ${i}: the ${WORDS[i % 12]} and the ${WORDS[(i * 7 + 3) % 12]} were ${i % 5 === 0 ? 'quiet' : 'near'}.\n`;

/** Deterministic prose of about `tokens` tokens: numbered sentences, so no two stretches are alike. */
function prose(tokens: number, seed: number): string {
  const out: string[] = [];
  let n = 0;
  for (let i = seed; n < tokens; i++) {
    out.push(line(i));
    n += tokenizer.encode(line(i), { special: false }).length;
  }
  return out.join('');
}

type Msg = { role: 'user' | 'assistant'; content: string };
const count = (messages: Msg[]): number => template.encodeChat({ messages }, tokenizer).ids.length;

// One message of about LONG tokens, and a conversation of many messages of the same total.
const single: Msg[] = [{ role: 'user', content: prose(LONG - 40, 1) }];
const many: Msg[] = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: prose(Math.floor(LONG / 40) - 20, 1000 * i) }) as Msg);
many.push({ role: 'user', content: 'Summarise the lines above.' });
// The context: the longest of the prompts plus room to answer; `over` is exactly one token over it.
const context = Math.max(count(single), count(many)) + 64;
const over: Msg[] = [{ role: 'user', content: prose(context - 200, 7) }];
for (let i = 0, d = context - count(over); d !== 0 && i < 20; i++, d = context - count(over)) {
  // ' x' is one token here; a negative gap drops whole fillers again.
  over[0]!.content = d > 0 ? over[0]!.content + ' x'.repeat(d) : over[0]!.content.slice(0, 2 * d);
}
assert.equal(count(over), context, 'the overflow prompt is exactly the context (one token more than the longest prompt admitted)');

writeSyntheticCheckpoint(
  dir,
  {
    ...presetConfig('tiny', vocab),
    num_hidden_layers: 1,
    first_k_dense_replace: 1,
    mlp_layer_types: ['dense'],
    indexer_types: ['full'],
    hidden_size: 64,
    intermediate_size: 64,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    index_n_heads: 1,
    index_head_dim: 16,
    index_topk: 64,
    max_position_embeddings: context,
  },
  { seed: 3, dtype: 'bf16' },
);

let server: ServerProcess;
test.before(async () => {
  server = await startServerProcess(['--kv-cache-gb', '0.25', '--max-step-tokens', '2048'], dir);
});
test.after(async () => {
  await server?.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** Reads an SSE stream to the end; returns the data payloads (JSON where they parse). */
async function sse(res: Response): Promise<unknown[]> {
  assert.equal(res.status, 200, await res.clone().text());
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)) as unknown);
}

test('capacity: /v1/models carries max_model_len and context_length; /health and /metrics the cache in tokens', async () => {
  const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { max_model_len: number; context_length: number }[] };
  assert.equal(models.data[0]!.max_model_len, context);
  assert.equal(models.data[0]!.context_length, context);
  const health = (await (await fetch(`${server.url}/health`)).json()) as { contextLength: number; maxPromptTokens: number; cacheTokens: number };
  assert.equal(health.contextLength, context);
  assert.equal(health.maxPromptTokens, context - 1);
  assert.ok(health.cacheTokens >= context, `the cache holds ${health.cacheTokens} tokens`);
  assert.equal(await metric(server.url, 'glm5_cache_capacity_tokens'), health.cacheTokens);
});

test(`a ~${Math.round(LONG / 1000)}K-token message through chat, messages and responses (streaming); the repeats are prefix-cache hits`, async () => {
  const n = count(single);
  const counted = (await (await post('/v1/messages/count_tokens', { model: 'glm-5', messages: single })).json()) as { input_tokens: number };
  assert.equal(counted.input_tokens, n, 'count_tokens renders exactly what is billed');

  const chat = await sse(
    await post('/v1/chat/completions', { model: 'glm-5', messages: single, max_tokens: 2, stream: true, stream_options: { include_usage: true } }),
  );
  const cu = (chat.at(-1) as { usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens: number } } }).usage;
  assert.equal(cu.prompt_tokens, n);

  const msgs = await sse(await post('/v1/messages', { model: 'glm-5', messages: single, max_tokens: 2, stream: true }));
  // message_start goes out before the engine has looked at the cache; message_delta carries the final usage.
  const delta = msgs.find((e) => (e as { type: string }).type === 'message_delta') as { usage: { input_tokens: number; cache_read_input_tokens: number } };
  const mu = delta.usage;
  assert.equal(mu.input_tokens + mu.cache_read_input_tokens, n, 'Anthropic splits the prompt into uncached and cache-read tokens');
  assert.ok(mu.cache_read_input_tokens >= n - 64, `the repeated prompt came from the prefix cache (${mu.cache_read_input_tokens} of ${n})`);

  const resp = await sse(await post('/v1/responses', { model: 'glm-5', input: single, max_output_tokens: 16, stream: true }));
  // max_output_tokens ends a random model's answer: `response.incomplete` (reason max_output_tokens).
  const done = resp.find((e) => /^response\.(completed|incomplete)$/.test((e as { type: string }).type)) as {
    response: { usage: { input_tokens: number; input_tokens_details: { cached_tokens: number } } };
  };
  assert.equal(done.response.usage.input_tokens, n);
  assert.ok(done.response.usage.input_tokens_details.cached_tokens >= n - 64);
});

test('the same length across many messages, non-streaming; count_tokens agrees', async () => {
  const n = count(many);
  const counted = (await (await post('/v1/messages/count_tokens', { model: 'glm-5', messages: many })).json()) as { input_tokens: number };
  assert.equal(counted.input_tokens, n);
  const res = await post('/v1/chat/completions', { model: 'glm-5', messages: many, max_tokens: 2 });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens, n);
});

test("one token over the context: each dialect's exact overflow error, before any model work", async () => {
  const max = context - 1;
  const counted = (await (await post('/v1/messages/count_tokens', { model: 'glm-5', messages: over })).json()) as { input_tokens: number };
  assert.equal(counted.input_tokens, context, 'count_tokens counts above the context too');
  const chat = await post('/v1/chat/completions', { model: 'glm-5', messages: over, max_tokens: 2, stream: true });
  assert.equal(chat.status, 400);
  const ce = ((await chat.json()) as { error: { code: string; message: string; type: string } }).error;
  assert.equal(ce.code, 'context_length_exceeded');
  assert.equal(ce.message, `prompt is too long: ${context} tokens > ${max} maximum`);

  const msg = await post('/v1/messages', { model: 'glm-5', messages: over, max_tokens: 2 });
  assert.equal(msg.status, 400);
  const me = (await msg.json()) as { type: string; error: { type: string; message: string } };
  assert.equal(me.error.type, 'invalid_request_error');
  assert.equal(me.error.message, `prompt is too long: ${context} tokens > ${max} maximum`);

  const resp = await post('/v1/responses', { model: 'glm-5', input: over, max_output_tokens: 16 });
  assert.equal(resp.status, 400);
  const re = ((await resp.json()) as { error: { code: string; message: string } }).error;
  assert.equal(re.code, 'context_length_exceeded');
  assert.equal(re.message, `prompt is too long: ${context} tokens > ${max} maximum`);
  assert.equal(await metric(server.url, 'glm5_requests_running'), 0);
});
