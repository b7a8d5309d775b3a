// glm5 replicas behind `glm5 serve --upstream` for the front-end tests: start a fleet, a shared-prefix multi-session
// workload (sessions share a system header, each has its own long context, turns grow it), and small readers of
// the front end's /workers and ledger.

import Database from 'better-sqlite3';
import { startServerProcess, tinyModelDir, type ServerProcess } from '../server-helpers.js';

export const ADMIN_KEY = 'test-admin-key';

/** Starts n glm5 replicas of the tiny model, then front ends over them (one per policy given). */
export async function startFleet(
  n: number,
  policies: string[],
  o: { replicaArgs?: string[]; frontArgs?: string[] } = {},
): Promise<{ replicas: ServerProcess[]; fronts: ServerProcess[] }> {
  process.env.GLM5_ADMIN_KEY = ADMIN_KEY;
  const dir = tinyModelDir();
  const replicas = await Promise.all(Array.from({ length: n }, () => startServerProcess(['--quiet', ...(o.replicaArgs ?? [])], dir)));
  const urls = replicas.map((r) => r.url).join(',');
  const fronts = await Promise.all(
    policies.map((p) =>
      startServerProcess(['--upstream', urls, '--router-policy', p, '--health-interval-s', '0.5', '--load-interval-s', '0.5', ...(o.frontArgs ?? [])], dir),
    ),
  );
  return { replicas, fronts };
}

export interface WorkerRow {
  id: string;
  url: string;
  kind: string;
  status: string;
  circuit: string;
  in_flight: number;
  requests: number;
  failures: number;
}

export async function workers(front: string): Promise<{ workers: WorkerRow[]; router: Record<string, unknown> }> {
  const r = await fetch(`${front}/workers`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  if (!r.ok) throw new Error(`/workers: ${r.status} ${await r.text()}`);
  return (await r.json()) as { workers: WorkerRow[]; router: Record<string, unknown> };
}

/** Waits until every replica the front end lists is healthy (or until pred holds). */
export async function waitWorkers(front: string, pred: (w: WorkerRow[]) => boolean, ms = 20_000): Promise<WorkerRow[]> {
  const end = Date.now() + ms;
  for (;;) {
    const w = (await workers(front)).workers;
    if (pred(w)) return w;
    if (Date.now() > end) throw new Error(`workers never got there: ${JSON.stringify(w)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

/** A deterministic token list (plain-text ids of the tiny vocabulary). */
export function tokens(seed: number, n: number): number[] {
  let x = (seed * 2654435761) >>> 0;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return 10 + (x % 900);
  });
}

export interface WorkloadResult {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  seconds: number;
  usages: Usage[];
}

/**
 * `sessions` conversations run at once, each `turns` requests in a row: prompt = shared header ‖ the session's own
 * context ‖ what earlier turns added (its question and answer). /v1/completions with token ids, greedy.
 */
export async function workload(
  front: string,
  o: { seed: number; sessions: number; turns: number; header: number; context: number; maxTokens: number; sessionKey?: boolean },
): Promise<WorkloadResult> {
  const header = tokens(o.seed, o.header);
  const usages: Usage[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.sessions }, async (_, s) => {
      const history = [...header, ...tokens(o.seed * 100 + s + 1, o.context)];
      for (let t = 0; t < o.turns; t++) {
        const question = tokens(o.seed * 1000 + s * 10 + t, 12);
        const prompt = [...history, ...question];
        const r = await fetch(`${front}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(o.sessionKey ? { 'x-session-id': `s${o.seed}-${s}` } : {}) },
          body: JSON.stringify({ model: 'glm-5', prompt, max_tokens: o.maxTokens, temperature: 0, ignore_eos: true }),
        });
        if (!r.ok) throw new Error(`completions: ${r.status} ${await r.text()}`);
        const body = (await r.json()) as { usage: Usage };
        usages.push(body.usage);
        for (const id of question) history.push(id);
        for (const id of tokens(o.seed * 5000 + s * 10 + t, o.maxTokens)) history.push(id);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const sum = (f: (u: Usage) => number) => usages.reduce((a, u) => a + f(u), 0);
  return {
    requests: usages.length,
    promptTokens: sum((u) => u.prompt_tokens),
    cachedTokens: sum((u) => u.prompt_tokens_details?.cached_tokens ?? 0),
    completionTokens: sum((u) => u.completion_tokens),
    seconds,
    usages,
  };
}

/** The front end's ledger rows (status 200) as [prompt, cached, completion] triples, sorted. */
export function ledgerTriples(db: string, endpoint?: string): number[][] {
  const d = new Database(db, { readonly: true });
  try {
    const sql = 'SELECT prompt_tokens AS p, cached_tokens AS c, completion_tokens AS n FROM ledger WHERE status = 200';
    const rows = (endpoint ? d.prepare(`${sql} AND endpoint = ?`).all(endpoint) : d.prepare(sql).all()) as { p: number; c: number; n: number }[];
    return rows.map((r) => [r.p, r.c, r.n]).sort(cmp);
  } finally {
    d.close();
  }
}

export const cmp = (a: number[], b: number[]): number => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
