// The GLM output → protocol failures other servers shipped (clients.md §2, one case each), run through the Chat,
// Anthropic and Responses mappers under every split of the model output into deltas (all single and double cut
// points, one character at a time): the stream a client accumulates must equal the non-streamed answer, and both
// must be the expected reasoning / text / calls. No engine, no sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FinishReason } from '../src/engine/types.js';
import type { ToolDefinition } from '../src/text/chat-messages.js';
import { DEMO_TOOLS } from '../src/tools/demo-tools.js';
import { prepareChat } from '../src/server/protocol/openai-chat.js';
import { prepareMessages } from '../src/server/protocol/anthropic.js';
import { prepareResponses } from '../src/server/protocol/responses.js';
import type { Prepared } from '../src/server/protocol/dialect.js';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { accumulateAnthropic, accumulateChat, accumulateResponses, presetContext, replayFetch, respondScripted, streamScripted } from './server-helpers.js';

const ctx = presetContext();
const SEARCH: ToolDefinition = {
  type: 'function',
  function: {
    name: 'search',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string' },
        limit: { type: 'integer' },
        tags: { type: 'array' },
      },
    },
  },
};
const TOOLS = [...DEMO_TOOLS, SEARCH];

interface Case {
  name: string;
  /** Model output after the prompt (which ends in `<think>` unless thinking is off). */
  text: string;
  tools?: ToolDefinition[];
  thinking?: boolean;
  finishReason?: FinishReason;
  expect: { reasoning: string | null; content: string | null; calls: [string, Record<string, unknown>][]; finish: 'stop' | 'length' | 'tool_calls' };
}

const call = (name: string, args: Record<string, string>): string =>
  `<tool_call>${name}${Object.entries(args)
    .map(([k, v]) => `<arg_key>${k}</arg_key><arg_value>${v}</arg_value>`)
    .join('')}</tool_call>`;

const CASES: Case[] = [
  {
    name: '#1 <tool_call> before </think> ends the reasoning; the tool stop carries the call',
    text: 'I need the calculator' + call('calculator', { expression: '2 + 2' }),
    expect: { reasoning: 'I need the calculator', content: null, calls: [['calculator', { expression: '2 + 2' }]], finish: 'tool_calls' },
  },
  {
    name: '#3 a name is emitted once, whole, only if declared (undeclared call dropped)',
    text: 'Time.</think>' + call('rm_rf', { path: '/' }) + call('get_current_time', { timezone: 'Asia/Tokyo' }),
    expect: { reasoning: 'Time.', content: null, calls: [['get_current_time', { timezone: 'Asia/Tokyo' }]], finish: 'tool_calls' },
  },
  {
    name: '#4 zero-argument call survives streaming',
    text: '</think><tool_call>search</tool_call>',
    expect: { reasoning: null, content: null, calls: [['search', {}]], finish: 'tool_calls' },
  },
  {
    name: '#6 parallel calls stay apart (N calls → N indices / blocks)',
    text:
      'Two.</think>Checking.\n' +
      call('convert_units', { value: '5', from_unit: 'mile', to_unit: 'kilometer' }) +
      '\n' +
      call('calculator', { expression: '6 * 7' }),
    expect: {
      reasoning: 'Two.',
      content: 'Checking.',
      calls: [
        ['convert_units', { value: 5, from_unit: 'mile', to_unit: 'kilometer' }],
        ['calculator', { expression: '6 * 7' }],
      ],
      finish: 'tool_calls',
    },
  },
  {
    name: '#7 values typed by the declared schema only; string parameters verbatim',
    text: '</think>' + call('search', { query: ' [1, 2] ', limit: '10', tags: '["a", "b"]' }),
    expect: { reasoning: null, content: null, calls: [['search', { query: ' [1, 2] ', limit: 10, tags: ['a', 'b'] }]], finish: 'tool_calls' },
  },
  {
    name: '#9 no tools declared → no tool parsing (the tags are control tokens: not text either)',
    text: 'ok</think>Write <tool_call>calculator</tool_call> to call it.',
    tools: [],
    expect: { reasoning: 'ok', content: 'Write calculator to call it.', calls: [], finish: 'stop' },
  },
  {
    name: '#10 a call cut off by max_tokens inside a value is not a call (finish length)',
    text: '</think>Sure.' + '<tool_call>calculator<arg_key>expression</arg_key><arg_value>1 +',
    finishReason: 'length',
    expect: { reasoning: null, content: 'Sure.', calls: [], finish: 'length' },
  },
  {
    name: '#10 EOF inside a call before its name is complete: dropped, not text',
    text: '</think>Sure.<tool_call>calcul',
    finishReason: 'length',
    expect: { reasoning: null, content: 'Sure.', calls: [], finish: 'length' },
  },
  {
    name: 'issue 24 #1: a call cut off by a stop token (no </arg_key>, no </tool_call>) is not a call: finish stop',
    text: 'Let me compute.</think>' + '<tool_call>calculator<arg_key>expression 48 * 7 * 7 *',
    expect: { reasoning: 'Let me compute.', content: null, calls: [], finish: 'stop' },
  },
  {
    name: 'a closed call missing a required argument is not a call; a valid one beside it is',
    text:
      '</think>Both:' +
      call('calculator', { expr: '2 + 2' }) +
      call('convert_units', { value: '1', from_unit: 'mile' }) +
      call('get_current_time', { timezone: 'UTC' }),
    expect: { reasoning: null, content: 'Both:', calls: [['get_current_time', { timezone: 'UTC' }]], finish: 'tool_calls' },
  },
  {
    name: 'only invalid calls: the text around them stays, finish stop',
    text: '</think>Here ' + call('calculator', {}) + ' goes.',
    expect: { reasoning: null, content: 'Here  goes.', calls: [], finish: 'stop' },
  },
  {
    name: 'issue 24 #2: control tokens never reach text or reasoning',
    text: '[gMASK]<sop>Think <|begin_of_box|>hard<|end_of_box|>.</think><|assistant|>The answer</think> is 4</arg_value></tool_call>.<|user|>',
    expect: { reasoning: 'Think hard.', content: 'The answer is 4.', calls: [], finish: 'stop' },
  },
  {
    name: 'issue 24 #2: control tokens around a call and with thinking off',
    text: '<sop>Calling ' + call('calculator', { expression: '6*7' }) + '</arg_value>',
    thinking: false,
    expect: { reasoning: null, content: 'Calling', calls: [['calculator', { expression: '6*7' }]], finish: 'tool_calls' },
  },
  {
    name: '#10 wrong closing tag (</tool_call> inside a value) still makes one clean call',
    text: '</think><tool_call>calculator<arg_key>expression</arg_key><arg_value>3*3</tool_call>',
    expect: { reasoning: null, content: null, calls: [['calculator', { expression: '3*3' }]], finish: 'tool_calls' },
  },
  {
    name: 'empty <think></think> makes no empty reasoning part',
    text: '</think>Hello there.',
    expect: { reasoning: null, content: 'Hello there.', calls: [], finish: 'stop' },
  },
  {
    name: 'thinking off: everything is content, calls still parsed',
    text: 'Done: ' + call('calculator', { expression: '1' }),
    thinking: false,
    expect: { reasoning: null, content: 'Done:', calls: [['calculator', { expression: '1' }]], finish: 'tool_calls' },
  },
  {
    name: 'reasoning cut by max_tokens: all reasoning, no content',
    text: 'still thinking about ü and 漢字',
    finishReason: 'length',
    expect: { reasoning: 'still thinking about ü and 漢字', content: null, calls: [], finish: 'length' },
  },
];

/**
 * Every way to cut the text once, every way to cut it twice with the cuts up to 12 characters apart (a short
 * middle delta at any position: tags split across deltas, many tokens in one delta), one character at a time,
 * and the whole text in one delta.
 */
function* splits(text: string): Generator<string[]> {
  yield [text];
  yield [...text];
  for (let i = 1; i < text.length; i++) {
    yield [text.slice(0, i), text.slice(i)];
    for (let j = i + 1; j < Math.min(text.length, i + 13); j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
}

const user = [{ role: 'user', content: 'hi' }];
function prepared(c: Case): { chat: Prepared; messages: Prepared; responses: Prepared } {
  const tools = c.tools ?? TOOLS;
  const thinkingOff = c.thinking === false;
  return {
    chat: prepareChat(
      { model: 'glm-5', messages: user, tools: tools.length ? tools : undefined, ...(thinkingOff ? { thinking: { type: 'disabled' } } : {}) },
      ctx,
    ),
    messages: prepareMessages(
      {
        model: 'glm-5',
        max_tokens: 100,
        messages: user,
        tools: tools.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters })),
        ...(thinkingOff ? { thinking: { type: 'disabled' } } : {}),
      },
      ctx,
    ),
    responses: prepareResponses(
      {
        model: 'glm-5',
        input: 'hi',
        tools: tools.map((t) => ({ type: 'function', name: t.function.name, parameters: t.function.parameters })),
        ...(thinkingOff ? { reasoning: { effort: 'none' } } : {}),
      },
      ctx,
    ),
  };
}

const dropIds = (items: unknown[]): unknown[] =>
  (items as Record<string, unknown>[]).map((it) => (it.type === 'message' || it.type === 'reasoning' ? { ...it, id: '' } : it));

for (const c of CASES) {
  test(`clients.md §2 ${c.name}`, async () => {
    const p = prepared(c);
    const end = { finishReason: c.finishReason ?? 'stop' };
    // Expected answers, non-streaming, in each dialect.
    const chatFull = respondScripted(p.chat, c.text, end);
    const choice = (chatFull.choices as { message: Record<string, unknown>; finish_reason: string }[])[0]!;
    assert.equal(choice.message.reasoning_content, c.expect.reasoning);
    assert.equal(choice.message.content, c.expect.content);
    const calls = (choice.message.tool_calls ?? []) as { function: { name: string; arguments: string } }[];
    assert.deepEqual(
      calls.map((t) => [t.function.name, JSON.parse(t.function.arguments)]),
      c.expect.calls,
    );
    assert.equal(choice.finish_reason, c.expect.finish);

    const msgFull = respondScripted(p.messages, c.text, end);
    const blocks = msgFull.content as Record<string, unknown>[];
    assert.deepEqual(
      blocks.filter((b) => b.type === 'tool_use').map((b) => [b.name, b.input]),
      c.expect.calls,
      'N calls → N tool_use blocks',
    );
    assert.equal(
      blocks
        .filter((b) => b.type === 'thinking')
        .map((b) => b.thinking)
        .join('') || null,
      c.expect.reasoning,
    );
    assert.equal(msgFull.stop_reason, { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' }[c.expect.finish]);

    const respFull = respondScripted(p.responses, c.text, end);
    const out = respFull.output as Record<string, unknown>[];
    assert.deepEqual(
      out.filter((i) => i.type === 'function_call').map((i) => [i.name, JSON.parse(i.arguments as string)]),
      c.expect.calls,
    );
    assert.equal(respFull.status, c.expect.finish === 'length' ? 'incomplete' : 'completed');

    // Every split streams to the same answer.
    let n = 0;
    for (const pieces of splits(c.text)) {
      n++;
      const chat = accumulateChat(streamScripted(p.chat, pieces, end));
      assert.deepEqual(chat.message, choice.message, `chat stream ≠ final for ${JSON.stringify(pieces)}`);
      assert.equal(chat.finish, choice.finish_reason);
      const msg = accumulateAnthropic(streamScripted(p.messages, pieces, end));
      assert.deepEqual(msg.content, blocks, `anthropic stream ≠ final for ${JSON.stringify(pieces)}`);
      assert.equal(msg.stop_reason, msgFull.stop_reason);
      const resp = accumulateResponses(streamScripted(p.responses, pieces, end));
      assert.deepEqual(dropIds(resp.items), dropIds(out), `responses stream ≠ final for ${JSON.stringify(pieces)}`);
      assert.equal(resp.response.status, respFull.status);
    }
    assert.ok(n > c.text.length);

    // The official SDKs' own parsers and accumulators, fed the wire bytes (one character per delta, a keep-alive
    // after every event: Chat comments, Anthropic pings, Responses in_progress snapshots).
    const pieces = [...c.text];
    const oa = (frames: ReturnType<typeof streamScripted>) =>
      new OpenAI({ apiKey: 'x', baseURL: 'http://replay/v1', fetch: replayFetch(frames), maxRetries: 0 });
    const chatFinal = await oa(streamScripted(p.chat, pieces, end, true))
      .chat.completions.stream({ model: 'glm-5', messages: [] })
      .finalChatCompletion();
    const sdkMsg = chatFinal.choices[0]!.message;
    assert.equal(sdkMsg.content, choice.message.content);
    assert.deepEqual(sdkMsg.tool_calls ?? [], choice.message.tool_calls ?? []);
    assert.equal(chatFinal.choices[0]!.finish_reason, choice.finish_reason);
    const an = new Anthropic({ apiKey: 'x', baseURL: 'http://replay', fetch: replayFetch(streamScripted(p.messages, pieces, end, true)), maxRetries: 0 });
    const anFinal = await an.messages.stream({ model: 'glm-5', max_tokens: 1, messages: [] }).finalMessage();
    assert.deepEqual(anFinal.content, blocks);
    assert.equal(anFinal.stop_reason, msgFull.stop_reason);
    const rsFinal = await oa(streamScripted(p.responses, pieces, end, true))
      .responses.stream({ model: 'glm-5', input: 'x' })
      .finalResponse();
    // (the SDK adds its own parsed / parsed_arguments fields)
    const noParsed = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'parsed' || k === 'parsed_arguments' ? undefined : x)));
    assert.deepEqual(noParsed(dropIds(rsFinal.output)), dropIds(out));
    assert.equal(rsFinal.status, respFull.status);
  });
}

test('clients.md §2 #2: flat, custom and namespace Responses tools map back to their items', () => {
  const p = prepareResponses(
    {
      model: 'glm-5',
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'patch it' }] }],
      tools: [
        { type: 'custom', name: 'apply_patch', description: 'Apply a patch', format: { type: 'grammar' } },
        {
          type: 'namespace',
          name: 'mcp_fs',
          tools: [{ type: 'function', name: 'read', parameters: { type: 'object', properties: { path: { type: 'string' } } } }],
        },
        { type: 'web_search' },
      ],
    },
    ctx,
  );
  const prompt = ctx.tokenizer.decode(p.plan.prompt);
  assert.ok(prompt.includes('"apply_patch"') && prompt.includes('"mcp_fs__read"') && !prompt.includes('web_search'), 'built-ins dropped, others in the prompt');
  const patch = '*** Begin Patch\n  keep  spaces\n*** End Patch';
  const text = '</think>' + call('apply_patch', { input: patch }) + call('mcp_fs__read', { path: 'a.txt' });
  const full = respondScripted(p, text);
  const out = full.output as Record<string, unknown>[];
  assert.deepEqual(
    out.map((i) => [i.type, i.name, i.input ?? i.arguments, i.namespace]),
    [
      ['custom_tool_call', 'apply_patch', patch, undefined],
      ['function_call', 'read', '{"path": "a.txt"}', 'mcp_fs'],
    ],
  );
  for (const pieces of [[text], [...text]]) {
    const r = accumulateResponses(streamScripted(p, pieces));
    assert.deepEqual(dropIds(r.items), dropIds(out));
    assert.equal(r.response.status, 'completed');
  }
});

test('clients.md §2 #8: reasoning_content and reasoning in history render the same prompt', () => {
  const history = (field: string) => [
    { role: 'user', content: 'time in Paris?' },
    {
      role: 'assistant',
      content: null,
      [field]: 'Need the tool.',
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_current_time', arguments: '{"timezone": "Europe/Paris"}' } }],
    },
    { role: 'tool', tool_call_id: 'c1', content: '{"time": "12:00"}' },
  ];
  const a = prepareChat({ model: 'glm-5', messages: history('reasoning_content'), tools: DEMO_TOOLS }, ctx);
  const b = prepareChat({ model: 'glm-5', messages: history('reasoning'), tools: DEMO_TOOLS }, ctx);
  assert.deepEqual(a.plan.prompt, b.plan.prompt);
  assert.ok(ctx.tokenizer.decode(a.plan.prompt).includes('<think>Need the tool.</think><tool_call>get_current_time'));
  // Anthropic thinking blocks and Responses reasoning items land in the same place.
  const m = prepareMessages(
    {
      model: 'glm-5',
      max_tokens: 10,
      tools: DEMO_TOOLS.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters })),
      messages: [
        { role: 'user', content: 'time in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Need the tool.', signature: 'x' },
            { type: 'tool_use', id: 'c1', name: 'get_current_time', input: { timezone: 'Europe/Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: '{"time": "12:00"}' }] },
      ],
    },
    ctx,
  );
  assert.deepEqual(m.plan.prompt, a.plan.prompt);
  const r = prepareResponses(
    {
      model: 'glm-5',
      tools: DEMO_TOOLS.map((t) => ({ type: 'function', ...t.function })),
      input: [
        { type: 'message', role: 'user', content: 'time in Paris?' },
        { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Need the tool.' }] },
        { type: 'function_call', call_id: 'c1', name: 'get_current_time', arguments: '{"timezone": "Europe/Paris"}' },
        { type: 'function_call_output', call_id: 'c1', output: '{"time": "12:00"}' },
      ],
    },
    ctx,
  );
  assert.deepEqual(r.plan.prompt, a.plan.prompt);
});

test('clients.md §2 #10: parser state is per request (interleaved streams do not leak)', () => {
  const c = CASES[3]!;
  const p1 = prepared(c).chat;
  const p2 = prepared(CASES[0]!).chat;
  // Two requests streamed alternately, character by character.
  const a = [...c.text];
  const b = [...CASES[0]!.text];
  const framesA = streamScripted(p1, a);
  const framesB = streamScripted(p2, b);
  assert.deepEqual(accumulateChat(framesA).message, (respondScripted(p1, c.text).choices as { message: unknown }[])[0]!.message);
  assert.deepEqual(accumulateChat(framesB).message, (respondScripted(p2, CASES[0]!.text).choices as { message: unknown }[])[0]!.message);
});

test('parallel_tool_calls false keeps the first call; a stop string maps to each dialect', () => {
  const text = '</think>' + call('calculator', { expression: '1' }) + call('calculator', { expression: '2' });
  const one = prepareChat({ model: 'glm-5', messages: user, tools: TOOLS, parallel_tool_calls: false }, ctx);
  const full = respondScripted(one, text);
  const calls = (full.choices as { message: { tool_calls: { function: { arguments: string } }[] } }[])[0]!.message.tool_calls;
  assert.deepEqual(
    calls.map((c) => c.function.arguments),
    ['{"expression": "1"}'],
  );
  assert.deepEqual(accumulateChat(streamScripted(one, [...text])).message, (full.choices as { message: unknown }[])[0]!.message);
  // The one call kept is the first valid one: an invalid call before it does not use up the single slot.
  const second = '</think>' + call('calculator', {}) + call('calculator', { expression: '2' });
  const kept = (respondScripted(one, second).choices as { message: { tool_calls: { function: { arguments: string } }[] } }[])[0]!.message.tool_calls;
  assert.deepEqual(
    kept.map((c) => c.function.arguments),
    ['{"expression": "2"}'],
  );

  const end = { finishReason: 'stop' as const, stopReason: 'END' };
  const m = prepareMessages({ model: 'glm-5', max_tokens: 10, messages: user, stop_sequences: ['END'] }, ctx);
  assert.deepEqual(m.plan.sampling.stop, ['END']);
  const mm = respondScripted(m, '</think>done', end);
  assert.deepEqual([mm.stop_reason, mm.stop_sequence], ['stop_sequence', 'END']);
  const streamed = accumulateAnthropic(streamScripted(m, ['</think>do', 'ne'], end));
  assert.deepEqual([streamed.stop_reason, streamed.stop_sequence], ['stop_sequence', 'END']);
  const c = prepareChat({ model: 'glm-5', messages: user, stop: 'END' }, ctx);
  assert.equal((respondScripted(c, 'x', end).choices as { finish_reason: string }[])[0]!.finish_reason, 'stop');
});

test('sampling fields reach the engine; out-of-range values are 400s naming the field', () => {
  const p = prepareChat(
    { model: 'glm-5', messages: user, temperature: 0.3, top_p: 0.9, top_k: 5, seed: 11, max_tokens: 7, stop: ['a', 'b'], presence_penalty: 0.5 },
    ctx,
  );
  assert.deepEqual({ ...p.plan.sampling }, { maxTokens: 7, temperature: 0.3, topP: 0.9, topK: 5, seed: 11, presencePenalty: 0.5, stop: ['a', 'b'] });
  assert.equal(
    prepareChat({ model: 'glm-5', messages: user, do_sample: false, temperature: 0.7 }, ctx).plan.sampling.temperature,
    0,
    'do_sample false = greedy',
  );
  assert.equal(
    prepareChat({ model: 'glm-5', messages: user }, ctx).plan.sampling.maxTokens,
    4096 - p.plan.prompt.length,
    'absent max_tokens = the rest of the context',
  );
  assert.equal(
    prepareChat({ model: 'glm-5', messages: user, max_tokens: 99999 }, ctx).plan.sampling.maxTokens,
    4096 - p.plan.prompt.length,
    'clamped to the context',
  );
  for (const [body, re] of [
    [{ temperature: 3 }, /^temperature: /],
    [{ top_p: 0 }, /^top_p: /],
    [{ max_tokens: 0 }, /^max_tokens: /],
    [{ n: 0 }, /^n must/],
    [{ top_logprobs: 21, logprobs: true }, /^top_logprobs: /],
    [{ tool_choice: 'sometimes' }, /^tool_choice/],
    [{ tool_choice: { type: 'function', function: { name: 'nope' } }, tools: TOOLS }, /not among the tools/],
  ] as [Record<string, unknown>, RegExp][]) {
    assert.throws(
      () => prepareChat({ model: 'glm-5', messages: user, ...body }, ctx),
      (e: Error & { status?: number }) => e.status === 400 && re.test(e.message),
      JSON.stringify(body),
    );
  }
});

test('reasoning tokens: counted up to the token that closes the thinking, in Chat and Responses usage', () => {
  const chat = prepareChat({ model: 'glm-5', messages: user, stream_options: { include_usage: true }, stream: true }, ctx);
  const frames = streamScripted(chat, ['Let', ' me', '</think>', 'Hi', '!']);
  const usage = accumulateChat(frames).usage as { completion_tokens_details: { reasoning_tokens: number } };
  assert.equal(usage.completion_tokens_details.reasoning_tokens, 3);
  const off = prepareChat({ model: 'glm-5', messages: user, thinking: { type: 'disabled' } }, ctx);
  assert.equal((respondScripted(off, 'Hi').usage as { completion_tokens_details: { reasoning_tokens: number } }).completion_tokens_details.reasoning_tokens, 0);
  const r = prepareResponses({ model: 'glm-5', input: 'hi' }, ctx);
  const resp = accumulateResponses(streamScripted(r, ['a', 'b', 'c</think>', 'Hi']));
  assert.equal((resp.response.usage as { output_tokens_details: { reasoning_tokens: number } }).output_tokens_details.reasoning_tokens, 3);
});

test('Chat developer messages render as system messages', () => {
  const a = prepareChat({ model: 'glm-5', messages: [{ role: 'developer', content: 'Be brief.' }, ...user] }, ctx);
  const b = prepareChat({ model: 'glm-5', messages: [{ role: 'system', content: 'Be brief.' }, ...user] }, ctx);
  assert.deepEqual(a.plan.prompt, b.plan.prompt);
});
