// Codex CLI (`codex exec`, OpenAI Responses) against glm5 serve: its full default prompt on a long-context
// checkpoint, the `glm5-nano` profile (short instructions, no tools but one) on the bundled model, and a kill
// mid-stream. The config files are the README's, written into a scratch CODEX_HOME.

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
  runClient,
  workdir,
} from './harness.js';

/** `~/.codex/config.toml` of the README, pointed at `url`, for a server whose context is `context` tokens. */
export function codexConfig(url: string, context: number): string {
  return `model = "glm-5"
model_provider = "glm5"
model_context_window = ${context}

[model_providers.glm5]
name = "glm5 serve"
base_url = "${url}/v1"
wire_api = "responses"
env_key = "GLM5_API_KEY"
stream_idle_timeout_ms = 3000000
`;
}

/**
 * `~/.codex/glm5-nano.config.toml` (`codex -p glm5-nano`): Codex 0.171's default prompt is ~12K tokens (a 17 KB
 * base prompt, permission and environment context, skills, eight tools); this one is ~570, under the bundled model's
 * 4,096. What is left of the tools is `request_user_input`, which no setting removes.
 */
export function codexNanoProfile(instructionsFile: string): string {
  return `model_instructions_file = "${instructionsFile}"
model_context_window = 4096
include_permissions_instructions = false
include_environment_context = false
include_apps_instructions = false
web_search = "disabled"

[skills]
include_instructions = false

[agents]
enabled = false

[features]
goals = false
apps = false
shell_tool = false
unified_exec = false
view_image = false
image_generation = false
`;
}

function env(c: CaseContext): Record<string, string> {
  const codexHome = join(c.scratch, 'codex-home');
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(c.server.url, c.server.contextTokens));
  writeFileSync(join(codexHome, 'glm5-nano-instructions.md'), 'You are a helpful assistant.\n');
  writeFileSync(join(codexHome, 'glm5-nano.config.toml'), codexNanoProfile(join(codexHome, 'glm5-nano-instructions.md')));
  const home = join(c.scratch, 'home');
  mkdirSync(home, { recursive: true });
  return clientEnv(home, { CODEX_HOME: codexHome, GLM5_API_KEY: c.server.key });
}

const exec = (profile: string[], prompt: string): string[] => ['exec', '--skip-git-repo-check', '--json', ...profile, prompt];

/** What `codex exec --json` reported: the agent's messages, reasoning, usage and any error events. */
function summarize(stdout: string): { text: string; reasoning: string; usage: Event | undefined; errors: string[] } {
  const events = jsonLines(stdout);
  const items = events.filter((e) => e.type === 'item.completed').map((e) => e.item as Event);
  const errors = events
    .filter((e) => e.type === 'turn.failed' || e.type === 'error' || (e.type === 'item.completed' && e.item?.type === 'error'))
    .map((e) => String(e.message ?? e.error?.message ?? e.item?.message ?? JSON.stringify(e)))
    // Codex warns that it has no metadata for a model name it does not know; that is not a failure.
    .filter((m) => !m.startsWith('Model metadata for'));
  return {
    text: items
      .filter((i) => i.type === 'agent_message')
      .map((i) => String(i.text ?? ''))
      .join(' ')
      .trim(),
    reasoning: items
      .filter((i) => i.type === 'reasoning')
      .map((i) => String(i.text ?? ''))
      .join(' ')
      .trim(),
    usage: events.find((e) => e.type === 'turn.completed')?.usage as Event | undefined,
    errors,
  };
}

async function runExec(c: CaseContext, profile: string[], timeoutMs: number): Promise<{ s: ReturnType<typeof summarize>; rows: ReturnType<typeof ledger> }> {
  const from = lastLedgerId(c.server.db);
  const run = await runClient(
    { cmd: c.bins.codex, log: join(c.scratch, 'codex'), cwd: workdir(c), env: env(c), args: exec(profile, 'What is a cat?'), stdin: '' },
    timeoutMs,
  );
  const s = summarize(run.stdout);
  const rows = ledger(c.server.db, from);
  check(!run.timedOut, 'timed out');
  check(run.code === 0, `exit ${run.code}: ${clip(run.stderr + s.errors.join(' '), 300)}`);
  check(s.errors.length === 0, `errors: ${s.errors.join(' | ')}`);
  check(s.usage, 'no turn.completed');
  check(s.text.length > 0 || s.reasoning.length > 0, 'no message or reasoning shown');
  check(
    rows.length > 0 && rows.every((r) => r.status === 200 && r.endpoint === 'responses'),
    `ledger: ${JSON.stringify(rows.map((r) => [r.endpoint, r.status, r.error]))}`,
  );
  return { s, rows };
}

/**
 * Thinking off (`model_reasoning_effort = "none"`, which glm5 serve maps to GLM's thinking switch): random weights
 * think until they stop, and `codex exec --json` shows no raw reasoning, so the answer is what can be seen.
 */
export async function codexFullPrompt(c: CaseContext): Promise<string> {
  const { s, rows } = await runExec(c, ['-c', 'model_reasoning_effort="none"'], 900_000);
  check(s.text.length > 0, 'no agent message');
  check(s.usage!.input_tokens > 8000, `input_tokens ${s.usage!.input_tokens}: not the full default prompt`);
  return `exit 0, ${rows.length} request(s), input ${s.usage!.input_tokens} tokens, output ${s.usage!.output_tokens} (reasoning ${s.usage!.reasoning_output_tokens}); shown: "${clip(s.text || s.reasoning, 60)}"`;
}

export async function codexNano(c: CaseContext): Promise<string> {
  const { s } = await runExec(c, ['-p', 'glm5-nano'], 180_000);
  check(s.usage!.input_tokens < 4096, `input_tokens ${s.usage!.input_tokens} do not fit the bundled model`);
  check(s.text.length > 0, 'no agent message');
  return `exit 0, input ${s.usage!.input_tokens} tokens; agent message: "${clip(s.text, 60)}"`;
}

export async function codexKill(c: CaseContext): Promise<string> {
  const from = lastLedgerId(c.server.db);
  const k = await killMidStream(
    c.server.url,
    { cmd: c.bins.codex, log: join(c.scratch, 'codex'), cwd: workdir(c), env: env(c), args: exec(['-p', 'glm5-nano'], 'Tell me a long story.'), stdin: '' },
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

export const CODEX_CASES: ClientCase[] = [
  { name: 'glm5-nano profile (short instructions)', phase: 'nano', run: codexNano },
  { name: 'SIGKILL mid-stream', phase: 'endless', run: codexKill },
  { name: 'full default prompt', phase: 'long', run: codexFullPrompt },
];
