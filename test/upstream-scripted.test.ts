// The GLM output cases of clients.md §2 (the failures other servers shipped) through the front end: a real
// `glm5 serve --upstream` in front of a scripted upstream that speaks SGLang's /generate and answers with the case's
// token ids (cumulative chunks of 1–3 tokens, as SGLang streams by default). The front end renders the prompt,
// detokenizes and parses the tokens itself: Chat, Anthropic and Responses, streamed and not, must give the case's
// reasoning, text, calls and finish — and the stream must equal the non-streamed answer.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FinishReason } from '../src/engine/types.js';
import type { ToolDefinition } from '../src/text/chat-messages.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { DEMO_TOOLS } from '../src/tools/demo-tools.js';
import type { SseFrame } from '../src/server/protocol/dialect.js';
import { accumulateAnthropic, accumulateChat, accumulateResponses, startServerProcess, tinyModelDir, type ServerProcess } from './server-helpers.js';

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

// The §2 cases of test/protocol-dialects.test.ts (there fed as text to the mappers; here as token ids over HTTP).
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

const dir = tinyModelDir();
const tok = Tokenizer.fromDir(dir);
const USER = tok.specialId('<|user|>');
const scriptOf = (c: Case): number[] => tok.encode(c.text, { special: true });

let upstream: Server;
let front: ServerProcess;
const seen: { maxNew: number; stopIds: number[] }[] = [];

/** An SGLang-speaking upstream: the user message names the case; the answer is its token ids (then <|user|>). */
function scripted(): Server {
  return createServer((req, res) => {
    if (req.method === 'GET') {
      const body =
        req.url === '/server_info'
          ? { tp_size: 1, model_path: 'scripted' }
          : req.url?.startsWith('/v1/loads')
            ? { loads: [{ num_running_reqs: 0, num_waiting_reqs: 0 }] }
            : {};
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    let raw = '';
    req.on('data', (b: Buffer) => (raw += b.toString()));
    req.on('end', () => {
      const r = JSON.parse(raw) as { input_ids: number[]; sampling_params: { max_new_tokens: number; stop_token_ids: number[] }; rid: string };
      seen.push({ maxNew: r.sampling_params.max_new_tokens, stopIds: r.sampling_params.stop_token_ids });
      const n = Number(/case (\d+)/.exec(tok.decode(r.input_ids))![1]);
      const c = CASES[n]!;
      const ids = scriptOf(c);
      if (c.finishReason !== 'length') ids.push(USER);
      const out = ids.slice(0, r.sampling_params.max_new_tokens);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let at = 0,
        step = 0;
      while (at < out.length) {
        at = Math.min(out.length, at + 1 + (step++ % 3));
        const done = at === out.length;
        const finish = !done ? null : out.at(-1) === USER ? { type: 'stop', matched: USER } : { type: 'length', length: out.length };
        res.write(
          `data: ${JSON.stringify({ text: '', output_ids: out.slice(0, at), meta_info: { id: r.rid, finish_reason: finish, prompt_tokens: r.input_ids.length, completion_tokens: at, cached_tokens: 0 } })}\n\n`,
        );
      }
      res.end('data: [DONE]\n\n');
    });
  });
}

before(async () => {
  upstream = scripted();
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  front = await startServerProcess(['--upstream', url, '--upstream-kind', 'auto'], dir);
});

after(async () => {
  await front?.stop();
  upstream?.close();
});

/** The SSE frames of a response body. */
function frames(text: string): SseFrame[] {
  return text
    .split('\n\n')
    .filter((f) => f.trim() !== '' && !f.startsWith(':'))
    .map((f) => {
      const ev = /^event: (.*)$/m.exec(f)?.[1];
      const data = /^data: (.*)$/m.exec(f)![1]!;
      return ev !== undefined ? { event: ev, data } : { data };
    });
}

async function post(path: string, body: unknown): Promise<string> {
  const r = await fetch(`${front.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return text;
}

CASES.forEach((c, n) => {
  test(`clients.md §2 through the front end: ${c.name}`, async () => {
    const tools = c.tools ?? TOOLS;
    const off = c.thinking === false;
    const maxTokens = c.finishReason === 'length' ? scriptOf(c).length : 200;
    const messages = [{ role: 'user', content: `case ${n}` }];
    const chatBody = {
      model: 'glm-5',
      messages,
      max_tokens: maxTokens,
      tools: tools.length ? tools : undefined,
      ...(off ? { thinking: { type: 'disabled' } } : {}),
    };
    const chat = JSON.parse(await post('/v1/chat/completions', chatBody)) as { choices: { message: Record<string, unknown>; finish_reason: string }[] };
    const m = chat.choices[0]!.message;
    assert.equal(m.reasoning_content, c.expect.reasoning);
    assert.equal(m.content, c.expect.content);
    const calls = (m.tool_calls ?? []) as { function: { name: string; arguments: string } }[];
    assert.deepEqual(
      calls.map((t) => [t.function.name, JSON.parse(t.function.arguments)]),
      c.expect.calls,
    );
    assert.equal(chat.choices[0]!.finish_reason, c.expect.finish);
    const streamed = accumulateChat(frames(await post('/v1/chat/completions', { ...chatBody, stream: true })));
    assert.equal(streamed.finish, c.expect.finish);
    assert.deepEqual(
      streamed.message,
      {
        ...m,
        ...(m.tool_calls
          ? { tool_calls: (m.tool_calls as { id: string }[]).map((t, i) => ({ ...t, id: (streamed.message.tool_calls as { id: string }[])[i]!.id })) }
          : {}),
      },
      'chat stream = chat answer',
    );

    const anthBody = {
      model: 'claude-sonnet-4-5',
      max_tokens: maxTokens,
      messages,
      tools: tools.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters })),
      ...(off ? { thinking: { type: 'disabled' } } : {}),
    };
    const msg = JSON.parse(await post('/v1/messages', anthBody)) as { content: Record<string, unknown>[]; stop_reason: string };
    assert.deepEqual(
      msg.content.filter((b) => b.type === 'tool_use').map((b) => [b.name, b.input]),
      c.expect.calls,
    );
    assert.equal(
      msg.content
        .filter((b) => b.type === 'thinking')
        .map((b) => b.thinking)
        .join('') || null,
      c.expect.reasoning,
    );
    assert.equal(msg.stop_reason, { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' }[c.expect.finish]);
    const msgStream = accumulateAnthropic(frames(await post('/v1/messages', { ...anthBody, stream: true })));
    const noIds = (bs: unknown): unknown => (bs as Record<string, unknown>[]).map((b) => ({ ...b, ...(b.type === 'tool_use' ? { id: '' } : {}) }));
    assert.deepEqual(noIds(msgStream.content), noIds(msg.content), 'anthropic stream = anthropic answer');
    assert.equal(msgStream.stop_reason, msg.stop_reason);

    const respBody = {
      model: 'glm-5',
      input: `case ${n}`,
      max_output_tokens: maxTokens,
      tools: tools.map((t) => ({ type: 'function', name: t.function.name, parameters: t.function.parameters })),
      ...(off ? { reasoning: { effort: 'none' } } : {}),
    };
    const resp = JSON.parse(await post('/v1/responses', respBody)) as { output: Record<string, unknown>[]; status: string };
    assert.deepEqual(
      resp.output.filter((i) => i.type === 'function_call').map((i) => [i.name, JSON.parse(i.arguments as string)]),
      c.expect.calls,
    );
    assert.equal(resp.status, c.expect.finish === 'length' ? 'incomplete' : 'completed');
    const rs = accumulateResponses(frames(await post('/v1/responses', { ...respBody, stream: true })));
    const calls2 = rs.items.filter((i) => i.type === 'function_call').map((i) => [i.name, JSON.parse(i.arguments as string)]);
    assert.deepEqual(calls2, c.expect.calls, 'responses stream calls');
    assert.equal(rs.response.status, resp.status);
  });
});

test('the front end told the upstream the GLM stop ids and the token budget', () => {
  assert.ok(seen.length >= CASES.length * 6);
  for (const s of seen) assert.deepEqual([...s.stopIds].sort(), [tok.specialId('<|endoftext|>'), USER, tok.specialId('<|observation|>')].sort());
  assert.ok(
    seen.some((s) => s.maxNew === scriptOf(CASES[6]!).length),
    'max_tokens reaches the upstream as max_new_tokens',
  );
});
