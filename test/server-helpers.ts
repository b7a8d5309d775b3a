// Shared by the server and protocol tests: a model context from the preset text files, scripted runs of a
// prepared request (no engine, no sockets), and client-side accumulators that enforce what the SDKs and agent
// clients enforce (clients.md §3–5).

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FinishReason, Usage } from '../src/engine/types.js';
import { ChatTemplate } from '../src/text/chat-template.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { ChoiceTracker } from '../src/server/protocol/choices.js';
import type { ModelContext } from '../src/server/protocol/common.js';
import type { Prepared, SseFrame } from '../src/server/protocol/dialect.js';
import { pushAll } from '../src/tensor/arrays.js';

export function presetContext(maxContext = 4096): ModelContext {
  const dir = mkdtempSync(join(tmpdir(), 'glm5-proto-'));
  writePresetTextFiles(dir);
  return { tokenizer: Tokenizer.fromDir(dir), template: ChatTemplate.fromDir(dir), maxContext };
}

export interface ScriptedEnd {
  finishReason?: FinishReason;
  stopReason?: string | number;
  usage?: Usage;
}

const USAGE: Usage = { promptTokens: 10, cachedTokens: 4, completionTokens: 7 };

function counter(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${n++}`;
}

/** Streams the pieces through the dialect's writer: the SSE frames a client would receive. */
export function streamScripted(p: Prepared, pieces: readonly string[], end: ScriptedEnd = {}, keepAlives = false): SseFrame[] {
  const w = p.writer();
  const t = new ChoiceTracker(0, { ...p.plan.output, newToolCallId: counter(p.endpoint === 'messages' ? 'toolu_' : 'call_') }, false);
  const frames = [...w.open()];
  if (keepAlives) frames.push(w.keepAlive());
  for (const text of pieces) {
    pushAll(frames, w.events(0, t.push({ type: 'token', ids: [1], text }), undefined));
    if (keepAlives) frames.push(w.keepAlive());
  }
  const usage = end.usage ?? USAGE;
  pushAll(
    frames,
    w.events(
      0,
      t.push({ type: 'done', finishReason: end.finishReason ?? 'stop', ...(end.stopReason !== undefined ? { stopReason: end.stopReason } : {}), usage }),
      undefined,
    ),
  );
  pushAll(frames, w.choiceDone(t.result()));
  pushAll(frames, w.close(usage));
  return frames;
}

/** The non-streaming JSON body for the same output. */
export function respondScripted(p: Prepared, text: string, end: ScriptedEnd = {}): Record<string, unknown> {
  const t = new ChoiceTracker(0, { ...p.plan.output, newToolCallId: counter(p.endpoint === 'messages' ? 'toolu_' : 'call_') }, false);
  t.push({ type: 'token', ids: [1], text });
  const usage = end.usage ?? USAGE;
  t.push({ type: 'done', finishReason: end.finishReason ?? 'stop', ...(end.stopReason !== undefined ? { stopReason: end.stopReason } : {}), usage });
  return p.respond([t.result()], usage) as Record<string, unknown>;
}

/** The frames as the bytes on the wire. */
export function sseText(frames: readonly SseFrame[]): string {
  return frames
    .map((f) => (f.comment !== undefined ? `: ${f.comment}\n\n` : (f.event !== undefined ? `event: ${f.event}\n` : '') + `data: ${f.data}\n\n`))
    .join('');
}

/** A fetch that answers every call with these SSE frames: the official SDKs then parse and accumulate them. */
export function replayFetch(frames: readonly SseFrame[]): typeof fetch {
  return (async () => new Response(sseText(frames), { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof fetch;
}

export const data = (f: SseFrame): Record<string, unknown> => JSON.parse(f.data!) as Record<string, unknown>;

/** openai-node's ChatCompletionStream rules, plus opencode/Cline's (never a null or empty tool name). */
export function accumulateChat(frames: readonly SseFrame[]): { message: Record<string, unknown>; finish: string; usage: unknown } {
  assert.equal(frames[frames.length - 1]!.data, '[DONE]');
  const msg: {
    role?: string;
    content: string | null;
    reasoning_content: string | null;
    tool_calls: { id: string; type: string; function: { name: string; arguments: string } }[];
  } = { content: null, reasoning_content: null, tool_calls: [] };
  let finish = '';
  let usage: unknown = null;
  let id: unknown;
  for (const f of frames.slice(0, -1)) {
    assert.equal(f.event, undefined, 'no event: lines on Chat streams');
    const d = data(f);
    assert.equal(d.object, 'chat.completion.chunk');
    id ??= d.id;
    assert.equal(d.id, id, 'one id for all chunks');
    const choices = d.choices as { delta: Record<string, unknown>; finish_reason: string | null }[];
    if (choices.length === 0) {
      usage = d.usage;
      continue;
    }
    const { delta, finish_reason } = choices[0]!;
    if (finish_reason) finish = finish_reason;
    if (typeof delta.role === 'string') msg.role = delta.role;
    if (typeof delta.content === 'string') msg.content = (msg.content ?? '') + delta.content;
    if (typeof delta.reasoning_content === 'string') msg.reasoning_content = (msg.reasoning_content ?? '') + delta.reasoning_content;
    for (const tc of (delta.tool_calls ?? []) as { index: number; id?: string; type?: string; function: { name?: string; arguments: string } }[]) {
      const existing = msg.tool_calls[tc.index];
      if (!existing) {
        assert.equal(tc.index, msg.tool_calls.length, 'tool call indices count up from 0');
        assert.ok(tc.id && tc.type === 'function', 'the first delta of a call carries id and type');
        assert.ok(typeof tc.function.name === 'string' && tc.function.name !== '', 'the first delta of a call carries its whole name');
        assert.equal(tc.function.arguments, '');
        msg.tool_calls.push({ id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } });
      } else {
        assert.equal(tc.id, undefined, 'later deltas carry no id');
        assert.equal(tc.function.name, undefined, 'a name is sent once');
        assert.ok(existing.function.arguments === '' || !tc.function.arguments.startsWith('{'), 'a later fragment never restarts the object');
        existing.function.arguments += tc.function.arguments;
      }
    }
  }
  assert.equal(msg.role, 'assistant', 'a role somewhere in the stream');
  for (const c of msg.tool_calls) {
    const args = JSON.parse(c.function.arguments) as unknown;
    assert.ok(args && typeof args === 'object' && !Array.isArray(args), 'arguments are one JSON object');
  }
  if (finish === 'tool_calls') assert.ok(msg.tool_calls.length > 0, 'a tool stop carries a call');
  // refusal: null, as openai-node's accumulator fills it (the server never streams one).
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: msg.content === '' ? null : msg.content,
    reasoning_content: msg.reasoning_content,
    refusal: null,
  };
  if (msg.tool_calls.length > 0) message.tool_calls = msg.tool_calls;
  return { message, finish, usage };
}

/** anthropic-sdk-typescript MessageStream rules + Claude Code's block rules; returns the final message. */
export function accumulateAnthropic(frames: readonly SseFrame[]): Record<string, unknown> {
  let msg: Record<string, unknown> | undefined;
  const content: Record<string, unknown>[] = [];
  let open = -1;
  const json: string[] = [];
  let stopped = false;
  for (const f of frames) {
    const d = data(f);
    assert.equal(f.event, d.type, 'event line equals data.type');
    if (d.type === 'ping') continue;
    if (!msg) {
      assert.equal(d.type, 'message_start', 'message_start first');
      msg = { ...(d.message as Record<string, unknown>) };
      continue;
    }
    assert.ok(!stopped, 'nothing after message_stop');
    switch (d.type) {
      case 'message_start':
        assert.fail('message_start twice');
        break;
      case 'content_block_start':
        assert.equal(open, -1, 'one block open at a time');
        assert.equal(d.index, content.length, 'block index = position in content');
        open = d.index as number;
        content.push({ ...(d.content_block as Record<string, unknown>) });
        json[open] = '';
        break;
      case 'content_block_delta': {
        assert.equal(d.index, open, 'delta for the open block');
        const b = content[open]!;
        const delta = d.delta as Record<string, string>;
        if (delta.type === 'text_delta') b.text = (b.text as string) + delta.text;
        else if (delta.type === 'thinking_delta') b.thinking = (b.thinking as string) + delta.thinking;
        else if (delta.type === 'signature_delta') b.signature = delta.signature;
        else if (delta.type === 'input_json_delta') json[open] += delta.partial_json;
        else assert.fail(`unknown delta ${delta.type}`);
        assert.equal(
          b.type,
          { text_delta: 'text', thinking_delta: 'thinking', signature_delta: 'thinking', input_json_delta: 'tool_use' }[delta.type],
          'delta type fits the block',
        );
        break;
      }
      case 'content_block_stop': {
        assert.equal(d.index, open);
        const b = content[open]!;
        if (b.type === 'thinking') assert.ok(b.signature, 'signature_delta before a thinking block stops');
        if (b.type === 'tool_use') {
          const input = JSON.parse(json[open]!) as unknown;
          assert.ok(input && typeof input === 'object' && !Array.isArray(input), 'input_json_delta fragments make one object');
          b.input = input;
        }
        if (b.type === 'text') assert.notEqual(b.text, '', 'no empty text block');
        if (b.type === 'thinking') assert.notEqual(b.thinking, '', 'no empty thinking block');
        open = -1;
        break;
      }
      case 'message_delta':
        assert.equal(open, -1, 'blocks closed before message_delta');
        Object.assign(msg, d.delta as object);
        msg.usage = { ...(msg.usage as object), ...(d.usage as object) };
        break;
      case 'message_stop':
        stopped = true;
        break;
      default:
        assert.fail(`unexpected event ${String(d.type)}`);
    }
  }
  assert.ok(stopped, 'the stream ends with message_stop');
  msg!.content = content;
  if (msg!.stop_reason === 'tool_use')
    assert.ok(
      content.some((b) => b.type === 'tool_use'),
      'tool_use stop carries a tool block',
    );
  return msg!;
}

/** What Codex reads from a Responses stream: items from output_item.done, and the terminal response. */
export function accumulateResponses(frames: readonly SseFrame[]): {
  items: Record<string, unknown>[];
  response: Record<string, unknown>;
  text: string;
  reasoning: string;
} {
  let seq = -1;
  const items: Record<string, unknown>[] = [];
  let response: Record<string, unknown> | undefined;
  let text = '';
  let reasoning = '';
  const types: string[] = [];
  for (const f of frames) {
    const d = data(f);
    assert.equal(f.event, d.type, 'event line equals data.type');
    assert.ok((d.sequence_number as number) > seq, 'strictly increasing sequence_number');
    seq = d.sequence_number as number;
    types.push(d.type as string);
    assert.equal(response, undefined, 'nothing after the terminal event');
    if (d.type === 'response.output_item.done') items.push(d.item as Record<string, unknown>);
    if (d.type === 'response.output_text.delta') text += d.delta as string;
    if (d.type === 'response.reasoning_text.delta') {
      assert.equal(typeof d.content_index, 'number');
      reasoning += d.delta as string;
    }
    if (['response.completed', 'response.incomplete', 'response.failed'].includes(d.type as string)) response = d.response as Record<string, unknown>;
  }
  assert.deepEqual(types.slice(0, 2), ['response.created', 'response.in_progress']);
  assert.ok(response, 'every stream ends in response.completed / incomplete / failed');
  assert.ok(typeof response.id === 'string');
  return { items, response, text, reasoning };
}

// ---- a real server in a child process ------------------------------------------------------------------------

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly db: string;
  stderr(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A tiny random-weight checkpoint with the preset tokenizer and template (written once per test process). */
let tinyDir: string | undefined;
export function tinyModelDir(): string {
  if (tinyDir) return tinyDir;
  tinyDir = mkdtempSync(join(tmpdir(), 'glm5-serve-model-'));
  const r = spawnSyncNode(['init', '--preset', 'tiny', '--seed', '3', tinyDir]);
  if (r.status !== 0) throw new Error(`glm5 init failed: ${r.stderr}`);
  return tinyDir;
}

import { spawnSync } from 'node:child_process';
function spawnSyncNode(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a glm5 CLI command to completion (keys, usage). */
export function glm5(args: string[], env: Record<string, string> = {}, input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    ...(input !== undefined ? { input } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `glm5 serve DIR --port 0 …` as a child process; resolves once it listens. */
export async function startServerProcess(args: string[] = [], dir = tinyModelDir()): Promise<ServerProcess> {
  const db = join(mkdtempSync(join(tmpdir(), 'glm5-serve-db-')), 'glm5.db');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), 'serve', dir, '--port', '0', '--db', db, '--kv-cache-gb', '0.05', '--max-running', '16', ...args],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 30_000);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${err}`));
    });
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let signalled = false;
  return {
    url,
    child,
    db,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (!signalled && child.exitCode === null) child.kill(signal);
      signalled = true;
      return exited;
    },
  };
}

/** One Prometheus sample's value (the first series of that name). */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} not found`);
  return Number(m[1]);
}
