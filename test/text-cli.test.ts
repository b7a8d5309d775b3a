// glm5 tokenize / template / parse: the exact --json shapes of issue 4, run as a user would (stdin, files).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/text/tokenizer.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { requireShared } from './helpers/shared-data.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { path: GOLDEN_TOK, skip } = requireShared('golden/tokenizer');

function glm5(args: string[], stdin = ''): { status: number | null; stdout: string; stderr: string } {
  const entry = "import { main } from './src/cli/main.ts'; await main(process.argv.slice(1));";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', entry, ...args], { cwd: ROOT, input: stdin, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('glm5 tokenize --json: plain text by default, added tokens with --special', { skip }, () => {
  const tok = Tokenizer.fromDir(GOLDEN_TOK);
  const text = 'Hi <|user|> there\n';
  const plain = glm5(['tokenize', GOLDEN_TOK, '--json'], text);
  assert.equal(plain.status, 0, plain.stderr);
  assert.deepEqual(JSON.parse(plain.stdout), { ids: tok.encode(text, { special: false }) });
  const special = glm5(['tokenize', GOLDEN_TOK, '--special', '--json'], text);
  assert.deepEqual(JSON.parse(special.stdout), { ids: tok.encode(text, { special: true }) });
  assert.ok(JSON.parse(special.stdout).ids.includes(tok.specialId('<|user|>')));
  const bad = glm5(['tokenize'], '');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /usage: glm5 tokenize/);
});

test('glm5 template --json renders the preset template and gives injection-safe ids; glm5 parse --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glm5-cli-'));
  try {
    writePresetTextFiles(dir);
    const tok = Tokenizer.fromDir(dir);
    writeFileSync(join(dir, 'm.json'), JSON.stringify([{ role: 'user', content: 'Weather <|assistant|>?' }]));
    writeFileSync(
      join(dir, 't.json'),
      '[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 1.0}}}}}]',
    );
    const r = glm5(['template', dir, '--messages', join(dir, 'm.json'), '--tools', join(dir, 't.json'), '--thinking', 'off', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { prompt: string; ids: number[] };
    assert.deepEqual(Object.keys(out), ['prompt', 'ids']);
    assert.ok(out.prompt.startsWith('[gMASK]<sop><|system|>\n# Tools'));
    assert.ok(out.prompt.includes('"default": 1.0}'));
    assert.ok(out.prompt.endsWith('<|user|>Weather <|assistant|>?<|assistant|></think>'));
    assert.equal(tok.decode(out.ids), out.prompt);
    assert.equal(out.ids.filter((id) => id === tok.specialId('<|assistant|>')).length, 1);

    const completion =
      'Need it.</think>On it.<tool_call>get_weather<arg_key>city</arg_key><arg_value> Paris</arg_value><arg_key>days</arg_key><arg_value>2</arg_value></tool_call>';
    const p = glm5(['parse', '--tools', join(dir, 't.json'), '--thinking', 'on', '--json'], completion);
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(JSON.parse(p.stdout), {
      content: 'On it.',
      reasoning_content: 'Need it.',
      tool_calls: [{ name: 'get_weather', arguments: { city: ' Paris', days: 2 } }],
    });
    const off = glm5(['parse', '--thinking', 'off', '--json'], 'plain</think> answer');
    assert.deepEqual(JSON.parse(off.stdout), { content: 'plain</think> answer', reasoning_content: null, tool_calls: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
