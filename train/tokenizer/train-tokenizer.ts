// Trains glm5-nano's byte-level BPE tokenizer with the project's own trainer (src/text/bpe-trainer.ts): GLM-5's
// pre-tokenizer and its 36 added tokens numbered right after the base vocabulary, a standard tokenizer.json.
// Run: node --import tsx train/tokenizer/train-tokenizer.ts CORPUS.txt VOCAB_SIZE OUT/tokenizer.json
// VOCAB_SIZE counts everything (256 byte symbols + merges + 36 added tokens); deterministic for a given corpus.

import { readFileSync, writeFileSync } from 'node:fs';
import { glmTokenizerJson, preTokenize, trainBpe } from '../../src/text/bpe-trainer.js';
import { GLM5_ADDED_TOKENS } from '../../src/text/special-tokens.js';

const [corpusPath, vocabArg, outPath] = process.argv.slice(2);
if (!corpusPath || !vocabArg || !outPath) {
  console.error('usage: train-tokenizer.ts CORPUS.txt VOCAB_SIZE OUT/tokenizer.json');
  process.exit(2);
}
const vocabSize = Number(vocabArg);
const corpus = readFileSync(corpusPath, 'utf8');
const t0 = performance.now();
// pre-tokenize line by line: the JS pre-tokenizer is happier with many small inputs than one 5 MB string
const pieces: string[] = [];
for (const line of corpus.split('\n')) if (line) for (const p of preTokenize(line + '\n')) pieces.push(p);
const t1 = performance.now();
const model = trainBpe(pieces, { maxMerges: vocabSize - 256 - GLM5_ADDED_TOKENS.length, minPairCount: 2 });
const json = glmTokenizerJson(model, GLM5_ADDED_TOKENS);
writeFileSync(outPath, JSON.stringify(json) + '\n');
console.log(
  `${outPath}: ${model.vocab.length} base tokens (${model.merges.length} merges) + ${GLM5_ADDED_TOKENS.length} added = ` +
    `${model.vocab.length + GLM5_ADDED_TOKENS.length}; ${corpus.length} chars, pre-tokenize ${((t1 - t0) / 1000).toFixed(1)} s, ` +
    `merges ${((performance.now() - t1) / 1000).toFixed(1)} s`,
);
