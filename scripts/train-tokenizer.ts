// Trains the preset tokenizer from the shipped corpus and writes assets/tokenizer/tokenizer.json (committed).
// Run: node --import tsx scripts/train-tokenizer.ts   (deterministic: same corpus → same file)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { glmTokenizerJson, preTokenize, trainBpe } from '../src/text/bpe-trainer.js';
import { GLM5_ADDED_TOKENS } from '../src/text/special-tokens.js';

const assets = fileURLToPath(new URL('../assets/tokenizer/', import.meta.url));
const corpus = readFileSync(assets + 'corpus.txt', 'utf8');
const t0 = performance.now();
const model = trainBpe(preTokenize(corpus), { maxMerges: 3000, minPairCount: 2 });
const json = glmTokenizerJson(model, GLM5_ADDED_TOKENS);
writeFileSync(assets + 'tokenizer.json', JSON.stringify(json) + '\n');
console.log(
  `tokenizer.json: ${model.vocab.length} base tokens (${model.merges.length} merges) + ${GLM5_ADDED_TOKENS.length} added, ` +
    `trained on ${corpus.length} chars in ${(performance.now() - t0).toFixed(0)} ms`,
);
