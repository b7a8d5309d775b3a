// npm run test:clients — the real agent clients (Claude Code, Codex CLI, opencode; pinned versions installed once into
// a cache folder, scripts/clients/install.ts) run non-interactively against real `glm5 serve` processes:
//   nano     the bundled model (4,096 tokens): each client set up so its prompt fits, plus the tool round trips
//   endless  a random checkpoint that never stops by itself: each client SIGKILLed mid-stream, /metrics then clean
//   long     a random checkpoint with a 131,072-token context: each client's full default prompt
// Opt-in (about 1.2 GB of clients, ~10 minutes on 2 cores); `npm test` never runs it. Results: docs/clients.md.
//
//   npm run test:clients [-- --only claude,codex,opencode] [--phase nano,endless,long] [--keep] [--json FILE]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLAUDE_CASES } from './clients/claude.js';
import { CODEX_CASES } from './clients/codex.js';
import { type CaseResult, type ClientCase, EAGER_EOS, type GlmServer, randomCheckpoint, startServer, waitClean } from './clients/harness.js';
import { type ClientBins, installClients } from './clients/install.js';
import { OPENCODE_CASES } from './clients/opencode.js';

const CLIENTS = { claude: CLAUDE_CASES, codex: CODEX_CASES, opencode: OPENCODE_CASES } as const;
type ClientName = keyof typeof CLIENTS;
const PHASES = ['nano', 'endless', 'long'] as const;
type Phase = (typeof PHASES)[number];
const LONG_CONTEXT = 131_072;

/** The server a phase runs against: checkpoint folder (null = the bundled model) and a label for the results. */
function phaseModel(phase: Phase, work: string): { dir: string | null; label: string } {
  switch (phase) {
    case 'nano':
      return { dir: null, label: 'glm5-nano (bundled)' };
    case 'endless':
      return { dir: randomCheckpoint(join(work, 'random-endless'), LONG_CONTEXT, []), label: 'random tiny, no EOS' };
    case 'long':
      return { dir: randomCheckpoint(join(work, 'random-long'), LONG_CONTEXT, EAGER_EOS), label: `random tiny, ${LONG_CONTEXT / 1024}K context` };
  }
}

async function runCase(client: ClientName, k: ClientCase, bins: ClientBins, server: GlmServer, work: string, label: string): Promise<CaseResult> {
  const scratch = mkdtempSync(join(work, `${client}-`));
  const t0 = performance.now();
  let ok = true;
  let detail: string;
  try {
    detail = await k.run({ bins, server, scratch });
    // Whatever a case did, the server must be idle again before the next one starts.
    await waitClean(server.url, 10_000);
  } catch (e) {
    ok = false;
    detail = (e as Error).message;
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${client} · ${k.name} (${seconds} s): ${detail}`);
  return { client, name: k.name, model: label, ok, seconds, detail };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, phase: { type: 'string' }, keep: { type: 'boolean', default: false }, json: { type: 'string' } },
  });
  const only = (values.only?.split(',') ?? Object.keys(CLIENTS)) as ClientName[];
  const phases = (values.phase?.split(',') ?? [...PHASES]) as Phase[];
  for (const c of only) if (!(c in CLIENTS)) throw new Error(`unknown client '${c}' (${Object.keys(CLIENTS).join(', ')})`);
  for (const p of phases) if (!PHASES.includes(p)) throw new Error(`unknown phase '${p}' (${PHASES.join(', ')})`);

  const bins = installClients();
  console.log(`clients in ${bins.dir}: claude ${bins.versions.claude}, codex ${bins.versions.codex}, opencode ${bins.versions.opencode}`);
  const work = mkdtempSync(join(tmpdir(), 'glm5-clients-'));
  const results: CaseResult[] = [];
  const t0 = performance.now();
  for (const phase of phases) {
    const todo = only.flatMap((client) => CLIENTS[client].filter((k) => k.phase === phase).map((k) => ({ client, k })));
    if (todo.length === 0) continue;
    const model = phaseModel(phase, work);
    const server = await startServer(model.dir, work, phase);
    console.log(`— ${phase}: glm5 serve ${model.label} at ${server.url} (context ${server.contextTokens}), log ${server.log}`);
    try {
      for (const { client, k } of todo) results.push(await runCase(client, k, bins, server, work, model.label));
    } finally {
      await server.stop();
    }
  }
  const failed = results.filter((r) => !r.ok);
  const minutes = ((performance.now() - t0) / 60_000).toFixed(1);
  console.log(
    `\n${results.length - failed.length}/${results.length} passed in ${minutes} min (claude ${bins.versions.claude}, codex ${bins.versions.codex}, opencode ${bins.versions.opencode})`,
  );
  const report = { date: new Date().toISOString(), versions: bins.versions, minutes: Number(minutes), results };
  const jsonPath = values.json ?? join(bins.dir, 'results.json');
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`results: ${jsonPath}`);
  if (failed.length > 0 || values.keep) console.log(`scratch folders, server logs and ledgers kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`test:clients: ${(e as Error).message}`);
    process.exit(2);
  },
);
