// Streaming output parsers: reasoning and GLM tool calls (spec §3, §4), chunking invariance, render → parse.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputParser, parseOutput } from '../src/text/output-parser.js';
import type { OutputParserOptions, ParsedOutput } from '../src/text/output-parser.js';
import type { OutputEvent } from '../src/text/output-events.js';
import { ReasoningParser } from '../src/text/reasoning-parser.js';
import { ChatTemplate } from '../src/text/chat-template.js';
import type { ToolDefinition } from '../src/text/chat-messages.js';
import { decodeValue, parsePythonLiteral } from '../src/text/tool-args.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { requireShared } from './helpers/shared-data.js';

const TOKENIZER = requireShared('golden/tokenizer');
const TEMPLATES = requireShared('fixtures/templates');

const TOOLS: ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string' },
          days: { type: 'integer' },
          metric: { type: 'boolean' },
          temp: { type: 'number' },
        },
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'edit',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          code: { type: ['string', 'null'] },
          note: { anyOf: [{ type: 'null' }, { type: 'string' }] },
          opts: { type: 'object' },
          list: { type: 'array' },
        },
      },
    },
  },
];

function counterIds(): () => string {
  let n = 0;
  return () => `call_${n++}`;
}

/** Streams text in the given pieces; returns the events and the final result. */
function stream(pieces: string[], o: OutputParserOptions): { deltas: OutputEvent[]; result: ParsedOutput } {
  const p = new OutputParser({ newToolCallId: counterIds(), ...o });
  const deltas: OutputEvent[] = [];
  for (const s of pieces) for (const e of p.push(s)) deltas.push(e);
  for (const e of p.finish()) deltas.push(e);
  return { deltas, result: p.result() };
}

/** What a client accumulates from the events. */
function accumulate(deltas: OutputEvent[]): { reasoning: string; content: string; calls: { id?: string; name?: string; arguments: string }[] } {
  const acc = { reasoning: '', content: '', calls: [] as { id?: string; name?: string; arguments: string }[] };
  for (const d of deltas) {
    if (d.kind === 'reasoning' || d.kind === 'text') assert.notEqual(d.text, '', 'no empty text event');
    if (d.kind === 'reasoning') acc.reasoning += d.text;
    else if (d.kind === 'text') acc.content += d.text;
    else if (d.kind === 'tool_start') {
      assert.equal(acc.calls[d.index], undefined, 'a call starts once');
      acc.calls[d.index] = { id: d.id, name: d.name, arguments: '' };
    } else if (d.kind === 'tool_args') {
      const c = acc.calls[d.index];
      assert.ok(c, 'arguments only after the start');
      assert.ok(c.arguments === '' || !d.text.startsWith('{'), 'a later fragment never restarts the object');
      c.arguments += d.text;
    } else {
      const c = acc.calls[d.index];
      assert.ok(c, 'the end only after the start');
      assert.deepEqual([d.call.id, d.call.name, d.call.argumentsJson], [c.id, c.name, c.arguments], 'the end carries the streamed call');
    }
  }
  return acc;
}

test('reasoning: spec §3 rules and edge cases', () => {
  const r = (text: string, thinking = true) => parseOutput(text, { thinking, parseToolCalls: false });
  assert.deepEqual(pick(r('</think>X')), { reasoning_content: '', content: 'X' });
  assert.deepEqual(pick(r('')), { reasoning_content: '', content: null });
  assert.deepEqual(pick(r('<think>a</think>')), { reasoning_content: 'a', content: null });
  assert.deepEqual(pick(r('cut off mid thought')), { reasoning_content: 'cut off mid thought', content: null });
  assert.deepEqual(pick(r('a</think>b</think>c<think>d')), { reasoning_content: 'a', content: 'b</think>c<think>d' });
  assert.deepEqual(pick(r('<think><think>x</think>y')), { reasoning_content: '<think>x', content: 'y' });
  assert.deepEqual(pick(r(' <think>x</think>y')), { reasoning_content: ' <think>x', content: 'y' });
  assert.deepEqual(pick(r('a</think>b', false)), { reasoning_content: null, content: 'a</think>b' });
  assert.deepEqual(pick(r('', false)), { reasoning_content: null, content: null });
  // A tool call is never swallowed into reasoning.
  assert.deepEqual(pick(r('plan<tool_call>f</tool_call>')), { reasoning_content: 'plan', content: '<tool_call>f</tool_call>' });
  const t = parseOutput('plan<tool_call>f<arg_key>a</arg_key><arg_value>1</arg_value></tool_call>', { thinking: true });
  assert.equal(t.reasoning_content, 'plan');
  assert.deepEqual(
    t.tool_calls.map((c) => [c.name, c.arguments]),
    [['f', { a: 1 }]],
  );
});

function pick(o: ParsedOutput): { reasoning_content: string | null; content: string | null } {
  return { reasoning_content: o.reasoning_content, content: o.content };
}

test('reasoning streaming: </think> delta yields nothing, no empty reasoning delta, half tags held back', () => {
  const p = new ReasoningParser(true);
  assert.deepEqual(p.push('<th'), { reasoning: '', content: '' });
  assert.deepEqual(p.push('ink>ab</'), { reasoning: 'ab', content: '' });
  assert.deepEqual(p.push('thi'), { reasoning: '', content: '' });
  assert.deepEqual(p.push('nk>'), { reasoning: '', content: '' });
  assert.deepEqual(p.push('X</think>'), { reasoning: '', content: 'X</think>' });
  assert.deepEqual(p.finish(), { reasoning: '', content: '' });
  const q = stream(['</think>', 'X'], { thinking: true });
  assert.deepEqual(q.deltas, [{ kind: 'text', text: 'X' }]);
  const held = new ReasoningParser(true);
  assert.deepEqual(held.push('a</thi'), { reasoning: 'a', content: '' });
  assert.deepEqual(held.finish(), { reasoning: '</thi', content: '' }); // never closed: it was reasoning text
});

const call = (name: string, pairs: [string, string][], nl = '') =>
  `<tool_call>${name}${nl}${pairs.map(([k, v]) => `<arg_key>${k}</arg_key>${nl}<arg_value>${v}</arg_value>${nl}`).join('')}</tool_call>`;

test('tool calls: format, several per turn, content before the first call (vLLM non-streaming)', () => {
  const text =
    'Let me check.' +
    call('get_weather', [
      ['city', 'Beijing'],
      ['days', '2'],
    ]) +
    ' between ' +
    call('get_weather', [['city', '北京']]) +
    ' after';
  const r = parseOutput(text, { thinking: false, tools: TOOLS });
  assert.equal(r.content, 'Let me check.');
  assert.deepEqual(
    r.tool_calls.map((c) => [c.name, c.arguments, c.argumentsJson]),
    [
      ['get_weather', { city: 'Beijing', days: 2 }, '{"city": "Beijing", "days": 2}'],
      ['get_weather', { city: '北京' }, '{"city": "北京"}'],
    ],
  );
  assert.match(r.tool_calls[0]!.id, /^call_[0-9a-f]{24}$/);
  assert.notEqual(r.tool_calls[0]!.id, r.tool_calls[1]!.id);
  // Streaming also delivers the text between and after calls.
  const s = accumulate(stream([text], { thinking: false, tools: TOOLS }).deltas);
  assert.equal(s.content, 'Let me check. between  after');
  assert.equal(parseOutput(' \n' + call('f', []), { thinking: false }).content, null);
});

test('tool calls: malformed, unclosed, empty names, GLM-4.5 newlines, duplicates', () => {
  const p = (text: string) => parseOutput(text, { thinking: false, tools: TOOLS });
  const unclosed = 'hi <tool_call>get_weather<arg_key>city</arg_key><arg_value>Par';
  assert.deepEqual(p(unclosed), { content: unclosed, reasoning_content: null, tool_calls: [] });
  assert.equal(p('x' + call('f', []) + '<tool_call>g').content, 'x');
  assert.deepEqual(
    p(call('  ', [['a', '1']]) + call('g', [])).tool_calls.map((c) => c.name),
    ['g'],
  );
  assert.deepEqual(
    p(
      call(
        'get_weather',
        [
          ['city', 'Paris'],
          ['days', '3'],
        ],
        '\n',
      ),
    ).tool_calls[0]!.arguments,
    { city: 'Paris', days: 3 },
  );
  assert.deepEqual(p('<tool_call> get_weather \n<arg_key> city </arg_key>\\n<arg_value>Oslo</arg_value></tool_call>').tool_calls[0]!.arguments, {
    city: 'Oslo',
  });
  const dup = p(
    call('f', [
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
    ]),
  ).tool_calls[0]!;
  assert.deepEqual(dup.arguments, { a: 3, b: 2 });
  assert.equal(dup.argumentsJson, '{"a": 3, "b": 2}');
  const broken = '<tool_call>f<arg_key>a</arg_key>junk<arg_value>1</arg_value><arg_key>b</arg_key><arg_value>2</arg_value><arg_key>c</arg_key></tool_call>';
  assert.deepEqual(p(broken).tool_calls[0]!.arguments, { b: 2 });
  assert.deepEqual(p(call('noargs', [])).tool_calls[0]!.argumentsJson, '{}');
  assert.deepEqual(parseOutput(call('f', [['a', '1']]), { thinking: false, parseToolCalls: false }).content, call('f', [['a', '1']]));
});

test('tool calls: argument typing from the JSON schema', () => {
  const args = (tool: string, pairs: [string, string][]) => parseOutput(call(tool, pairs), { thinking: false, tools: TOOLS }).tool_calls[0]!;
  // string-typed: verbatim, no trimming (code edits), even when it looks like JSON
  const e = args('edit', [
    ['path', ' a.ts '],
    ['code', '\n  if (x) {\n    y();\n  }\n'],
    ['note', '42'],
    ['opts', ' {"k": [1, 2.0]} '],
    ['list', "['a', True, None]"],
  ]);
  assert.deepEqual(e.arguments, { path: ' a.ts ', code: '\n  if (x) {\n    y();\n  }\n', note: '42', opts: { k: [1, 2] }, list: ['a', true, null] });
  assert.equal(
    e.argumentsJson,
    '{"path": " a.ts ", "code": "\\n  if (x) {\\n    y();\\n  }\\n", "note": "42", "opts": {"k": [1, 2.0]}, "list": ["a", true, null]}',
  );
  const w = args('get_weather', [
    ['days', ' 3 '],
    ['metric', 'True'],
    ['temp', '"21.5"'],
    ['city', 'Zürich'],
  ]);
  assert.deepEqual(w.arguments, { days: 3, metric: true, temp: 21.5, city: 'Zürich' });
  // unknown tool / property: decoded like vLLM ("42" → 42), undecodable text stays a string
  const u = args('unknown', [
    ['n', '42'],
    ['s', 'hello world'],
    ['j', '{\\"id\\": 7}'],
    ['f', '1.0'],
  ]);
  assert.deepEqual(u.arguments, { n: 42, s: 'hello world', j: { id: 7 }, f: 1 });
  assert.equal(u.argumentsJson, '{"n": 42, "s": "hello world", "j": {"id": 7}, "f": 1.0}');
  assert.deepEqual(decodeValue("{'a': (1, 2), \"b\": 'it\\'s'}"), { a: [1, 2], b: "it's" });
  assert.deepEqual(parsePythonLiteral('[1, 2'), { ok: false });
});

test('tool-call streaming: header first, arguments grow by appending, long strings stream in pieces', { skip: TOKENIZER.skip }, () => {
  const file = Array.from({ length: 20 }, (_, i) => `line ${i}: const x${i} = ${i};`).join('\n');
  const text =
    'ok' +
    call('edit', [
      ['path', 'a.ts'],
      ['code', file],
      ['opts', '{"force": true}'],
    ]);
  const tok = Tokenizer.fromDir(TOKENIZER.path);
  const dec = tok.createDecoder();
  const pieces = tok.encode(text, { special: true }).map((id) => dec.push(id));
  const { deltas, result } = stream(pieces, { thinking: false, tools: TOOLS });
  const fragments = deltas.filter((d) => d.kind === 'tool_args');
  assert.ok(fragments.length >= 10, `${fragments.length} fragments`);
  const acc = accumulate(deltas);
  assert.equal(acc.content, 'ok');
  assert.equal(acc.calls.length, 1);
  assert.equal(acc.calls[0]!.name, 'edit');
  assert.equal(acc.calls[0]!.arguments, result.tool_calls[0]!.argumentsJson);
  assert.deepEqual(JSON.parse(acc.calls[0]!.arguments), { path: 'a.ts', code: file, opts: { force: true } });
  const first = deltas.findIndex((d) => d.kind.startsWith('tool_'));
  assert.deepEqual(deltas[first], { kind: 'tool_start', index: 0, id: 'call_0', name: 'edit' });
});

// Texts that exercise every tag and split point; chunkings must not change the result or the accumulated stream.
const PROPERTY_TEXTS: [string, OutputParserOptions][] = [
  [
    '<think>Plan: call twice.</think>Sure.' +
      call('get_weather', [
        ['city', 'Paris 😀'],
        ['days', '2'],
      ]) +
      '\n' +
      call('edit', [
        ['code', 'a </arg b\n'],
        ['opts', '{"x": [1]}'],
      ]) +
      'tail',
    { thinking: true, tools: TOOLS },
  ],
  [
    'reason <tool_ca ll> still</think><tool_call>f\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n</tool_call><tool_call>g<arg_key>u',
    { thinking: true, tools: TOOLS },
  ],
  ['no think here <tool_call>get_weather<arg_key>city</arg_key><arg_value><arg_value></arg_value></tool_call>', { thinking: false, tools: TOOLS }],
  ['</think></think><think><tool_call></tool_call>x', { thinking: true }],
  ['<thin', { thinking: true }],
];

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('property: every chunking of the same text parses to the same result and the same stream', () => {
  const rand = mulberry32(7);
  for (const [text, o] of PROPERTY_TEXTS) {
    const chars = [...text]; // cut between code points, as a detokenizer does
    const ref = stream([text], o);
    const refAcc = accumulate(ref.deltas);
    const chunkings: string[][] = [chars];
    for (let i = 1; i < chars.length; i++) chunkings.push([chars.slice(0, i).join(''), chars.slice(i).join('')]);
    for (let n = 0; n < 300; n++) {
      const pieces: string[] = [];
      for (let i = 0; i < chars.length; ) {
        const len = 1 + Math.floor(rand() * 12);
        pieces.push(chars.slice(i, i + len).join(''));
        i += len;
      }
      chunkings.push(pieces);
    }
    for (const pieces of chunkings) {
      const got = stream(pieces, o);
      assert.deepEqual(got.result, ref.result, JSON.stringify(pieces));
      assert.deepEqual(accumulate(got.deltas), refAcc, JSON.stringify(pieces));
    }
    // Closed calls: the streamed fragments concatenate to the final arguments. (An unclosed trailing call was
    // streamed as far as it went, then handed back as content, as vLLM does; the result omits it.)
    ref.result.tool_calls.forEach((c, i) => {
      assert.equal(refAcc.calls[i]!.arguments, c.argumentsJson);
      assert.equal(refAcc.calls[i]!.id, c.id);
    });
    if (!text.endsWith('<tool_call>g<arg_key>u')) assert.equal(refAcc.calls.length, ref.result.tool_calls.length);
  }
});

test('render → parse round trip: reasoning and two tool calls come back as given', { skip: TOKENIZER.skip || TEMPLATES.skip }, () => {
  const glm47 = new ChatTemplate(readFileSync(join(TEMPLATES.path, 'GLM-4.7.jinja'), 'utf8'), 'chat_template.jinja');
  const turn = {
    role: 'assistant',
    content: 'Checking both.',
    reasoning_content: 'The user wants weather and an edit.',
    tool_calls: [
      { id: 'a', type: 'function', function: { name: 'get_weather', arguments: { city: 'São Paulo', days: 3, metric: false, temp: 21.5 } } },
      {
        id: 'b',
        type: 'function',
        function: { name: 'edit', arguments: { path: 'x.py', code: 'def f():\n    return {"a": 1}\n', opts: { dry: true, n: [1, 2] } } },
      },
    ],
  };
  const tok = Tokenizer.fromDir(TOKENIZER.path);
  for (const tpl of [glm47, ChatTemplate.builtin()]) {
    const prompt = tpl.renderChat({ messages: [{ role: 'user', content: 'go' }, turn], tools: TOOLS, addGenerationPrompt: false });
    const head = '<|user|>go<|assistant|><think>';
    const completion = prompt.slice(prompt.indexOf(head) + head.length);
    // As the engine would see it: token ids → incremental decode → parser, piece by piece.
    const dec = tok.createDecoder();
    const pieces = tok.encode(completion, { special: true }).map((id) => dec.push(id));
    const { result } = stream(pieces, { thinking: true, tools: TOOLS });
    assert.equal(result.reasoning_content, turn.reasoning_content);
    assert.equal(result.content, turn.content);
    assert.deepEqual(
      result.tool_calls.map((c) => ({ name: c.name, arguments: c.arguments })),
      turn.tool_calls.map((c) => c.function),
    );
    assert.equal(result.tool_calls[0]!.argumentsJson, '{"city": "São Paulo", "days": 3, "metric": false, "temp": 21.5}');
  }
});
