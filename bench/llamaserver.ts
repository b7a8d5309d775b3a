// The serving workload of bench/serving.ts through HTTP, for llama.cpp's own server and for `glm5 serve` alike
// (httpServing): N concurrent requests, each a 128-token prompt (token ids, so both sides see the same
// tokens) and 64 generated tokens (EOS ignored, greedy), through streamed /v1/completions; aggregate generated
// tokens per second of wall time and p90 inter-token gaps. llama-server is opt-in: it needs
// scripts/setup-llama-server.sh (after npm run bench:setup); otherwise benchLlamaServer returns null.

import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/tensor/random.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const LLAMA_SERVER = join(HERE, '.llama-server', 'build', 'bin', 'llama-server');

async function waitHealthy(port: number, ms: number, what = 'llama-server'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`${what} did not become healthy`);
}

/** One streamed completion: generated tokens (usage, else data chunks) and the arrival times of its text chunks. */
async function one(port: number, prompt: number[]): Promise<{ tokens: number; arrivals: number[] }> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'glm-5',
      prompt,
      max_tokens: 64,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
      cache_prompt: false,
    }),
  });
  if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const arrivals: number[] = [];
  let chunks = 0,
    usage: number | null = null,
    buf = '';
  const dec = new TextDecoder();
  for await (const part of r.body) {
    const now = performance.now();
    buf += dec.decode(part as Uint8Array, { stream: true });
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      if (!line.startsWith('data: {')) continue;
      const ev = JSON.parse(line.slice(6)) as { choices?: { text?: string }[]; usage?: { completion_tokens?: number } | null };
      if (ev.usage?.completion_tokens) usage = ev.usage.completion_tokens;
      if (ev.choices?.[0]?.text) {
        chunks++;
        arrivals.push(now);
      }
    }
  }
  return { tokens: usage ?? chunks, arrivals };
}

export interface HttpServing {
  /** streams → generated tokens per second of wall time. */
  tok_s: Record<string, number>;
  /** streams → 90th percentile of the gaps between a stream's successive text chunks (ms). */
  itl_p90_ms: Record<string, number>;
}

function p90(xs: number[]): number {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor(0.9 * s.length))]! : 0;
}

/**
 * The serving workload through HTTP against any server on `port` (llama-server, glm5 serve): N concurrent
 * streamed /v1/completions, each a 128-token prompt of token ids (the same ids for every server) and 64
 * generated tokens, greedy, EOS ignored; aggregate tok/s and p90 inter-token gap per stream count.
 */
export async function httpServing(port: number, V: number, counts: readonly number[], log: (s: string) => void, name: string): Promise<HttpServing> {
  const out: HttpServing = { tok_s: {}, itl_p90_ms: {} };
  await one(port, promptIds(V, 4999)); // warm-up
  for (const streams of counts) {
    const prompts = Array.from({ length: streams }, (_, i) => promptIds(V, 5000 + i));
    const t0 = performance.now();
    const runs = await Promise.all(prompts.map((p) => one(port, p)));
    out.tok_s[streams] = (runs.reduce((a, b) => a + b.tokens, 0) * 1000) / (performance.now() - t0);
    out.itl_p90_ms[streams] = p90(runs.flatMap((r) => r.arrivals.slice(1).map((t, i) => t - r.arrivals[i]!)));
    log(
      `${name}, ${streams} stream(s) × (128 prompt + 64 generated): ${out.tok_s[streams]!.toFixed(1)} tok/s aggregate, p90 inter-token ${out.itl_p90_ms[streams]!.toFixed(0)} ms`,
    );
  }
  return out;
}

function promptIds(V: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: 128 }, () => 2 + r.int(V - 2));
}

/** llama-server's aggregate tok/s and p90 inter-token gaps at 1 and 16 streams, or null when it is not built. */
export async function benchLlamaServer(gguf: string, V: number, threads: number, log: (s: string) => void): Promise<HttpServing | null> {
  if (!existsSync(LLAMA_SERVER)) {
    log('llama-server comparison unavailable: run npm run bench:setup && scripts/setup-llama-server.sh');
    return null;
  }
  const port = 18000 + Math.floor(Math.random() * 1000);
  const proc = spawn(
    LLAMA_SERVER,
    ['-m', gguf, '--port', String(port), '-t', String(threads), '-np', '16', '--cont-batching', '-c', String(16 * 256), '--jinja', '--metrics'],
    { stdio: 'ignore' },
  );
  try {
    await waitHealthy(port, 120000);
    return await httpServing(port, V, [1, 16], log, 'llama-server');
  } finally {
    proc.kill('SIGTERM');
  }
}

/**
 * `glm5 serve` on the same checkpoint (its own folder, not the GGUF) through the same harness: a real server
 * process with the serving defaults except the batch (--max-running 16, like llama-server's -np 16), a
 * throwaway ledger, and `extra` flags.
 */
export async function benchGlm5Serve(
  dir: string,
  V: number,
  log: (s: string) => void,
  extra: readonly string[] = [],
  name = 'glm5 serve',
): Promise<HttpServing> {
  const port = 19000 + Math.floor(Math.random() * 1000);
  const db = join(tmpdir(), `glm5-bench-${process.pid}-${port}.db`);
  const cli = join(HERE, '..', 'src', 'cli', 'run.ts');
  const args = ['--import', 'tsx', cli, 'serve', dir, '--port', String(port), '--max-running', '16', '--kv-cache-gb', '2', '--quiet', '--db', db, ...extra];
  const proc = spawn(process.execPath, args, { stdio: 'ignore' });
  try {
    await waitHealthy(port, 120000, 'glm5 serve');
    return await httpServing(port, V, [1, 16], log, name);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((res) => proc.once('exit', res));
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  }
}

/**
 * llama-server's prefill speed on one prompt of token ids (tok/s from its own timings: prompt_n / prompt_ms), or
 * null when it is not built. Context sized to the prompt; one slot; the same thread count as ours.
 */
export async function llamaServerPrefill(gguf: string, ids: readonly number[], threads: number, log: (s: string) => void): Promise<number | null> {
  if (!existsSync(LLAMA_SERVER)) {
    log('llama-server comparison unavailable: run npm run bench:setup && scripts/setup-llama-server.sh');
    return null;
  }
  const port = 18000 + Math.floor(Math.random() * 1000);
  const ctx = Math.ceil((ids.length + 16) / 256) * 256;
  const proc = spawn(LLAMA_SERVER, ['-m', gguf, '--port', String(port), '-t', String(threads), '-np', '1', '-c', String(ctx)], { stdio: 'ignore' });
  try {
    await waitHealthy(port, 300000);
    // node:http, not fetch: a long prompt keeps the response headers back for minutes (fetch gives up at 300 s).
    const body = (await postJson(port, '/completion', { prompt: ids, n_predict: 1, cache_prompt: false, temperature: 0 })) as {
      timings?: { prompt_n: number; prompt_ms: number };
    };
    if (!body.timings) throw new Error('llama-server: no timings in the /completion response');
    const tokS = (body.timings.prompt_n * 1000) / body.timings.prompt_ms;
    log(`llama-server prefill of ${body.timings.prompt_n} tokens: ${(body.timings.prompt_ms / 1000).toFixed(1)} s, ${tokS.toFixed(0)} tok/s`);
    return tokS;
  } finally {
    proc.kill('SIGTERM');
  }
}

/** POST a JSON body to the local server and parse the JSON answer, without a time limit. */
function postJson(port: number, path: string, payload: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(payload));
  });
}
