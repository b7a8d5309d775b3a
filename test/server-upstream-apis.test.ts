// glm5 as an upstream, as a real `glm5 serve` process: SGLang's native API (../shared/spec/sglang-generate.md) —
// /generate (non-streamed, cumulative and incremental streams, logprobs, resumption), /abort_request (aborted requests
// answer with their partial tokens), /v1/loads, /server_info and /model_info, JSON 501s for weight control, ledger
// rows — and vLLM's token-id completions (return_token_ids, stop_token_ids, token_id:N logprobs), read by the front
// end's own vLLM and SGLang clients.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { startServerProcess, type ServerProcess } from './server-helpers.js';
import { VllmClient } from '../src/upstream/vllm.js';
import { SglangClient } from '../src/upstream/sglang.js';
import type { EngineClient, UpstreamChunk } from '../src/upstream/types.js';
import { resolveSampling, samplingDefaults } from '../src/engine/sampling-params.js';

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
});

const PROMPT = [12, 40, 77, 301, 5, 9, 120, 64];
interface Out {
  text: string;
  output_ids: number[];
  meta_info: Record<string, unknown> & { finish_reason: { type: string; matched?: unknown; length?: number } | null };
}

async function generate(body: Record<string, unknown>): Promise<Out> {
  const r = await fetch(`${server.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as Out;
}

async function generateStream(body: Record<string, unknown>, onChunk: (c: Out) => void = () => {}): Promise<Out[]> {
  const r = await fetch(`${server.url}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  assert.equal(r.status, 200);
  const chunks: Out[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  let done = false;
  for await (const b of r.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(b, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const data = buf.slice(0, i).replace(/^data: /, '');
      buf = buf.slice(i + 2);
      if (data === '[DONE]') done = true;
      else {
        const c = JSON.parse(data) as Out;
        chunks.push(c);
        onChunk(c);
      }
    }
  }
  assert.ok(done, 'the stream ends with [DONE]');
  return chunks;
}

test('/generate: output_ids, finish_reason, token counts and logprobs, as slime reads them', async () => {
  const out = await generate({
    input_ids: PROMPT,
    sampling_params: { max_new_tokens: 12, temperature: 0, ignore_eos: true },
    return_logprob: true,
    top_logprobs_num: 2,
    rid: 'r-1',
  });
  assert.equal(out.output_ids.length, 12);
  assert.deepEqual(out.meta_info.finish_reason, { type: 'length', length: 12 });
  assert.equal(out.meta_info.id, 'r-1');
  assert.equal(out.meta_info.prompt_tokens, PROMPT.length);
  assert.equal(out.meta_info.completion_tokens, 12);
  assert.equal(typeof out.meta_info.cached_tokens, 'number');
  const lps = out.meta_info.output_token_logprobs as [number, number, null][];
  assert.deepEqual(
    lps.map((e) => e[1]),
    out.output_ids,
    'one [logprob, id, null] per generated token',
  );
  assert.ok(lps.every((e) => e[0] <= 0 && e[2] === null));
  const top = out.meta_info.output_top_logprobs as [number, number, null][][];
  assert.ok(top.every((t) => t.length === 2));
  // The same greedy tokens as the OpenAI completions endpoint for the same token-id prompt.
  const c = (await (
    await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'glm-5', prompt: PROMPT, max_tokens: 12, temperature: 0, ignore_eos: true }),
    })
  ).json()) as { choices: { text: string }[] };
  assert.equal(out.text, c.choices[0]!.text);
});

test('/generate streams: cumulative chunks by default, deltas on request; the same tokens as non-streamed', async () => {
  const body = { input_ids: PROMPT, sampling_params: { max_new_tokens: 10, temperature: 0, ignore_eos: true }, return_logprob: true };
  const full = await generate(body);
  const cum = await generateStream(body);
  for (let i = 1; i < cum.length; i++)
    assert.deepEqual(cum[i]!.output_ids.slice(0, cum[i - 1]!.output_ids.length), cum[i - 1]!.output_ids, 'each chunk extends the last');
  const last = cum.at(-1)!;
  assert.deepEqual(last.output_ids, full.output_ids);
  assert.equal(last.text, full.text);
  assert.deepEqual(last.meta_info.finish_reason, { type: 'length', length: 10 });
  assert.ok(cum.slice(0, -1).every((c) => c.meta_info.finish_reason === null));
  assert.equal((last.meta_info.output_token_logprobs as unknown[]).length, 10);
  const inc = await generateStream({ ...body, incremental_streaming_output: true });
  assert.deepEqual(
    inc.flatMap((c) => c.output_ids),
    full.output_ids,
  );
  assert.equal(inc.map((c) => c.text).join(''), full.text);
  assert.equal(inc.flatMap((c) => c.meta_info.output_token_logprobs as unknown[]).length, 10);
});

test('/generate resumes: resumed_output_ids (or prompt ‖ tokens as input_ids) continue a greedy run exactly', async () => {
  const sp = { temperature: 0, ignore_eos: true };
  const whole = await generate({ input_ids: PROMPT, sampling_params: { ...sp, max_new_tokens: 10 } });
  const head = whole.output_ids.slice(0, 4);
  const resumed = await generate({ input_ids: PROMPT, resumed_output_ids: head, sampling_params: { ...sp, max_new_tokens: 6 } });
  assert.deepEqual(resumed.output_ids, whole.output_ids.slice(4));
  assert.equal(resumed.meta_info.prompt_tokens, PROMPT.length + 4);
  const asPrompt = await generate({ input_ids: [...PROMPT, ...head], sampling_params: { ...sp, max_new_tokens: 6 } });
  assert.deepEqual(asPrompt.output_ids, whole.output_ids.slice(4));
});

test('/generate stop ids: the matched token is in output_ids and named; stop strings kept with no_stop_trim', async () => {
  const whole = await generate({ input_ids: PROMPT, sampling_params: { temperature: 0, ignore_eos: true, max_new_tokens: 8 } });
  const target = whole.output_ids[3]!;
  const stopped = await generate({ input_ids: PROMPT, sampling_params: { temperature: 0, ignore_eos: true, max_new_tokens: 8, stop_token_ids: [target] } });
  const at = whole.output_ids.indexOf(target);
  assert.deepEqual(stopped.output_ids, whole.output_ids.slice(0, at + 1));
  assert.deepEqual(stopped.meta_info.finish_reason, { type: 'stop', matched: target });
  const stop = whole.text.slice(3, 5);
  const trimmed = await generate({ input_ids: PROMPT, sampling_params: { temperature: 0, ignore_eos: true, max_new_tokens: 8, stop } });
  assert.equal(trimmed.text, whole.text.slice(0, whole.text.indexOf(stop)));
  assert.deepEqual(trimmed.meta_info.finish_reason, { type: 'stop', matched: stop });
  const kept = await generate({ input_ids: PROMPT, sampling_params: { temperature: 0, ignore_eos: true, max_new_tokens: 8, stop, no_stop_trim: true } });
  assert.equal(kept.text, trimmed.text + stop);
});

test('/abort_request: an aborted request answers with its partial tokens (streamed, and non-streamed via abort_all)', async () => {
  const long = { input_ids: PROMPT, sampling_params: { max_new_tokens: 3000, temperature: 0, ignore_eos: true } };
  let sent = false;
  const chunks = await generateStream({ ...long, rid: 'to-abort' }, (c) => {
    if (!sent && c.output_ids.length >= 3) {
      sent = true;
      void fetch(`${server.url}/abort_request`, { method: 'POST', body: JSON.stringify({ rid: 'to-abort' }) });
    }
  });
  const last = chunks.at(-1)!;
  assert.equal(last.meta_info.finish_reason!.type, 'abort');
  assert.ok(last.output_ids.length >= 3 && last.output_ids.length < 3000, `${last.output_ids.length} partial tokens`);
  const pending = generate({ ...long, rid: 'non-streamed' });
  await new Promise((r) => setTimeout(r, 300));
  const loads = (await (await fetch(`${server.url}/v1/loads?include=core`)).json()) as { loads: { num_running_reqs: number; num_waiting_reqs: number }[] };
  assert.equal(loads.loads[0]!.num_running_reqs + loads.loads[0]!.num_waiting_reqs, 1);
  const ab = (await (await fetch(`${server.url}/abort_request`, { method: 'POST', body: JSON.stringify({ abort_all: true }) })).json()) as { aborted: number };
  assert.equal(ab.aborted, 1);
  const out = await pending;
  assert.equal(out.meta_info.finish_reason!.type, 'abort');
  assert.ok(out.output_ids.length > 0 && out.output_ids.length < 3000);
});

test("server_info / model_info / loads / health_generate answer as SGLang's do; weight control is a JSON 501", async () => {
  const info = (await (await fetch(`${server.url}/server_info`)).json()) as Record<string, unknown>;
  for (const [k, v] of Object.entries({
    engine: 'glm5',
    tp_size: 1,
    dp_size: 1,
    pp_size: 1,
    ep_size: 1,
    disaggregation_mode: null,
    enable_memory_saver: false,
  }))
    assert.equal(info[k], v, k);
  assert.deepEqual(await (await fetch(`${server.url}/get_server_info`)).json(), info);
  const mi = (await (await fetch(`${server.url}/model_info`)).json()) as Record<string, unknown>;
  assert.equal(mi.is_generation, true);
  assert.equal(mi.weight_version, 'default');
  assert.equal((await fetch(`${server.url}/health_generate`)).status, 200);
  const r = await fetch(`${server.url}/flush_cache`, { method: 'POST' });
  assert.equal(r.status, 501);
  assert.match(((await r.json()) as { error: { message: string } }).error.message, /not implemented/);
  const bad = await fetch(`${server.url}/generate`, { method: 'POST', body: JSON.stringify({ input_ids: [[1, 2], [3]] }) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /batched/);
});

test('/generate requests have ledger rows with the tokens they returned', () => {
  const db = new Database(server.db, { readonly: true });
  const rows = db.prepare("SELECT prompt_tokens AS p, completion_tokens AS n, finish_reason AS f, status FROM ledger WHERE endpoint = 'generate'").all() as {
    p: number;
    n: number;
    f: string;
    status: number;
  }[];
  db.close();
  assert.ok(rows.length >= 10);
  assert.ok(rows.some((r) => r.p === PROMPT.length && r.n === 12 && r.f === 'length' && r.status === 200));
  assert.ok(rows.some((r) => r.f === 'abort' && r.status === 499));
});

async function completions(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'glm-5', prompt: PROMPT, temperature: 0, ignore_eos: true, ...body }),
  });
}

test("vLLM token-id completions: prompt_token_ids and token_ids (streamed: prompt ids once, then each chunk's new ids), stop_token_ids", async () => {
  const ref = await generate({ input_ids: PROMPT, sampling_params: { max_new_tokens: 10, temperature: 0, ignore_eos: true } });
  const whole = (await (await completions({ max_tokens: 10, return_token_ids: true })).json()) as {
    choices: { token_ids: number[]; prompt_token_ids: number[]; text: string }[];
  };
  assert.deepEqual(whole.choices[0]!.token_ids, ref.output_ids);
  assert.deepEqual(whole.choices[0]!.prompt_token_ids, PROMPT);
  const text = await (await completions({ max_tokens: 10, return_token_ids: true, stream: true, logprobs: 1, return_tokens_as_token_ids: true })).text();
  const chunks = text
    .split('\n\n')
    .filter((f) => f.startsWith('data: {'))
    .map(
      (f) =>
        JSON.parse(f.slice(6)) as {
          choices: { token_ids: number[]; prompt_token_ids?: number[]; logprobs: { tokens: string[]; top_logprobs: Record<string, number>[] } | null }[];
        },
    );
  assert.deepEqual(
    chunks.flatMap((c) => c.choices[0]!.token_ids),
    ref.output_ids,
  );
  assert.deepEqual(chunks[0]!.choices[0]!.prompt_token_ids, PROMPT);
  assert.ok(
    chunks.slice(1).every((c) => c.choices[0]!.prompt_token_ids === undefined),
    'prompt ids once',
  );
  const named = chunks.flatMap((c) => c.choices[0]!.logprobs?.tokens ?? []);
  assert.deepEqual(
    named,
    ref.output_ids.map((id) => `token_id:${id}`),
  );
  assert.ok(chunks.every((c) => Object.keys(c.choices[0]!.logprobs?.top_logprobs[0] ?? { 'token_id:0': 0 }).every((k) => /^token_id:\d+$/.test(k))));
  const target = ref.output_ids[2]!;
  const stopped = (await (await completions({ max_tokens: 10, return_token_ids: true, stop_token_ids: [target] })).json()) as {
    choices: { token_ids: number[]; finish_reason: string }[];
  };
  assert.deepEqual(stopped.choices[0]!.token_ids, ref.output_ids.slice(0, ref.output_ids.indexOf(target) + 1));
  assert.equal(stopped.choices[0]!.finish_reason, 'stop');
});

/** Runs one call through a front-end client against this server; the ids, logprob ids and the end chunk. */
async function viaClient(
  client: EngineClient,
  resumed: number[],
  maxTokens: number,
): Promise<{ ids: number[]; lps: number[]; end: UpstreamChunk | undefined }> {
  const sampling = resolveSampling(samplingDefaults({}), { temperature: 0, ignoreEos: true, logprobs: 1 });
  const stream = await client.generate({
    rid: `c-${Math.random()}`,
    prompt: PROMPT,
    resumed,
    maxTokens,
    sampling,
    stopIds: [],
    logprobs: 1,
    signal: AbortSignal.timeout(20_000),
    recoverIds: () => null,
  });
  const ids: number[] = [],
    lps: number[] = [];
  let end: UpstreamChunk | undefined;
  for await (const c of stream) {
    if (c.type === 'tokens') {
      for (const id of c.ids) ids.push(id);
      for (const l of c.logprobs ?? []) lps.push(l.id);
    } else end = c;
  }
  return { ids, lps, end };
}

test("the front end's vLLM, SGLang and glm5 clients read glm5 replicas exactly, resumption included", async () => {
  const ref = await generate({ input_ids: PROMPT, sampling_params: { max_new_tokens: 10, temperature: 0, ignore_eos: true } });
  for (const client of [new VllmClient(server.url, 'glm-5'), new SglangClient(server.url, 'sglang'), new SglangClient(server.url, 'glm5')]) {
    const all = await viaClient(client, [], 10);
    assert.deepEqual(all.ids, ref.output_ids, client.kind);
    assert.deepEqual(all.lps, ref.output_ids, `${client.kind} logprobs`);
    assert.deepEqual(all.end, { type: 'end', finish: 'length', promptTokens: PROMPT.length, cachedTokens: (all.end as { cachedTokens: number }).cachedTokens });
    const rest = await viaClient(client, ref.output_ids.slice(0, 4), 6);
    assert.deepEqual(rest.ids, ref.output_ids.slice(4), `${client.kind} resumed`);
    assert.ok(await client.health(2000));
    assert.equal(await client.load(2000), 0);
  }
});
