// The block segmenter (src/text/blocks.ts) over ModelOutput's events: the block events follow the framing every
// dialect relies on (start → deltas → stop, one block open at a time, indices 0, 1, … in order), the deltas of a
// block concatenate to the finished block, and any chunking of the model output gives the same blocks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockSegmenter } from '../src/text/blocks.js';
import type { Block, BlockEvent } from '../src/text/blocks.js';
import type { ToolDefinition } from '../src/text/chat-messages.js';
import { ModelOutput } from '../src/text/model-output.js';
import type { ModelOutputOptions } from '../src/text/model-output.js';
import type { OutputEvent } from '../src/text/output-events.js';

const TOOLS: ToolDefinition[] = [
  { type: 'function', function: { name: 'calc', parameters: { type: 'object', properties: { expr: { type: 'string' } }, required: ['expr'] } } },
  { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
];

const call = (name: string, args: Record<string, string>): string =>
  `<tool_call>${name}${Object.entries(args)
    .map(([k, v]) => `<arg_key>${k}</arg_key><arg_value>${v}</arg_value>`)
    .join('')}</tool_call>`;

const CASES: [string, string, ModelOutputOptions][] = [
  ['thinking, text, two calls', 'Plan 😀 it.</think>On it.\n' + call('calc', { expr: '6 * 7' }) + call('now', {}), { thinking: true, tools: TOOLS }],
  ['text between calls opens new text blocks', '</think>a' + call('now', {}) + 'b' + call('calc', { expr: '1' }) + 'c', { thinking: true, tools: TOOLS }],
  ['reasoning ended by a call', 'think' + call('calc', { expr: 'x "quoted" \\ y' }), { thinking: true, tools: TOOLS }],
  ['no tools: one text block', 'a</think>b <tool_call>calc</tool_call> c', { thinking: false }],
  ['reasoning only', 'still thinking', { thinking: true }],
  ['nothing', '', { thinking: true }],
];

function ids(): () => string {
  let n = 0;
  return () => `call_${n++}`;
}

function run(pieces: readonly string[], o: ModelOutputOptions): { events: BlockEvent[]; blocks: readonly Block[] } {
  const out = new ModelOutput({ ...o, newToolCallId: ids() });
  const seg = new BlockSegmenter();
  const events: BlockEvent[] = [];
  const add = (evs: readonly BlockEvent[]): void => {
    for (const e of evs) events.push(e);
  };
  for (const p of pieces) add(seg.push(out.push(p)));
  add(seg.push(out.finish()));
  add(seg.finish());
  return { events, blocks: seg.blocks };
}

/** Checks the framing and rebuilds the blocks from the deltas alone. */
function replay(events: readonly BlockEvent[]): Block[] {
  const blocks: Block[] = [];
  let open: { index: number; text: string } | undefined;
  for (const e of events) {
    if (e.type === 'start') {
      assert.equal(open, undefined, 'one block open at a time');
      assert.equal(e.index, blocks.length, 'indices count up from 0 in output order');
      open = { index: e.index, text: '' };
    } else {
      assert.ok(open && open.index === e.index, `${e.type} of the open block`);
      if (e.type === 'delta') {
        assert.notEqual(e.text, '', 'no empty delta');
        open.text += e.text;
      } else {
        const b = e.block;
        assert.equal(b.kind === 'tool_call' ? b.toolCall.argumentsJson : b.text, open.text, 'the deltas concatenate to the block');
        blocks.push(b);
        open = undefined;
      }
    }
  }
  assert.equal(open, undefined, 'every block is closed');
  return blocks;
}

function* chunkings(text: string): Generator<string[]> {
  const chars = [...text];
  yield [text];
  yield chars;
  for (let i = 1; i < chars.length; i++) yield [chars.slice(0, i).join(''), chars.slice(i).join('')];
  for (let size = 2; size <= 11; size += 3) {
    const pieces: string[] = [];
    for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
    yield pieces;
  }
}

for (const [name, text, o] of CASES) {
  test(`blocks: ${name} — any chunking gives the same blocks, deltas rebuild them`, () => {
    const whole = run([text], o);
    assert.deepEqual(replay(whole.events), whole.blocks);
    for (const pieces of chunkings(text)) {
      const got = run(pieces, o);
      assert.deepEqual(got.blocks, whole.blocks, JSON.stringify(pieces));
      assert.deepEqual(replay(got.events), whole.blocks, JSON.stringify(pieces));
    }
  });
}

test('blocks: the expected sequence for thinking, text and a call', () => {
  const { events, blocks } = run(['Plan.</think>', 'On it.', call('calc', { expr: '2' })], { thinking: true, tools: TOOLS });
  const calc = { id: 'call_0', name: 'calc', arguments: { expr: '2' }, argumentsJson: '{"expr": "2"}' };
  assert.deepEqual(blocks, [
    { kind: 'thinking', text: 'Plan.' },
    { kind: 'text', text: 'On it.' },
    { kind: 'tool_call', call: 0, toolCall: calc },
  ]);
  const shape = events.map((e) => (e.type === 'start' ? `start ${e.index} ${e.head.kind}` : e.type === 'delta' ? `delta ${e.index}` : `stop ${e.index}`));
  assert.deepEqual(
    shape.filter((s, i) => s !== shape[i - 1]),
    ['start 0 thinking', 'delta 0', 'stop 0', 'start 1 text', 'delta 1', 'stop 1', 'start 2 tool_call', 'delta 2', 'stop 2'],
  );
  const start = events.find((e) => e.type === 'start' && e.head.kind === 'tool_call');
  assert.deepEqual(start, { type: 'start', index: 2, head: { kind: 'tool_call', call: 0, id: 'call_0', name: 'calc' } });
});

test('blocks: tool events must come inside their block', () => {
  const seg = new BlockSegmenter();
  const args: OutputEvent = { kind: 'tool_args', index: 0, text: '{}' };
  assert.throws(() => seg.push([args]), /outside its block/);
  seg.push([{ kind: 'tool_start', index: 0, id: 'a', name: 'now' }]);
  assert.throws(() => seg.finish(), /without its tool_end/);
});
