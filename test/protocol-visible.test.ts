// What a client sees beyond the clients.md §2 cases (issue 24): control tokens stay out of the text of every
// dialect, Completions included, while logprobs still list every token; skip_special_tokens false keeps them;
// the fields OpenAI's OpenAPI document marks required (nullable) are present. No engine, no sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TokenLogprob } from '../src/engine/types.js';
import { ChoiceTracker } from '../src/server/protocol/choices.js';
import type { Prepared, SseFrame } from '../src/server/protocol/dialect.js';
import { prepareChat } from '../src/server/protocol/openai-chat.js';
import { prepareCompletions } from '../src/server/protocol/openai-completions.js';
import { prepareResponses } from '../src/server/protocol/responses.js';
import { ControlTokenFilter } from '../src/text/control-tokens.js';
import { DEMO_TOOLS } from '../src/tools/demo-tools.js';
import { accumulateChat, accumulateResponses, data, presetContext, respondScripted, streamScripted } from './server-helpers.js';

const ctx = presetContext();
const user = [{ role: 'user', content: 'hi' }];
const USAGE = { promptTokens: 3, cachedTokens: 0, completionTokens: 4 };

/** One token per piece, each with its logprob entry: the non-streamed body and the stream's frames. */
function runTokens(p: Prepared, pieces: readonly string[]): { body: Record<string, unknown>; frames: SseFrame[] } {
  const lp = (text: string): TokenLogprob => ({ id: 1, text, logprob: -0.5, top: [] });
  const full = new ChoiceTracker(0, p.plan.output, true);
  const w = p.writer();
  const live = new ChoiceTracker(0, p.plan.output, true);
  const frames: SseFrame[] = [...w.open()];
  for (const text of pieces) {
    full.push({ type: 'token', ids: [1], text, logprobs: [lp(text)] });
    for (const f of w.events(0, live.push({ type: 'token', ids: [1], text, logprobs: [lp(text)] }), [lp(text)])) frames.push(f);
  }
  const done = { type: 'done' as const, finishReason: 'stop' as const, usage: USAGE };
  full.push(done);
  for (const f of w.events(0, live.push(done), undefined)) frames.push(f);
  for (const f of w.choiceDone(live.result())) frames.push(f);
  for (const f of w.close(USAGE)) frames.push(f);
  return { body: p.respond([full.result()], USAGE) as Record<string, unknown>, frames };
}

const TOKENS = ['</think>', '[gMASK]', 'Hel', 'lo', '<|begin_of_box|>', ' world', '<|end_of_box|>', '</think>', '!'];

test('Chat: control tokens out of content, every token in logprobs (streamed and not); skip_special_tokens false keeps them', () => {
  const p = prepareChat({ model: 'glm-5', messages: user, logprobs: true }, ctx);
  const { body, frames } = runTokens(p, TOKENS);
  const choice = (body.choices as { message: { content: string }; logprobs: { content: { token: string }[] } }[])[0]!;
  assert.equal(choice.message.content, 'Hello world!');
  assert.deepEqual(
    choice.logprobs.content.map((e) => e.token),
    TOKENS,
  );
  assert.equal(accumulateChat(frames).message.content, 'Hello world!');
  const streamed = frames
    .slice(0, -1)
    .flatMap((f) => ((data(f).choices ?? []) as { logprobs: { content: { token: string }[] } | null }[]).flatMap((c) => c.logprobs?.content ?? []));
  assert.deepEqual(
    streamed.map((e) => e.token),
    TOKENS,
  );
  const raw = prepareChat({ model: 'glm-5', messages: user, skip_special_tokens: false, thinking: { type: 'disabled' } }, ctx);
  assert.equal((respondScripted(raw, 'a<|begin_of_box|>b').choices as { message: { content: string } }[])[0]!.message.content, 'a<|begin_of_box|>b');
});

test('Completions: control tokens out of the text, every token in logprobs, text_offset into the visible text', () => {
  const p = prepareCompletions({ model: 'glm-5', prompt: 'x', logprobs: 0 }, ctx);
  const { body, frames } = runTokens(p, TOKENS);
  const c = (body.choices as { text: string; logprobs: { tokens: string[]; text_offset: number[] } }[])[0]!;
  assert.equal(c.text, 'Hello world!');
  assert.deepEqual(c.logprobs.tokens, TOKENS);
  // each token's offset is where its text starts in the visible text (control tokens take no room)
  assert.deepEqual(c.logprobs.text_offset, [0, 0, 0, 3, 5, 5, 11, 11, 11]);
  const chunks = frames.filter((f) => f.data !== '[DONE]').map((f) => data(f).choices as { text: string; logprobs: { text_offset: number[] } | null }[]);
  assert.equal(chunks.map((cs) => cs[0]?.text ?? '').join(''), 'Hello world!');
  assert.deepEqual(
    chunks.flatMap((cs) => cs[0]?.logprobs?.text_offset ?? []),
    c.logprobs.text_offset,
  );
  const raw = prepareCompletions({ model: 'glm-5', prompt: 'x', skip_special_tokens: false }, ctx);
  assert.equal((runTokens(raw, TOKENS).body.choices as { text: string }[])[0]!.text, TOKENS.join(''));
});

test('control-token filter: any chunking gives the same text; a held prefix that never completes is text', () => {
  const text = 'a<|us<|user|>er|>b[gMASK][gMA<sop></think';
  const whole = new ControlTokenFilter().strip(text);
  assert.equal(whole, 'a<|user|>b[gMA</think');
  for (let i = 1; i < text.length; i++) {
    const f = new ControlTokenFilter();
    assert.equal(f.push(text.slice(0, i)) + f.push(text.slice(i)) + f.flush(), whole, `cut at ${i}`);
  }
  const f = new ControlTokenFilter();
  assert.equal([...text].map((ch) => f.push(ch)).join('') + f.flush(), whole);
});

test('Responses: instructions, metadata, temperature, top_p on every response object (created, in_progress, final)', () => {
  const set = prepareResponses({ model: 'glm-5', input: 'hi', instructions: 'Be brief.', metadata: { run: '7' }, temperature: 0.2, top_p: 0.9 }, ctx);
  const unset = prepareResponses({ model: 'glm-5', input: 'hi' }, ctx);
  for (const [p, want] of [
    [set, { instructions: 'Be brief.', metadata: { run: '7' }, temperature: 0.2, top_p: 0.9 }],
    [unset, { instructions: null, metadata: null, temperature: null, top_p: null }],
  ] as const) {
    const frames = streamScripted(p, ['</think>', 'Hi'], {}, true);
    const responses = frames
      .map(data)
      .filter((d) => d.response)
      .map((d) => [d.type, d.response] as [string, Record<string, unknown>]);
    assert.deepEqual([...new Set(responses.map(([t]) => t))], ['response.created', 'response.in_progress', 'response.completed']);
    for (const [type, r] of [...responses, ['non-streamed', respondScripted(p, '</think>Hi')] as [string, Record<string, unknown>]]) {
      assert.deepEqual({ instructions: r.instructions, metadata: r.metadata, temperature: r.temperature, top_p: r.top_p }, want, type);
    }
    assert.equal(accumulateResponses(frames).text, 'Hi');
  }
});

test('Chat: refusal is null on every message; a call cut off mid-arguments is never one', () => {
  const p = prepareChat({ model: 'glm-5', messages: user, tools: DEMO_TOOLS }, ctx);
  const body = respondScripted(p, '</think>' + '<tool_call>calculator<arg_key>expression</arg_key><arg_value>48 * 7');
  const choice = (body.choices as { message: Record<string, unknown>; finish_reason: string }[])[0]!;
  assert.equal(choice.message.refusal, null);
  assert.ok('refusal' in choice.message);
  assert.equal(choice.message.tool_calls, undefined);
  assert.equal(choice.finish_reason, 'stop');
});
