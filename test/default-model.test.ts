// The bundled default model (models/glm5-nano, trained by train/): its folder loads with the project's loader, greedy
// decoding answers "What is a X?" with one English sentence about X (the noun asked is the subject), after a <think>
// part that names it when thinking is on, and answers small talk. Skipped until the model folder exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '../src/cli/default-model.js';
import { GlmModel } from '../src/model/model.js';
import { selectOps } from '../src/kernels/select.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { ChatTemplate } from '../src/text/chat-template.js';

const HAVE_MODEL = existsSync(join(DEFAULT_MODEL_DIR, 'config.json'));
const skip = HAVE_MODEL ? false : 'models/glm5-nano is not in this checkout yet';

function answer(prompt: string, thinking: boolean): string {
  const model = GlmModel.load(DEFAULT_MODEL_DIR, { ops: selectOps('auto') });
  const tok = Tokenizer.fromDir(DEFAULT_MODEL_DIR);
  const ids = ChatTemplate.fromDir(DEFAULT_MODEL_DIR).encodeChat(
    { messages: [{ role: 'user', content: prompt }], thinking, addGenerationPrompt: true },
    tok,
  ).ids;
  const stops = new Set(model.cfg.eosTokenIds);
  const cache = model.newCache(ids.length + 101);
  let r = model.forward(ids, cache, { logits: 'last' });
  const out: number[] = [];
  for (let i = 0; i < 100; i++) {
    let best = 0;
    for (let v = 1; v < model.cfg.vocabSize; v++) if (r.logits[v]! > r.logits[best]!) best = v;
    if (stops.has(best)) break;
    out.push(best);
    r = model.forward([best], cache, { logits: 'last' });
  }
  return tok.decode(out);
}

test('glm5-nano: config is a glm_moe_dsa checkpoint with an MTP layer and DSA beyond 128 tokens', { skip }, () => {
  const model = GlmModel.load(DEFAULT_MODEL_DIR, { ops: selectOps('auto') });
  assert.equal(model.cfg.numNextnPredictLayers, 1);
  assert.equal(model.weights.mtp.length, 1, 'the MTP layer tensors load');
  assert.ok(model.cfg.indexTopk < 512, 'index_topk below the training length');
});

test('glm5-nano: "What is a X?" gets one English sentence about X (thinking off)', { skip }, () => {
  for (const noun of ['cat', 'dog', 'house', 'computer']) {
    const text = answer(`What is a ${noun}?`, false);
    assert.match(text, new RegExp(`^A ${noun} is [a-z][A-Za-z ,;:()'-]*\\.$`), text);
  }
});

test('glm5-nano: with thinking on, a <think>…</think> part about the noun precedes the answer', { skip }, () => {
  const text = answer('What is a cat?', true);
  const [thought, rest] = text.split('</think>');
  assert.ok(rest !== undefined && thought!.startsWith('The user asks what a cat is.'), text);
  assert.match(rest!, /^A cat is .+\.$/, text);
});

test('glm5-nano: small talk', { skip }, () => {
  assert.equal(answer('Hello!', false), 'Hello! How can I help you today?');
});
