// What every client test needs around the client itself: a real `glm5 serve` child process with an API key, random
// long-context checkpoints, /metrics and ledger readings, a client process run with a deadline or killed mid-stream,
// and a recording proxy that keeps each request body and response for the tool round-trip checks.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { ClientBins } from './install.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', join(ROOT, 'src/cli/run.ts')];

/** Runs a glm5 command to completion (from source, like the tests: no build needed). */
export function glm5(args: string[]): string {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`glm5 ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * A random-weight `tiny` checkpoint whose context is `maxPositions` (the preset's 4,096 raised, so a client's full
 * default prompt fits). `eosIds` replaces its stop tokens: random weights otherwise run to max_tokens, which Claude
 * Code reports as an error, so the long-prompt runs add 40 ordinary tokens (answers end after ~25 tokens), and the
 * kill tests pass [] (a stream that never ends by itself).
 */
export function randomCheckpoint(dir: string, maxPositions: number, eosIds: readonly number[] | null): string {
  glm5(['init', '--preset', 'tiny', '--seed', '7', '--force', dir]);
  const edit = (file: string, f: (c: Record<string, unknown>) => void) => {
    const c = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    f(c);
    writeFileSync(join(dir, file), `${JSON.stringify(c, null, 2)}\n`);
  };
  edit('config.json', (c) => {
    c.max_position_embeddings = maxPositions;
    if (eosIds) c.eos_token_id = [...eosIds];
  });
  if (eosIds) edit('generation_config.json', (c) => (c.eos_token_id = [...eosIds]));
  return dir;
}

/** 40 plain tokens of the preset vocabulary plus its three real stop tokens (see randomCheckpoint). */
export const EAGER_EOS = [961, 968, 970, ...Array.from({ length: 40 }, (_, i) => 100 + i)];

export interface GlmServer {
  readonly url: string;
  readonly key: string;
  readonly db: string;
  readonly log: string;
  readonly contextTokens: number;
  stop(): Promise<void>;
}

/** `glm5 serve DIR` on a free port, with one API key (so every client's auth setting is exercised). */
export async function startServer(dir: string | null, work: string, name: string, extra: string[] = []): Promise<GlmServer> {
  const db = join(work, `${name}.db`);
  const key = (JSON.parse(glm5(['keys', 'create', 'clients', '--db', db, '--json'])) as { secret: string }).secret;
  const log = join(work, `${name}-server.log`);
  const out = createWriteStream(log);
  const args = [...CLI, 'serve', ...(dir ? [dir] : []), '--port', '0', '--db', db, '--kv-cache-gb', '1', ...extra];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    out.write(b);
    if (err.length < 100_000) err += b.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`glm5 serve did not start in 120 s:\n${err}`)), 120_000);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1]!);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`glm5 serve exited with ${code}:\n${err}`));
    });
  });
  const contextTokens = Number(/context (\d+) tokens/.exec(err)?.[1] ?? 0);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    key,
    db,
    log,
    contextTokens,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      out.end();
    },
  };
}

/** Every sample of /metrics summed by metric name (series with labels added up). */
export async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z0-9_:]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}

const CLEAN = ['glm5_requests_running', 'glm5_requests_waiting', 'glm5_http_requests_in_flight', 'glm5_cache_blocks_used'] as const;

/** Waits until nothing runs, waits, is in flight or holds cache blocks; the ms it took, or throws with the last reading. */
export async function waitClean(url: string, timeoutMs = 5000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const m = await metrics(url);
    if (CLEAN.every((k) => m.get(k) === 0)) return Math.round(performance.now() - t0);
    if (performance.now() - t0 > timeoutMs) throw new Error(`/metrics not clean after ${timeoutMs} ms: ${CLEAN.map((k) => `${k} ${m.get(k)}`).join(', ')}`);
    await sleep(100);
  }
}

export interface LedgerRow {
  endpoint: string;
  status: number;
  finish_reason: string | null;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  error: string | null;
}

/** The server's ledger rows after `afterId` (the server writes them before a response's last bytes). */
export function ledger(db: string, afterId = 0): (LedgerRow & { id: number })[] {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d
      .prepare('SELECT id, endpoint, status, finish_reason, prompt_tokens, cached_tokens, completion_tokens, error FROM ledger WHERE id > ? ORDER BY id')
      .all(afterId) as (LedgerRow & { id: number })[];
  } finally {
    d.close();
  }
}

export const lastLedgerId = (db: string): number => ledger(db).reduce((a, r) => Math.max(a, r.id), 0);

export interface ClientRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  readonly timedOut: boolean;
}

export interface ClientSpawn {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Text written to stdin and then closed; `null` leaves stdin open (a stream-json host writes it). */
  readonly stdin?: string | null;
  /** Where the client's stdout and stderr are kept (`PATH.stdout`, `PATH.stderr`) for a failure's post-mortem. */
  readonly log?: string;
}

/** Starts a client in its own process group (so a kill reaches the helpers it spawns, such as MCP servers). */
export function spawnClient(s: ClientSpawn): { child: ChildProcess; done: Promise<ClientRun> } {
  const t0 = performance.now();
  // PWD follows cwd: opencode takes its project folder from $PWD, which would otherwise name this repository.
  const child = spawn(s.cmd, [...s.args], { cwd: s.cwd, env: { ...s.env, PWD: s.cwd }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  if (s.stdin !== null) child.stdin!.end(s.stdin ?? '');
  const done = new Promise<ClientRun>((resolve) => {
    child.once('close', (code, signal) => {
      if (s.log) {
        writeFileSync(`${s.log}.stdout`, stdout);
        writeFileSync(`${s.log}.stderr`, stderr);
      }
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000, timedOut: false });
    });
  });
  return { child, done };
}

export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Runs a client to completion; past `timeoutMs` its process group is killed and the run marked timed out. */
export async function runClient(s: ClientSpawn, timeoutMs: number): Promise<ClientRun> {
  const { child, done } = spawnClient(s);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, timeoutMs);
  const r = await done;
  clearTimeout(timer);
  return { ...r, timedOut };
}

/**
 * Starts a client, waits until the server has streamed `minTokens` tokens (glm5_inter_token_seconds counts each
 * streamed token as it goes out), SIGKILLs the client's process group, and measures how long /metrics takes to be
 * clean again. Returns the tokens seen before the kill and that time.
 */
export async function killMidStream(
  url: string,
  s: ClientSpawn,
  minTokens: number,
  timeoutMs: number,
): Promise<{ tokens: number; cleanMs: number; run: ClientRun }> {
  const base = (await metrics(url)).get('glm5_inter_token_seconds_count') ?? 0;
  const { child, done } = spawnClient(s);
  let exited = false;
  void done.then(() => (exited = true));
  const t0 = performance.now();
  let tokens = 0;
  for (;;) {
    tokens = ((await metrics(url)).get('glm5_inter_token_seconds_count') ?? 0) - base;
    if (tokens >= minTokens) break;
    if (exited) throw new Error(`the client exited before ${minTokens} tokens were streamed:\n${(await done).stderr.slice(-2000)}`);
    if (performance.now() - t0 > timeoutMs) {
      killGroup(child);
      throw new Error(`no ${minTokens} streamed tokens within ${timeoutMs} ms (saw ${tokens})`);
    }
    await sleep(100);
  }
  killGroup(child);
  const run = await done;
  return { tokens, cleanMs: await waitClean(url), run };
}

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
  status: number;
  response: string;
}

/** A pass-through HTTP proxy in front of the server that keeps every request body and response text. */
export async function recordingProxy(target: string): Promise<{ url: string; records: Recorded[]; close(): Promise<void> }> {
  const records: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: unknown = null;
      try {
        body = raw.length ? JSON.parse(raw.toString()) : null;
      } catch {
        body = raw.toString();
      }
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', body, status: 0, response: '' };
      records.push(rec);
      const up = httpRequest(target + (req.url ?? ''), { method: req.method, headers: req.headers }, (ur) => {
        rec.status = ur.statusCode ?? 0;
        res.writeHead(rec.status, ur.headers);
        ur.on('data', (c: Buffer) => {
          rec.response += c.toString();
          res.write(c);
        });
        ur.on('end', () => res.end());
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      up.end(raw);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, records, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The environment a client gets: this process's, minus any real provider credentials or settings, plus `extra`. */
export function clientEnv(home: string, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(ANTHROPIC|CLAUDE|OPENAI|CODEX|OPENCODE|XDG)_/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, HOME: home, ...extra };
}

/** Lines of newline-delimited JSON output, skipping anything else the client printed. */
export function jsonLines(text: string): Event[] {
  const out: Event[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Event);
    } catch {
      // a partial line at a kill
    }
  }
  return out;
}

/** One checked scenario: a client against one model, what was seen, and whether every check held. */
export interface CaseResult {
  readonly client: 'claude' | 'codex' | 'opencode';
  readonly name: string;
  readonly model: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly detail: string;
}

/** Throws the message when the condition fails; the case then reports it as its failure. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

export const clip = (s: string, n = 80): string => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n)}…` : t;
};

export interface CaseContext {
  readonly bins: ClientBins;
  readonly server: GlmServer;
  /** An empty folder for this case: HOME, working directory, logs. */
  readonly scratch: string;
}

/** A scenario: which server it needs (the bundled model, a never-ending random stream, the long-context random one). */
export interface ClientCase {
  readonly name: string;
  readonly phase: 'nano' | 'endless' | 'long';
  /** Resolves to what was seen; throws (check) with what went wrong. */
  readonly run: (c: CaseContext) => Promise<string>;
}

/** The case's working directory (created). */
export function workdir(c: CaseContext): string {
  const d = join(c.scratch, 'work');
  mkdirSync(d, { recursive: true });
  return d;
}

// Client output is third-party JSON read field by field, each read checked.
// biome-ignore lint/suspicious/noExplicitAny: parsed client events
export type Event = Record<string, any>;
