// glm5 serve driven by the official @anthropic-ai/sdk, the way Claude Code talks to it: messages create and
// stream (the SDK's MessageStream must finish), thinking on/off, count_tokens equal to the billed prompt,
// billing-header normalisation (prefix cache hits), inline system messages, errors in Anthropic's shape.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startServerProcess } from './server-helpers.js';
import type { ServerProcess } from './server-helpers.js';

let server: ServerProcess;
let client: Anthropic;

before(async () => {
  server = await startServerProcess(['--keep-alive-s', '0.02']); // pings between events: the SDK must skip them
  client = new Anthropic({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
});

test('messages: create and stream agree (greedy); MessageStream finishes; usage excludes cached from input', async () => {
  const body = { model: 'claude-sonnet-4-5', max_tokens: 10, temperature: 0, messages: [{ role: 'user' as const, content: 'Hello' }] };
  const m = await client.messages.create(body);
  assert.equal(m.type, 'message');
  assert.equal(m.model, 'claude-sonnet-4-5', 'the requested name is echoed');
  assert.ok(['end_turn', 'max_tokens'].includes(m.stop_reason!));
  const stream = client.messages.stream(body);
  const events: string[] = [];
  stream.on('streamEvent', (e) => events.push(e.type));
  const final = await stream.finalMessage();
  assert.equal(events[0], 'message_start');
  const raw = await fetch(`${server.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, messages: [{ role: 'user', content: 'a b c d e f g h '.repeat(120) }], stream: true }),
  });
  assert.match(await raw.text(), /^event: message_start\n[\s\S]*event: ping\ndata: \{"type":"ping"\}/, 'message_start at once, pings during a long prefill');
  assert.equal(events[events.length - 1], 'message_stop');
  assert.deepEqual(
    final.content.map((b) => b.type),
    m.content.map((b) => b.type),
  );
  assert.deepEqual(final.content, m.content);
  assert.equal(final.usage.output_tokens, m.usage.output_tokens);
  // thinking blocks carry a signature the server accepts back
  const thinking = m.content.find((b) => b.type === 'thinking');
  if (thinking) {
    const again = await client.messages.create({
      ...body,
      messages: [...body.messages, { role: 'assistant', content: m.content }, { role: 'user', content: 'More' }],
    });
    assert.equal(again.type, 'message');
  }
});

test('messages: thinking disabled → no thinking block', async () => {
  const m = await client.messages.create({
    model: 'glm-5',
    max_tokens: 6,
    temperature: 0,
    thinking: { type: 'disabled' },
    messages: [{ role: 'user', content: 'Hi' }],
  });
  assert.ok(m.content.every((b) => b.type !== 'thinking'));
  const on = await client.messages.create({ model: 'glm-5', max_tokens: 6, temperature: 0, messages: [{ role: 'user', content: 'Hi' }] });
  // thinking on (default): the output starts as reasoning; with 6 tokens of a random model it is a thinking block
  // unless the model happened to close </think> at once.
  assert.ok(on.content.length === 0 || on.content[0]!.type === 'thinking' || on.content[0]!.type === 'text');
});

test('count_tokens equals the input a create call bills; billing header normalised → prefix cache hits', async () => {
  const system = (cch: string) => [
    { type: 'text' as const, text: `x-anthropic-billing-header: cc_version=2.0.1; cc_entrypoint=cli; cch=${cch};` },
    { type: 'text' as const, text: 'You are Claude Code. '.repeat(40), cache_control: { type: 'ephemeral' as const } },
  ];
  const messages = [
    { role: 'user' as const, content: 'list files' },
    { role: 'assistant' as const, content: 'ok' },
    { role: 'system' as never, content: 'inline reminder' },
    { role: 'user' as const, content: 'go' },
  ];
  const count = await client.messages.countTokens({ model: 'glm-5', system: system('a1b2c'), messages });
  const first = await client.messages.create({ model: 'glm-5', max_tokens: 2, system: system('a1b2c'), messages });
  assert.equal(count.input_tokens, first.usage.input_tokens + (first.usage.cache_read_input_tokens ?? 0));
  const second = await client.messages.create({ model: 'glm-5', max_tokens: 2, system: system('zz999'), messages });
  assert.equal(second.usage.input_tokens + (second.usage.cache_read_input_tokens ?? 0), count.input_tokens, 'cch does not change the prompt');
  assert.ok((second.usage.cache_read_input_tokens ?? 0) >= 192, `cache_read ${second.usage.cache_read_input_tokens}`);
});

test('bad input → Anthropic error shape and status; unknown fields and beta headers accepted', async () => {
  const post = async (body: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${server.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: r.status, json: (await r.json()) as { type: string; error: { type: string; message: string } } };
  };
  const bad: [string, string, number, string, RegExp][] = [
    ['malformed JSON', '{"model":', 400, 'invalid_request_error', /not valid JSON/],
    ['missing max_tokens', JSON.stringify({ model: 'glm-5', messages: [{ role: 'user', content: 'hi' }] }), 400, 'invalid_request_error', /max_tokens/],
    ['wrong types', JSON.stringify({ model: 'glm-5', max_tokens: 'ten', messages: [] }), 400, 'invalid_request_error', /max_tokens/],
    ['empty messages', JSON.stringify({ model: 'glm-5', max_tokens: 5, messages: [] }), 400, 'invalid_request_error', /must not be empty/],
    [
      'unknown model',
      JSON.stringify({ model: 'mistral', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      404,
      'not_found_error',
      /does not exist/,
    ],
    [
      'prompt over the context',
      JSON.stringify({ model: 'glm-5', max_tokens: 5, messages: [{ role: 'user', content: 'a b c d e f g h '.repeat(700) }] }),
      400,
      'invalid_request_error',
      /^prompt is too long: \d+ tokens > \d+ maximum$/,
    ],
    [
      'invalid tool schema',
      JSON.stringify({ model: 'glm-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'f', input_schema: [1] }] }),
      400,
      'invalid_request_error',
      /JSON schema object/,
    ],
  ];
  for (const [name, body, status, type, re] of bad) {
    const r = await post(body);
    assert.equal(r.status, status, name);
    assert.equal(r.json.type, 'error', name);
    assert.equal(r.json.error.type, type, name);
    assert.match(r.json.error.message, re, name);
  }
  const ok = await post(
    JSON.stringify({
      model: 'glm-5',
      max_tokens: 2,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] }],
      metadata: { user_id: 'u' },
      output_config: { effort: 'high' },
      brand_new_field: true,
      tools: [
        { type: 'web_search_20250305', name: 'web_search' },
        { name: 'calculator', input_schema: { type: 'object', properties: {} } },
      ],
    }),
    {
      'anthropic-beta': 'interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
      'anthropic-version': '2023-06-01',
      accept: 'application/json',
    },
  );
  assert.equal(ok.status, 200);
  await assert.rejects(
    client.messages.create({ model: 'mistral', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (e: unknown) => e instanceof Anthropic.NotFoundError,
  );
});
