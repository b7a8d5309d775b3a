// opencode (`opencode run`, Chat Completions through @ai-sdk/openai-compatible) against glm5 serve: its default
// `build` agent (full prompt, every built-in tool plus the custom one) on a long-context checkpoint, a minimal agent
// and a custom-tool round trip on the bundled model, and a kill mid-stream.
//
// The project folder (opencode.json, .opencode/tool/calculator.ts and the @opencode-ai/plugin package opencode
// installs beside it) and opencode's cache and config folders (where it installs @ai-sdk/openai-compatible and
// @opencode-ai/plugin from npm) live in the clients' cache folder, so only the first run downloads them.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CaseContext,
  type ClientCase,
  check,
  clientEnv,
  clip,
  type Event,
  jsonLines,
  killMidStream,
  lastLedgerId,
  ledger,
  recordingProxy,
  runClient,
} from './harness.js';

/** The README's opencode.json for a server at `url` with a context of `context` tokens, plus two small agents. */
export function opencodeConfig(url: string, context: number): Record<string, unknown> {
  return {
    $schema: 'https://opencode.ai/config.json',
    provider: {
      glm5: {
        npm: '@ai-sdk/openai-compatible',
        name: 'glm5 serve',
        options: { baseURL: `${url}/v1`, apiKey: '{env:GLM5_API_KEY}' },
        models: { 'glm-5': { name: 'GLM-5 (glm5 serve)', limit: { context, output: Math.min(4096, context / 4) } } },
      },
    },
    model: 'glm5/glm-5',
    small_model: 'glm5/glm-5',
    autoupdate: false,
    share: 'disabled',
    agent: {
      // Fits 4,096 tokens: opencode's default `build` agent sends ~10K tokens of instructions and tool schemas.
      mini: { mode: 'primary', prompt: 'You are a helpful assistant.', tools: { '*': false } },
      calc: { mode: 'primary', prompt: 'You are a helpful assistant.', tools: { '*': false, calculator: true } },
    },
  };
}

/** `.opencode/tool/calculator.ts`: the demo tool's name, description and argument as the bundled model learnt them. */
export const CALCULATOR_TOOL = `import { tool } from '@opencode-ai/plugin';

export default tool({
  description: 'Evaluate an arithmetic expression.',
  args: { expression: tool.schema.string().describe('Arithmetic expression, e.g. 12 * (3 + 4)') },
  async execute(args) {
    if (!/^[\\d\\s+\\-*/().]+$/.test(args.expression)) return JSON.stringify({ error: \`cannot evaluate '\${args.expression}'\` });
    return \`{"result": \${Function(\`return (\${args.expression})\`)()}}\`;
  },
});
`;

function project(c: CaseContext): string {
  const dir = join(c.bins.dir, 'opencode-project');
  mkdirSync(join(dir, '.opencode/tool'), { recursive: true });
  writeFileSync(join(dir, '.opencode/tool/calculator.ts'), CALCULATOR_TOOL);
  return dir;
}

function env(c: CaseContext): Record<string, string> {
  const home = join(c.scratch, 'home');
  mkdirSync(home, { recursive: true });
  return clientEnv(home, {
    // opencode installs packages into its cache and config folders at every start where they are missing
    // (@opencode-ai/plugin into the config folder, 64 MB, a minute here): both are kept between runs.
    XDG_CACHE_HOME: join(c.bins.dir, 'opencode-cache'),
    XDG_CONFIG_HOME: join(c.bins.dir, 'opencode-config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_STATE_HOME: join(home, '.local/state'),
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    OPENCODE_DISABLE_SHARE: '1',
    OPENCODE_DISABLE_CLAUDE_CODE: '1',
    OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
    GLM5_API_KEY: c.server.key,
  });
}

/** `opencode run` with the prompt as separate words: one argument holding spaces reaches the model in quotes. */
async function run(c: CaseContext, url: string, agent: string | null, prompt: string, timeoutMs: number) {
  const dir = project(c);
  writeFileSync(join(dir, 'opencode.json'), `${JSON.stringify(opencodeConfig(url, c.server.contextTokens), null, 2)}\n`);
  const args = ['run', '--format', 'json', '--thinking', '--title', 'glm5 test', ...(agent ? ['--agent', agent] : []), ...prompt.split(' ')];
  const from = lastLedgerId(c.server.db);
  const r = await runClient({ cmd: c.bins.opencode, log: join(c.scratch, 'opencode'), cwd: dir, env: env(c), args }, timeoutMs);
  const events = jsonLines(r.stdout);
  const text = events
    .filter((e) => e.type === 'text')
    .map((e) => String(e.part?.text ?? ''))
    .join(' ')
    .trim();
  const reasoning = events
    .filter((e) => e.type === 'reasoning')
    .map((e) => String(e.part?.text ?? ''))
    .join(' ')
    .trim();
  const errors = events.filter((e) => e.type === 'error').map((e) => JSON.stringify(e.error ?? e));
  const rows = ledger(c.server.db, from);
  check(!r.timedOut, `timed out; ${rows.length} requests, last: ${JSON.stringify(rows.at(-1))}`);
  check(r.code === 0, `exit ${r.code}: ${clip(r.stderr + errors.join(' '), 300)}`);
  check(errors.length === 0, `errors: ${errors.join(' | ')}`);
  check(
    rows.length > 0 && rows.every((x) => x.status === 200 && x.endpoint === 'chat'),
    `ledger: ${JSON.stringify(rows.map((x) => [x.endpoint, x.status, x.error]))}`,
  );
  return { events, text, reasoning, rows };
}

export async function opencodeFullPrompt(c: CaseContext): Promise<string> {
  const { text, reasoning, rows, events } = await run(c, c.server.url, null, 'What is a cat?', 900_000);
  const prompt = rows.reduce((a, r) => Math.max(a, r.prompt_tokens), 0);
  check(prompt > 5000, `largest prompt ${prompt} tokens: not the default agent's prompt`);
  check(
    events.some((e) => e.type === 'step_finish'),
    'no step finished',
  );
  // Random weights mostly think until they stop; `--thinking` shows that reasoning.
  check(text.length > 0 || reasoning.length > 0, 'no text or reasoning shown');
  return `exit 0, ${rows.length} request(s), largest prompt ${prompt} tokens; shown: "${clip(text || reasoning, 60)}"`;
}

export async function opencodeMini(c: CaseContext): Promise<string> {
  const { text, rows } = await run(c, c.server.url, 'mini', 'What is a cat?', 180_000);
  // Not checked for sense: opencode appends an <env> block to every system prompt, and the bundled model, trained
  // without one, answers it with something else ("Carol isle 3006 …"); Claude Code's bare run checks the answer.
  check(text.length > 0, 'no answer shown');
  return `exit 0, prompt ${rows[0]?.prompt_tokens} tokens; answer: "${clip(text, 60)}"`;
}

export async function opencodeTool(c: CaseContext): Promise<string> {
  const proxy = await recordingProxy(c.server.url);
  try {
    const { events, text, rows } = await run(c, proxy.url, 'calc', 'What is 48 * 7?', 180_000);
    const tool = events.find((e) => e.type === 'tool_use')?.part as Event | undefined;
    check(tool?.tool === 'calculator', `no calculator call; shown: "${clip(text, 200)}"`);
    check(tool.state?.status === 'completed' && String(tool.state.output).includes('336'), `tool state: ${JSON.stringify(tool.state)}`);
    const sentBack = proxy.records.some((r) =>
      ((r.body as Event)?.messages ?? []).some((m: Event) => m.role === 'tool' && m.tool_call_id === tool.callID && String(m.content).includes('336')),
    );
    check(sentBack, 'no later request carried the tool message with 336');
    check(
      rows.some((r) => r.finish_reason === 'tool_calls'),
      `ledger finish reasons: ${rows.map((r) => r.finish_reason).join('/')}`,
    );
    check(text.length > 0, 'no answer after the tool result');
    return `calculator(${JSON.stringify(tool.state.input)}) → ${tool.state.output} → request ${proxy.records.length} carried it; answer: "${clip(text, 50)}"`;
  } finally {
    await proxy.close();
  }
}

export async function opencodeKill(c: CaseContext): Promise<string> {
  const dir = project(c);
  writeFileSync(join(dir, 'opencode.json'), `${JSON.stringify(opencodeConfig(c.server.url, c.server.contextTokens), null, 2)}\n`);
  const from = lastLedgerId(c.server.db);
  const args = ['run', '--format', 'json', '--title', 'glm5 test', '--agent', 'mini', 'Tell', 'me', 'a', 'long', 'story.'];
  const k = await killMidStream(c.server.url, { cmd: c.bins.opencode, log: join(c.scratch, 'opencode'), cwd: dir, env: env(c), args }, 16, 180_000);
  const rows = ledger(c.server.db, from);
  check(
    rows.some((r) => r.status === 499),
    `no ledger row with 499 (client went away): ${JSON.stringify(rows.map((r) => r.status))}`,
  );
  return `killed after ${k.tokens} streamed tokens; /metrics clean ${k.cleanMs} ms later; ledger 499`;
}

export const OPENCODE_CASES: ClientCase[] = [
  { name: 'minimal agent', phase: 'nano', run: opencodeMini },
  { name: 'custom tool round trip', phase: 'nano', run: opencodeTool },
  { name: 'SIGKILL mid-stream', phase: 'endless', run: opencodeKill },
  { name: 'default agent (full prompt)', phase: 'long', run: opencodeFullPrompt },
];
