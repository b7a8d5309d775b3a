// Each dialect's error table: every error kind has a row, and the same row answers a failure before the stream
// (HTTP status + body) and after it started (Chat / Completions error chunk, Anthropic `event: error`,
// Responses `response.failed`). No engine, no sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANTHROPIC_ERRORS, anthropicError, prepareMessages } from '../src/server/protocol/anthropic.js';
import { ApiError } from '../src/server/protocol/common.js';
import type { ErrorKind } from '../src/server/protocol/common.js';
import { OPENAI_ERRORS, openaiError } from '../src/server/protocol/openai-common.js';
import { prepareChat } from '../src/server/protocol/openai-chat.js';
import { prepareCompletions } from '../src/server/protocol/openai-completions.js';
import { prepareResponses, responsesError } from '../src/server/protocol/responses.js';
import { data, presetContext } from './server-helpers.js';

const ctx = presetContext();
const KINDS = Object.keys(OPENAI_ERRORS) as ErrorKind[];
const user = [{ role: 'user', content: 'hi' }];

test('error tables: one row per kind in every dialect', () => {
  assert.deepEqual(Object.keys(ANTHROPIC_ERRORS).sort(), [...KINDS].sort());
  const anthropicTypes = [
    'invalid_request_error',
    'authentication_error',
    'permission_error',
    'not_found_error',
    'request_too_large',
    'rate_limit_error',
    'api_error',
    'overloaded_error',
  ];
  for (const k of KINDS) assert.ok(anthropicTypes.includes(ANTHROPIC_ERRORS[k].type), k);
  // Anthropic: an internal failure is api_error, not overloaded_error (serving.md §6).
  assert.deepEqual(anthropicError(new ApiError('api', 'boom')), { status: 500, body: { type: 'error', error: { type: 'api_error', message: 'boom' } } });
  assert.equal(anthropicError(new ApiError('overloaded', 'busy')).status, 529);
  assert.equal(anthropicError(new ApiError('overloaded', 'shutting down', null, 503)).status, 503, 'a status the thrower set wins');
  assert.deepEqual(anthropicError(new ApiError('context_length', 'prompt is too long')), {
    status: 400,
    body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long' } },
  });
  // OpenAI routes carry OpenAI's codes, which its clients act on (Codex: compact, retry, stop retrying).
  assert.equal(OPENAI_ERRORS.context_length.code, 'context_length_exceeded');
  assert.equal(OPENAI_ERRORS.rate_limit.code, 'rate_limit_exceeded');
  assert.equal(OPENAI_ERRORS.api.code, 'server_error');
  assert.deepEqual(openaiError(new ApiError('model_not_found', 'no such model', 'model')), {
    error: { message: 'no such model', type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
  });
  for (const k of KINDS) assert.ok(OPENAI_ERRORS[k].code === null || !/^\d+$/.test(OPENAI_ERRORS[k].code!), `${k}: no Z.ai business codes on OpenAI routes`);
  assert.deepEqual(anthropicError(new ApiError('model_not_found', 'no such model', 'model')).body, {
    type: 'error',
    error: { type: 'not_found_error', message: 'no such model' },
  });
});

test('error tables: a failure mid-stream reads as the same failure before the stream, in every dialect', () => {
  const chat = prepareChat({ model: 'glm-5', messages: user, stream: true }, ctx);
  const completions = prepareCompletions({ model: 'glm-5', prompt: 'hi', stream: true }, ctx);
  const messages = prepareMessages({ model: 'glm-5', max_tokens: 5, messages: user, stream: true }, ctx);
  const responses = prepareResponses({ model: 'glm-5', input: 'hi', stream: true }, ctx);
  for (const kind of KINDS) {
    const e = new ApiError(kind, `failure of kind ${kind}`);
    for (const p of [chat, completions]) {
      const frames = p.writer().fail(e);
      assert.deepEqual(
        frames.map((f) => f.event),
        [undefined, undefined],
        'no event: lines on Chat / Completions streams',
      );
      assert.deepEqual(data(frames[0]!), openaiError(e), `${p.endpoint} ${kind}`);
      assert.equal(frames[1]!.data, '[DONE]');
    }
    const m = messages.writer().fail(e);
    assert.equal(m.length, 1);
    assert.equal(m[0]!.event, 'error');
    assert.deepEqual(data(m[0]!), anthropicError(e).body, `messages ${kind}`);
    const r = responses.writer().fail(e);
    assert.equal(r[0]!.event, 'response.failed');
    const failed = data(r[0]!).response as { status: string; error: { code: string; message: string } };
    assert.equal(failed.status, 'failed');
    const before = (responsesError(e).body as { error: { code: string | null; message: string } }).error;
    assert.deepEqual(failed.error, { code: before.code ?? 'server_error', message: before.message }, `responses ${kind}`);
  }
});
