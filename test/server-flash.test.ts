// A GLM-4.7-Flash (glm4_moe_lite) checkpoint through `glm5 serve`: one greedy chat request gives the same
// answer with MTP speculation on (its drafter has its own embedding and head) and off.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { tinyFlashCheckpoint } from './helpers/tmp-model.js';
import { startServerProcess, type ServerProcess } from './server-helpers.js';

let plain: ServerProcess;
let spec: ServerProcess;

before(async () => {
  const dir = tinyFlashCheckpoint({ seed: 5, textFiles: true, overrides: { num_nextn_predict_layers: 1 } });
  [plain, spec] = await Promise.all([startServerProcess(['--speculative', '0'], dir), startServerProcess(['--speculative', '2'], dir)]);
});
after(async () => {
  assert.equal(await plain.stop(), 0);
  assert.equal(await spec.stop(), 0);
});

test('glm4_moe_lite served: greedy chat with speculation on = off', async () => {
  const ask = async (s: ServerProcess) => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const r = await client.chat.completions.create({
      model: 'glm-5',
      messages: [{ role: 'user', content: 'Name three colours.' }],
      temperature: 0,
      max_tokens: 24,
    });
    return { text: r.choices[0]!.message.content, finish: r.choices[0]!.finish_reason, tokens: r.usage!.completion_tokens };
  };
  const [a, b] = [await ask(plain), await ask(spec)];
  assert.deepEqual(b, a);
  assert.ok(a.tokens > 0);
  const metrics = await (await fetch(`${spec.url}/metrics`)).text();
  const drafted = Number(/^glm5_spec_draft_tokens (\S+)/m.exec(metrics)?.[1]);
  assert.ok(drafted > 0, `the MTP drafter proposed tokens (glm5_spec_draft_tokens ${drafted})`);
});
