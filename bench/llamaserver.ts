// llama.cpp's own HTTP server on the serving workload of bench/serving.ts: N concurrent requests, each a
// 128-token prompt (token ids, so both sides see the same tokens) and 64 generated tokens (EOS ignored,
// greedy), through /v1/completions with streaming; aggregate generated tokens per second of wall time.
// Opt-in: needs scripts/setup-llama-server.sh (after npm run bench:setup); otherwise returns null.

import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/tensor/random.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const LLAMA_SERVER = join(HERE, '.llama-server', 'build', 'bin', 'llama-server');

async function waitHealthy(port: number, ms: number): Promise<void> {
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
  throw new Error('llama-server did not become healthy');
}

async function one(port: number, prompt: number[]): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: 64, temperature: 0, ignore_eos: true, stream: true, cache_prompt: false }),
  });
  let n = 0;
  const text = await r.text();
  for (const line of text.split('\n')) if (line.startsWith('data: {')) n++;
  return n;
}

/** Aggregate tok/s at each concurrency, or null when llama-server is not built. */
export async function benchLlamaServer(gguf: string, V: number, threads: number, log: (s: string) => void): Promise<Record<string, number> | null> {
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
    const out: Record<string, number> = {};
    for (const streams of [1, 16]) {
      const prompts = Array.from({ length: streams }, (_, i) => {
        const r = new Rng(5000 + i);
        return Array.from({ length: 128 }, () => 2 + r.int(V - 2));
      });
      const t0 = performance.now();
      const counts = await Promise.all(prompts.map((p) => one(port, p)));
      out[streams] = (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - t0);
      log(`llama-server, ${streams} stream(s) × (128 prompt + 64 generated): ${out[streams]!.toFixed(1)} tok/s aggregate`);
    }
    return out;
  } finally {
    proc.kill('SIGTERM');
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
