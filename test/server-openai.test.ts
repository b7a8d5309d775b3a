// glm5 serve as a process, driven by the official openai client: Chat Completions, Completions and Responses,
// streaming and not (the SDK's own accumulators must finish), n, logprobs, thinking on/off, cached tokens on a
// repeated prefix, and bad input → the right 4xx in OpenAI's error shape while the server keeps serving.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Tokenizer } from '../src/text/tokenizer.js';
import { startServerProcess, tinyModelDir } from './server-helpers.js';
import type { ServerProcess } from './server-helpers.js';

let server: ServerProcess;
let client: OpenAI;

before(async () => {
  server = await startServerProcess(['--max-body-mb', '1', '--keep-alive-s', '0.02']); // keep-alives between events: the SDKs must skip them
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  assert.equal(await server.stop(), 0, 'clean exit on SIGTERM');
});

const user = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];

test('models and health', async () => {
  const models = await client.models.list();
  assert.ok(models.data.some((m) => m.id === 'glm-5'));
  assert.equal((await client.models.retrieve('glm-5')).id, 'glm-5');
  await assert.rejects(client.models.retrieve('llama-3'), (e: unknown) => e instanceof OpenAI.NotFoundError);
  const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string };
  assert.equal(health.status, 'ok');
});

test('chat: non-streaming and streaming agree for the same seed; the SDK accumulator finishes', async () => {
  const req = { model: 'glm-5', messages: user('Hello there'), max_tokens: 12, seed: 7, temperature: 0.8 };
  const full = await client.chat.completions.create(req);
  const choice = full.choices[0]!;
  assert.equal(full.object, 'chat.completion');
  assert.equal(full.model, 'glm-5');
  assert.ok(['length', 'stop'].includes(choice.finish_reason));
  assert.equal(full.usage!.completion_tokens <= 12, true);
  assert.equal(full.usage!.total_tokens, full.usage!.prompt_tokens + full.usage!.completion_tokens);

  const stream = client.chat.completions.stream({ ...req, stream_options: { include_usage: true } });
  const final = await stream.finalChatCompletion();
  const msg = final.choices[0]!.message as (typeof final.choices)[0]['message'] & { reasoning_content?: string | null };
  // Same seed, same prompt: same text (reasoning arrives as a custom field the SDK copies by assignment).
  assert.equal(msg.content, choice.message.content);
  assert.equal(final.choices[0]!.finish_reason, choice.finish_reason);
  assert.equal(final.usage!.completion_tokens, full.usage!.completion_tokens);
  assert.equal(final.usage!.prompt_tokens, full.usage!.prompt_tokens);
});

test('chat: thinking on ends the prompt in <think>, off in </think>; reasoning only when on', async () => {
  const on = await client.chat.completions.create({ model: 'glm-5', messages: user('Hi'), max_tokens: 4, seed: 1 });
  const off = await client.chat.completions.create({
    model: 'glm-5',
    messages: user('Hi'),
    max_tokens: 4,
    seed: 1,
    thinking: { type: 'disabled' },
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  const m = (c: OpenAI.ChatCompletion) => c.choices[0]!.message as { reasoning_content?: string | null; content: string | null };
  assert.equal(m(off).reasoning_content, null, 'thinking off → no reasoning');
  assert.ok(m(off).content !== null || off.usage!.completion_tokens <= 1);
  // With thinking on and only 4 tokens, a random model rarely closes </think>: its text is reasoning.
  if (!(m(on).content ?? '').length) assert.ok((m(on).reasoning_content ?? '').length > 0 || on.usage!.completion_tokens <= 1);
  const kw = await client.chat.completions.create({
    model: 'glm-5',
    messages: user('Hi'),
    max_tokens: 4,
    seed: 1,
    chat_template_kwargs: { enable_thinking: false },
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  assert.equal(m(kw).content, m(off).content, 'chat_template_kwargs.enable_thinking=false = thinking.type disabled');
});

test('chat: n=2 gives two choices; logprobs carry token, logprob, bytes, top_logprobs', async () => {
  const r = await client.chat.completions.create({ model: 'glm-5', messages: user('Count'), max_tokens: 5, n: 2, seed: 3, logprobs: true, top_logprobs: 2 });
  assert.deepEqual(
    r.choices.map((c) => c.index),
    [0, 1],
  );
  const lp = r.choices[0]!.logprobs!.content!;
  assert.equal(lp.length, r.choices[0]!.logprobs!.content!.length);
  assert.ok(lp.length >= 1);
  for (const e of lp) {
    assert.equal(typeof e.token, 'string');
    assert.ok(e.logprob <= 0);
    assert.deepEqual(e.bytes, [...Buffer.from(e.token)]);
    assert.equal(e.top_logprobs.length, 2);
  }
  const s = client.chat.completions.stream({ model: 'glm-5', messages: user('Count'), max_tokens: 5, n: 2, seed: 3 });
  const f = await s.finalChatCompletion();
  assert.deepEqual(
    f.choices.map((c) => c.message.content),
    r.choices.map((c) => c.message.content),
    'n streams = n non-streamed',
  );
  const ls = client.chat.completions.stream({
    model: 'glm-5',
    messages: user('Count'),
    max_tokens: 5,
    seed: 3,
    logprobs: true,
    top_logprobs: 2,
    stream_options: { include_usage: true },
  });
  const lf = await ls.finalChatCompletion();
  const a = lf.choices[0]!.logprobs!.content!;
  const b = r.choices[0]!.logprobs!.content!;
  assert.deepEqual(
    a.map((e) => e.token),
    b.map((e) => e.token),
    'streamed logprobs = non-streamed (same seed)',
  );
  // The n=2 run shared its steps with another sequence: batched vs alone differs in the last float bits only.
  a.forEach((e, i) => assert.ok(Math.abs(e.logprob - b[i]!.logprob) < 1e-5));
  assert.equal(lf.choices[0]!.logprobs!.content!.length, lf.usage!.completion_tokens);
});

test('chat: a repeated long prefix is served from the cache (prompt_tokens_details.cached_tokens)', async () => {
  const long = 'The quick brown fox jumps over the lazy dog. '.repeat(30);
  const a = await client.chat.completions.create({
    model: 'glm-5',
    messages: [
      { role: 'system', content: long },
      { role: 'user', content: 'one' },
    ],
    max_tokens: 2,
  });
  const b = await client.chat.completions.create({
    model: 'glm-5',
    messages: [
      { role: 'system', content: long },
      { role: 'user', content: 'two' },
    ],
    max_tokens: 2,
  });
  assert.ok(a.usage!.prompt_tokens > 200);
  assert.ok(b.usage!.prompt_tokens_details!.cached_tokens! >= 192, `cached ${b.usage!.prompt_tokens_details!.cached_tokens}`);
  assert.ok(b.usage!.prompt_tokens_details!.cached_tokens! < b.usage!.prompt_tokens);
});

test('completions: text and token-id prompts, echo, logprobs, streaming', async () => {
  const r = await client.completions.create({ model: 'glm-5', prompt: 'Once upon a time', max_tokens: 6, seed: 2, echo: true, logprobs: 1 });
  assert.ok(r.choices[0]!.text.startsWith('Once upon a time'));
  assert.equal(r.choices[0]!.logprobs!.tokens!.length, r.usage!.completion_tokens);
  const ids = await client.completions.create({ model: 'glm-5', prompt: [5, 6, 7, 8], max_tokens: 3 });
  assert.equal(ids.usage!.prompt_tokens, 4);
  const s = await client.completions.create({
    model: 'glm-5',
    prompt: 'Once upon a time',
    max_tokens: 6,
    seed: 2,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of s) {
    text += chunk.choices[0]?.text ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal('Once upon a time' + text, r.choices[0]!.text, 'stream = non-stream for one seed');
  assert.equal(usage!.completion_tokens, r.usage!.completion_tokens);
  // logit_bias reaches the sampler: +100 on one token makes it the only choice.
  const piece = Tokenizer.fromDir(tinyModelDir()).decode([300]);
  const biased = await client.completions.create({
    model: 'glm-5',
    prompt: 'x',
    max_tokens: 4,
    logit_bias: { '300': 100 },
    ignore_eos: true,
  } as OpenAI.CompletionCreateParamsNonStreaming);
  assert.equal(biased.choices[0]!.text, piece.repeat(4));
});

test('responses: non-streaming and streaming (SDK finalResponse), every stream ends in response.completed', async () => {
  const body = {
    model: 'glm-5',
    input: [{ role: 'user' as const, content: 'Hello' }],
    instructions: 'Be brief.',
    max_output_tokens: 8,
    temperature: 0,
    store: false,
  };
  const r = await client.responses.create(body);
  assert.equal(r.object, 'response');
  assert.ok(['completed', 'incomplete'].includes(r.status!));
  assert.equal(r.usage!.total_tokens, r.usage!.input_tokens + r.usage!.output_tokens);
  const stream = client.responses.stream(body);
  const types: string[] = [];
  stream.on('event', (e) => types.push(e.type));
  const final = await stream.finalResponse();
  assert.equal(types[0], 'response.created');
  assert.ok(['response.completed', 'response.incomplete'].includes(types[types.length - 1]!));
  assert.equal(final.output_text, r.output_text, 'greedy: same text streamed or not');
  assert.equal(final.usage!.output_tokens, r.usage!.output_tokens);
});

/** Raw POST (for bodies the SDK would refuse to send). */
async function post(
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: { error: { message: string; type: string; code: string | null; param: string | null } } }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: (await res.json()) as never };
}

test('bad input → 4xx in the OpenAI error shape, and the server keeps serving', async () => {
  const chat = (b: unknown) => post('/v1/chat/completions', JSON.stringify(b));
  const cases: [string, Promise<Awaited<ReturnType<typeof post>>>, number, RegExp][] = [
    ['malformed JSON', post('/v1/chat/completions', '{"model": "glm-5", "messages": ['), 400, /not valid JSON/],
    ['wrong types', chat({ model: 'glm-5', messages: [{ role: 'user', content: 42 }] }), 400, /messages\.0\.content/],
    ['empty messages', chat({ model: 'glm-5', messages: [] }), 400, /must not be empty/],
    ['unknown model', chat({ model: 'gpt-nonexistent-x', messages: user('hi') }), 200, /./],
    ['unknown model (no alias)', chat({ model: 'llama-3', messages: user('hi') }), 404, /does not exist/],
    ['prompt over the context', chat({ model: 'glm-5', messages: user('a b c d e f g h '.repeat(700)) }), 400, /prompt is too long: \d+ tokens > 4095 maximum/],
    [
      'invalid tool schema',
      chat({ model: 'glm-5', messages: user('hi'), tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] }),
      400,
      /type "object"/,
    ],
    [
      'invalid tool arguments in history',
      chat({
        model: 'glm-5',
        messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }],
      }),
      400,
      /not valid JSON/,
    ],
    [
      'response_format json_schema',
      chat({ model: 'glm-5', messages: user('hi'), response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } }),
      400,
      /not supported/,
    ],
    ['oversized body', post('/v1/chat/completions', JSON.stringify({ model: 'glm-5', messages: user('x'.repeat(1.5 * 1024 * 1024)) })), 413, /larger than/],
    [
      'Responses previous_response_id',
      post('/v1/responses', JSON.stringify({ model: 'glm-5', input: 'hi', previous_response_id: 'resp_1' })),
      400,
      /stateless/,
    ],
  ];
  for (const [name, p, status, re] of cases) {
    const r = await p;
    assert.equal(r.status, status, name);
    if (status >= 400) {
      assert.match(r.json.error.message, re, name);
      assert.equal(typeof r.json.error.type, 'string', name);
      assert.ok('param' in r.json.error && 'code' in r.json.error, name);
    }
  }
  // The SDK surfaces these as typed errors; an unknown model carries OpenAI's code on every OpenAI route.
  await assert.rejects(
    client.chat.completions.create({ model: 'llama-3', messages: user('hi') }),
    (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
  );
  for (const [path, body] of [
    ['/v1/chat/completions', { model: 'llama-3', messages: user('hi') }],
    ['/v1/completions', { model: 'llama-3', prompt: 'hi' }],
    ['/v1/responses', { model: 'llama-3', input: 'hi' }],
  ] as const) {
    const r = await post(path, JSON.stringify(body));
    assert.deepEqual([r.status, r.json.error.type, r.json.error.code, r.json.error.param], [404, 'invalid_request_error', 'model_not_found', 'model'], path);
  }
  const m = await fetch(`${server.url}/v1/models/llama-3`);
  assert.deepEqual([m.status, ((await m.json()) as { error: { code: string } }).error.code], [404, 'model_not_found']);
  // `/` answers GET and HEAD (Claude Code sends HEAD / before every run).
  for (const method of ['HEAD', 'GET']) assert.equal((await fetch(`${server.url}/`, { method })).status, 200, method);
  // Unknown fields are ignored.
  const ok = await chat({ model: 'glm-5', messages: user('hi'), max_tokens: 2, some_future_field: { x: 1 } });
  assert.equal(ok.status, 200);
  const ctx = (await post('/v1/chat/completions', JSON.stringify({ model: 'glm-5', messages: user('a b c d e f g h '.repeat(700)) }))).json;
  assert.equal(ctx.error.code, 'context_length_exceeded');
});

test("odd bodies on every endpoint: never a 500, always JSON in the endpoint's error shape", async () => {
  const bodies: [string, unknown][] = [];
  const odd = [null, [], 'text', 42, {}, { model: 1 }, { model: 'glm-5' }];
  for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/messages', '/v1/messages/count_tokens'])
    for (const b of odd) bodies.push([path, b]);
  const m = { model: 'glm-5' };
  bodies.push(
    ['/v1/chat/completions', { ...m, messages: null }],
    ['/v1/chat/completions', { ...m, messages: [null] }],
    ['/v1/chat/completions', { ...m, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }], max_tokens: 1 }],
    ['/v1/chat/completions', { ...m, messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: '[1]' } }] }] }],
    ['/v1/chat/completions', { ...m, messages: [{ role: 'wizard', content: 'x' }], max_tokens: 1 }],
    ['/v1/chat/completions', { ...m, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function' }] }],
    ['/v1/chat/completions', { ...m, messages: [{ role: 'user', content: 'x' }], stop: [1] }],
    ['/v1/completions', { ...m, prompt: [] }],
    ['/v1/completions', { ...m, prompt: [999999] }],
    ['/v1/completions', { ...m, prompt: [-1] }],
    ['/v1/responses', { ...m, input: [{ type: 'item_reference', id: 'x' }] }],
    ['/v1/responses', { ...m, input: [{ type: 'function_call', name: 'f', arguments: '{bad' }] }],
    ['/v1/responses', { ...m, input: [{ type: 'mystery' }, { role: 'user', content: 'x' }], max_output_tokens: 1 }],
    ['/v1/responses', { ...m, input: 'x', tools: [{ type: 'function' }] }],
    ['/v1/messages', { ...m, max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'mystery' }] }] }],
    ['/v1/messages', { ...m, max_tokens: 1, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 'f', input: [1] }] }] }],
    ['/v1/messages', { ...m, max_tokens: 1, system: 7, messages: [{ role: 'user', content: 'x' }] }],
    ['/v1/messages', { ...m, max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'tool', name: 'nope' } }],
  );
  for (const [path, body] of bodies) {
    const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const what = `${path} ${JSON.stringify(body)}`;
    assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${what}: ${r.status}`);
    const json = (await r.json()) as { error?: { message?: string }; type?: string };
    if (r.status >= 400) {
      assert.equal(typeof json.error?.message, 'string', what);
      if (path.startsWith('/v1/messages')) assert.equal(json.type, 'error', what);
    }
  }
  assert.equal((await client.chat.completions.create({ model: 'glm-5', messages: user('still here?'), max_tokens: 1 })).object, 'chat.completion');
});

test("the same mistakes on /v1/responses and /v1/messages: right status, that dialect's error shape", async () => {
  const big = 'x'.repeat(1.5 * 1024 * 1024);
  const long = 'a b c d e f g h '.repeat(700);
  const schema = { type: 'string' };
  const cases: [string, unknown, unknown, number][] = [
    // name, Responses body, Anthropic body, status
    ['malformed JSON', '{"model":', '{"model":', 400],
    ['wrong types', { model: 'glm-5', input: 5 }, { model: 'glm-5', max_tokens: 5, messages: 'hi' }, 400],
    ['empty input', { model: 'glm-5', input: [] }, { model: 'glm-5', max_tokens: 5, messages: [] }, 400],
    ['unknown model', { model: 'llama-3', input: 'hi' }, { model: 'llama-3', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, 404],
    ['over the context', { model: 'glm-5', input: long }, { model: 'glm-5', max_tokens: 5, messages: [{ role: 'user', content: long }] }, 400],
    [
      'invalid tool schema',
      { model: 'glm-5', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: schema }] },
      { model: 'glm-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'f', input_schema: schema }] },
      400,
    ],
    ['oversized body', { model: 'glm-5', input: big }, { model: 'glm-5', max_tokens: 5, messages: [{ role: 'user', content: big }] }, 413],
  ];
  for (const [name, rb, ab, status] of cases) {
    const send = (path: string, b: unknown) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof b === 'string' ? b : JSON.stringify(b) });
    const r = await send('/v1/responses', rb);
    assert.equal(r.status, status, `responses: ${name}`);
    const rj = (await r.json()) as { error: { message: string; type: string; code: string | null } };
    assert.ok(typeof rj.error.message === 'string' && typeof rj.error.type === 'string', `responses: ${name}`);
    const a = await send('/v1/messages', ab);
    assert.equal(a.status, status, `messages: ${name}`);
    const aj = (await a.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(aj.type, 'error', `messages: ${name}`);
    assert.equal(aj.error.type, { 400: 'invalid_request_error', 404: 'not_found_error', 413: 'request_too_large' }[status], `messages: ${name}`);
    if (name === 'over the context') {
      assert.equal(rj.error.code, 'context_length_exceeded');
      assert.match(aj.error.message, /^prompt is too long: \d+ tokens > 4095 maximum$/);
    }
  }
});
