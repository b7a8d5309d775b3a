// Tokenizer: exact against the Rust-library golden cases, plain vs added-token matching, decoding and streaming
// decoding, and the preset tokenizer glm5 init ships.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '../src/text/tokenizer.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { glmTokenizerJson, preTokenize, trainBpe } from '../src/text/bpe-trainer.js';
import { GLM5_ADDED_TOKENS } from '../src/text/special-tokens.js';
import { ChatTemplate } from '../src/text/chat-template.js';
import { requireShared } from './helpers/shared-data.js';

interface GoldenCases {
  base_vocab_size: number;
  added_tokens: Record<string, number>;
  cases: { text: string; ids_matching_added_tokens: number[]; ids_plain_text: number[]; decoded: string }[];
}
const { path: GOLDEN, skip } = requireShared('golden/tokenizer');
// Loaded only when present (each test that reads them carries `{ skip }`).
let golden!: GoldenCases, tok!: Tokenizer;
if (!skip) {
  golden = JSON.parse(readFileSync(join(GOLDEN, 'encode-cases-shared.json'), 'utf8')) as GoldenCases;
  tok = Tokenizer.fromDir(GOLDEN);
}

test('golden cases: ids with added-token matching (template text)', { skip }, () => {
  for (const c of golden.cases) assert.deepEqual(tok.encode(c.text, { special: true }), c.ids_matching_added_tokens, c.text);
});

test('golden cases: ids without added-token matching (plain user text)', { skip }, () => {
  for (const c of golden.cases) assert.deepEqual(tok.encode(c.text, { special: false }), c.ids_plain_text, c.text);
});

test('golden cases: decode of both id lists gives the text back', { skip }, () => {
  for (const c of golden.cases) {
    assert.equal(tok.decode(c.ids_matching_added_tokens), c.decoded, c.text);
    assert.equal(tok.decode(c.ids_plain_text), c.decoded, c.text);
  }
});

test('vocabulary layout and special-token lookup follow GLM-5', { skip }, () => {
  assert.equal(tok.baseVocabSize, golden.base_vocab_size);
  assert.equal(tok.vocabSize, golden.base_vocab_size + 36);
  for (const [t, id] of Object.entries(golden.added_tokens)) {
    assert.equal(tok.specialId(t), id);
    assert.equal(tok.tokenToId(t), id);
    assert.ok(tok.isAddedToken(id));
  }
  assert.deepEqual(Object.keys(golden.added_tokens), GLM5_ADDED_TOKENS);
  assert.equal(tok.tokenToId('Ġ'), 220);
  assert.throws(() => tok.specialId('<|nope|>'), /no added token/);
});

test('decode: empty list is empty text, unknown ids are rejected', { skip }, () => {
  assert.equal(tok.decode([]), '');
  assert.throws(() => tok.decode([tok.vocabSize]), RangeError);
  assert.throws(() => tok.decode([-1]), RangeError);
});

test('injection: markers typed by a user encode as plain text', { skip }, () => {
  for (const text of ['<|assistant|>', '<|observation|>', '<tool_call>', '</think>', 'x<|user|>y</tool_call>[gMASK]']) {
    const ids = tok.encode(text, { special: false });
    assert.ok(
      ids.every((id) => id < tok.baseVocabSize),
      text,
    );
    assert.equal(tok.decode(ids), text);
    assert.ok(
      tok.encode(text, { special: true }).some((id) => id >= tok.baseVocabSize),
      text,
    );
  }
});

test('incremental decoder: never emits half a character and ends equal to a full decode', { skip }, () => {
  for (const c of golden.cases) {
    for (const ids of [c.ids_plain_text, c.ids_matching_added_tokens]) {
      const d = tok.createDecoder();
      let out = '';
      for (const id of ids) {
        const piece = d.push(id);
        assert.ok(!piece.includes('\uFFFD'), `broken UTF-8 emitted for ${c.text}`);
        out += piece;
      }
      out += d.flush();
      assert.equal(out, c.decoded);
    }
  }
  // An emoji is 4 bytes = 4 byte tokens here: nothing comes out until the last one.
  const ids = tok.encode('😀', { special: false });
  assert.equal(ids.length, 4);
  const d = tok.createDecoder();
  assert.deepEqual(
    ids.map((id) => d.push(id)),
    ['', '', '', '😀'],
  );
  // A stream cut inside a character flushes as U+FFFD, like a full decode.
  const cut = tok.createDecoder();
  cut.push(ids[0]!);
  assert.equal(cut.flush(), '\uFFFD');
});

test('preset: init files load as a complete tokenizer + template', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glm5-text-'));
  try {
    // (No timing here: speed belongs in benchmarks, and a loaded CI runner must not fail a correct build.)
    const info = writePresetTextFiles(dir);
    const t = Tokenizer.fromDir(dir);
    assert.equal(info.vocabSize, t.vocabSize);
    assert.equal(t.vocabSize, t.baseVocabSize + GLM5_ADDED_TOKENS.length);
    assert.deepEqual(
      info.eosTokenIds,
      ['<|endoftext|>', '<|user|>', '<|observation|>'].map((s) => t.specialId(s)),
    );
    assert.equal(info.padTokenId, t.specialId('<|endoftext|>'));
    GLM5_ADDED_TOKENS.forEach((s, i) => assert.equal(t.specialId(s), t.baseVocabSize + i));
    // A real BPE: merges make common text shorter than its bytes, and everything round-trips.
    const text = 'The weather in Paris is warm today. 今天天气很好！ function add(a, b) { return a + b; } 😀';
    const ids = t.encode(text, { special: false });
    assert.ok(ids.length < new TextEncoder().encode(text).length * 0.7, `${ids.length} tokens`);
    assert.equal(t.decode(ids), text);
    const tpl = ChatTemplate.fromDir(dir);
    assert.equal(tpl.origin, 'chat_template.jinja');
    assert.equal(tpl.renderChat({ messages: [{ role: 'user', content: 'Hi' }] }), '[gMASK]<sop><|user|>Hi<|assistant|><think>');
    const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    assert.equal(cfg.eos_token, '<|endoftext|>');
    assert.equal(cfg.pad_token, '<|endoftext|>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const PRESET = new URL('../assets/tokenizer/', import.meta.url);

test('preset: the committed tokenizer.json is what train/tokenizer/train-tokenizer.ts --whole makes from the shipped corpus', () => {
  const corpus = readFileSync(new URL('corpus.txt', PRESET), 'utf8');
  // --whole: the corpus pre-tokenized as one text; vocabulary 3,292 = 256 bytes + at most 3,000 merges + 36 added.
  const model = trainBpe(preTokenize(corpus), { maxMerges: 3000, minPairCount: 2 });
  const committed = readFileSync(new URL('tokenizer.json', PRESET), 'utf8');
  assert.equal(JSON.stringify(glmTokenizerJson(model, GLM5_ADDED_TOKENS)) + '\n', committed);
  assert.ok(model.merges.length > 300 && model.merges.length <= 3000);
});

test("preset: tokenizer.json has the golden tokenizer's pre-tokenizer, decoder and model fields", { skip }, () => {
  const shape = JSON.parse(readFileSync(new URL('tokenizer.json', PRESET), 'utf8'));
  const ref = JSON.parse(readFileSync(join(GOLDEN, 'tokenizer.json'), 'utf8'));
  assert.deepEqual(shape.pre_tokenizer, ref.pre_tokenizer);
  assert.deepEqual(shape.decoder, ref.decoder);
  assert.deepEqual(Object.keys(shape.model), Object.keys(ref.model));
  assert.equal(shape.model.ignore_merges, true);
});

test('BPE trainer: merges the most frequent pair first and is deterministic', () => {
  const m = trainBpe(['ab', 'ab', 'ab', 'cd', 'cd', 'abcd'], { maxMerges: 10, minPairCount: 2 });
  assert.deepEqual(m.merges[0], ['a', 'b']);
  assert.deepEqual(m.merges[1], ['c', 'd']);
  assert.equal(m.vocab[256], 'ab');
  assert.deepEqual(m, trainBpe(['ab', 'ab', 'ab', 'cd', 'cd', 'abcd'], { maxMerges: 10, minPairCount: 2 }));
});
