// Claude Code (`claude -p`, Anthropic Messages) against glm5 serve: its full default prompt on a long-context
// checkpoint (with a stdio MCP server declared), `--bare` with a short system prompt on the bundled model, an MCP
// tool round trip, and a kill mid-stream.
//
// The tool round trip uses an MCP server hosted by the test over Claude Code's stream-json control protocol (what
// the Agent SDK does) with CLAUDE_AGENT_SDK_MCP_NO_PREFIX=1: Claude Code names every other MCP tool
// `mcp__<server>__<tool>`, and the bundled model only ever calls the three tool names it was trained on.

import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  type CaseContext,
  type ClientCase,
  check,
  clientEnv,
  clip,
  type Event,
  jsonLines,
  killGroup,
  killMidStream,
  lastLedgerId,
  ledger,
  recordingProxy,
  ROOT,
  runClient,
  spawnClient,
  workdir,
} from './harness.js';
import { answerMcp, type JsonRpc } from './mcp-calculator.js';

const SYSTEM = 'You are a helpful assistant.';

/** The environment the README gives for Claude Code, pointed at `url`. */
function env(c: CaseContext, url = c.server.url): Record<string, string> {
  const home = join(c.scratch, 'home');
  mkdirSync(home, { recursive: true });
  return clientEnv(home, {
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_AUTH_TOKEN: c.server.key,
    ANTHROPIC_MODEL: 'glm-5',
    ANTHROPIC_DEFAULT_OPUS_MODEL: 'glm-5',
    ANTHROPIC_DEFAULT_SONNET_MODEL: 'glm-5',
    ANTHROPIC_DEFAULT_HAIKU_MODEL: 'glm-5',
    API_TIMEOUT_MS: '3000000',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  });
}

/** Text and thinking the client showed, from its stream-json assistant events. */
function shown(events: Event[]): string {
  const parts: string[] = [];
  for (const e of events) {
    if (e.type !== 'assistant') continue;
    for (const b of e.message?.content ?? []) if (b.type === 'text' || b.type === 'thinking') parts.push(b.text ?? b.thinking ?? '');
  }
  return parts.join(' ').trim();
}

/** The client's full default prompt (system prompt, every built-in tool) plus a stdio MCP server, on a long context. */
export async function claudeFullPrompt(c: CaseContext): Promise<string> {
  const mcpLog = join(c.scratch, 'mcp.log');
  const mcp = {
    mcpServers: {
      calc: {
        type: 'stdio',
        command: process.execPath,
        args: ['--import', import.meta.resolve('tsx'), join(ROOT, 'scripts/clients/mcp-calculator.ts')],
        env: { MCP_LOG: mcpLog },
      },
    },
  };
  const from = lastLedgerId(c.server.db);
  const run = await runClient(
    {
      cmd: c.bins.claude,
      log: join(c.scratch, 'claude'),
      cwd: workdir(c),
      env: env(c),
      args: ['-p', 'What is a cat?', '--output-format', 'stream-json', '--verbose', '--mcp-config', JSON.stringify(mcp), '--strict-mcp-config'],
    },
    900_000,
  );
  const events = jsonLines(run.stdout);
  const init = events.find((e) => e.type === 'system' && e.subtype === 'init');
  const result = events.find((e) => e.type === 'result');
  const rows = ledger(c.server.db, from);
  check(!run.timedOut, 'timed out');
  check(run.code === 0, `exit ${run.code}: ${clip(result?.result ?? run.stderr, 300)}`);
  check(result && result.is_error === false, `result event: ${JSON.stringify(result)?.slice(0, 300)}`);
  check(
    init?.mcp_servers?.some((s: Event) => s.name === 'calc' && s.status === 'connected'),
    `MCP server not connected: ${JSON.stringify(init?.mcp_servers)}`,
  );
  check(init?.tools?.includes('mcp__calc__calculator'), 'mcp__calc__calculator is not among the tools');
  check(existsSync(mcpLog) && readFileSync(mcpLog, 'utf8').includes('tools/list'), 'the MCP server was never asked for its tools');
  check(rows.length > 0 && rows.every((r) => r.status === 200), `ledger: ${JSON.stringify(rows.map((r) => [r.status, r.error]))}`);
  const prompt = rows.reduce((a, r) => Math.max(a, r.prompt_tokens), 0);
  check(prompt > 15_000, `largest prompt ${prompt} tokens: not the full default prompt`);
  const text = shown(events);
  check(text.length > 0, 'no text or thinking shown');
  return `exit 0, ${rows.length} requests (largest prompt ${prompt} tokens, ${rows.map((r) => r.finish_reason).join('/')}), MCP tool declared; shown: "${clip(text, 60)}"`;
}

/** `--bare` with a short system prompt and no tools: fits the bundled model's 4,096 tokens. */
export async function claudeBare(c: CaseContext): Promise<string> {
  const from = lastLedgerId(c.server.db);
  const run = await runClient(
    {
      cmd: c.bins.claude,
      log: join(c.scratch, 'claude'),
      cwd: workdir(c),
      env: env(c),
      args: ['-p', 'What is a cat?', '--bare', '--system-prompt', SYSTEM, '--tools', ''],
    },
    180_000,
  );
  const rows = ledger(c.server.db, from);
  check(!run.timedOut, 'timed out');
  check(run.code === 0, `exit ${run.code}: ${clip(run.stdout + run.stderr, 300)}`);
  check(/feline|cat/i.test(run.stdout), `answer: "${clip(run.stdout, 200)}"`);
  return `exit 0, prompt ${rows[0]?.prompt_tokens} tokens; printed: "${clip(run.stdout, 70)}"`;
}

/** The SDK-hosted MCP calculator: 48 * 7 goes to the tool, its result back to the model, the answer out. */
export async function claudeMcpTool(c: CaseContext): Promise<string> {
  const proxy = await recordingProxy(c.server.url);
  const from = lastLedgerId(c.server.db);
  const calls: JsonRpc[] = [];
  const args = [
    '-p',
    '--bare',
    '--system-prompt',
    SYSTEM,
    '--tools',
    '',
    '--input-format',
    'stream-json',
    '--output-format',
    'stream-json',
    '--verbose',
    '--allowedTools',
    'mcp__calc',
    '--mcp-config',
    JSON.stringify({ mcpServers: { calc: { type: 'sdk', name: 'calc' } } }),
  ];
  const { child, done } = spawnClient({
    cmd: c.bins.claude,
    log: join(c.scratch, 'claude'),
    cwd: workdir(c),
    env: { ...env(c, proxy.url), CLAUDE_AGENT_SDK_MCP_NO_PREFIX: '1' },
    args,
    stdin: null,
  });
  const send = (m: unknown) => child.stdin!.write(`${JSON.stringify(m)}\n`);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let m: Event;
    try {
      m = JSON.parse(line) as Event;
    } catch {
      return;
    }
    if (m.type === 'control_request') {
      const msg = m.request?.message as JsonRpc | undefined;
      if (m.request?.subtype === 'mcp_message' && msg?.method === 'tools/call') calls.push(msg);
      const mcpResponse = m.request?.subtype === 'mcp_message' && msg ? (answerMcp(msg) ?? { jsonrpc: '2.0', id: 0, result: {} }) : undefined;
      send({
        type: 'control_response',
        response: { subtype: 'success', request_id: m.request_id, response: mcpResponse ? { mcp_response: mcpResponse } : {} },
      });
    } else if (m.type === 'result') child.stdin!.end();
  });
  send({ type: 'control_request', request_id: 'init', request: { subtype: 'initialize', sdkMcpServers: ['calc'] } });
  send({ type: 'user', message: { role: 'user', content: 'What is 48 * 7?' }, parent_tool_use_id: null, session_id: '' });
  const timer = setTimeout(() => killGroup(child), 180_000);
  const run = await done;
  clearTimeout(timer);
  await proxy.close();
  const events = jsonLines(run.stdout);
  const toolUse = events.flatMap((e) => (e.type === 'assistant' ? (e.message?.content ?? []) : [])).find((b: Event) => b.type === 'tool_use');
  const result = events.find((e) => e.type === 'result');
  const rows = ledger(c.server.db, from);
  check(run.code === 0, `exit ${run.code}: ${clip(run.stderr, 300)}`);
  check(toolUse?.name === 'calculator', `no calculator tool_use; shown: "${clip(shown(events), 200)}"`);
  check(calls.length > 0, 'the MCP server got no tools/call');
  const sentBack = proxy.records.some(
    (r) => JSON.stringify((r.body as Event)?.messages ?? []).includes(`"tool_use_id":"${toolUse.id}"`) && JSON.stringify(r.body).includes('336'),
  );
  check(sentBack, 'no later request carried the tool_result with 336');
  // The ledger keeps the engine's finish reason ('tool_calls'), whatever the dialect called it.
  check(
    rows.some((r) => r.finish_reason === 'tool_calls'),
    `ledger finish reasons: ${rows.map((r) => r.finish_reason).join('/')}`,
  );
  check(result && result.is_error === false, `result event: ${JSON.stringify(result)?.slice(0, 300)}`);
  return `tool_use calculator(${JSON.stringify(toolUse.input)}) → MCP tools/call → tool_result 336 in request ${proxy.records.length}; answer: "${clip(String(result.result ?? ''), 50)}"`;
}

/** SIGKILL while tokens stream; /metrics must be clean within 5 s and the ledger must show the client went away. */
export async function claudeKill(c: CaseContext): Promise<string> {
  const from = lastLedgerId(c.server.db);
  const k = await killMidStream(
    c.server.url,
    {
      cmd: c.bins.claude,
      log: join(c.scratch, 'claude'),
      cwd: workdir(c),
      env: env(c),
      args: [
        '-p',
        'Tell me a long story.',
        '--bare',
        '--system-prompt',
        SYSTEM,
        '--tools',
        '',
        '--output-format',
        'stream-json',
        '--verbose',
        '--include-partial-messages',
      ],
    },
    16,
    180_000,
  );
  const rows = ledger(c.server.db, from);
  check(
    rows.some((r) => r.status === 499),
    `no ledger row with 499 (client went away): ${JSON.stringify(rows.map((r) => r.status))}`,
  );
  return `killed after ${k.tokens} streamed tokens; /metrics clean ${k.cleanMs} ms later; ledger 499`;
}

export const CLAUDE_CASES: ClientCase[] = [
  { name: 'bare, short system prompt', phase: 'nano', run: claudeBare },
  { name: 'MCP tool round trip', phase: 'nano', run: claudeMcpTool },
  { name: 'SIGKILL mid-stream', phase: 'endless', run: claudeKill },
  { name: 'full default prompt + stdio MCP', phase: 'long', run: claudeFullPrompt },
];
