// The project's one tokenizer trainer: a byte-level BPE with the project's own trainer (src/text/bpe-trainer.ts),
// GLM-5's pre-tokenizer and its 36 added tokens numbered right after the base vocabulary, a standard tokenizer.json.
// Run: node --import tsx train/tokenizer/train-tokenizer.ts [--whole] CORPUS.txt VOCAB_SIZE OUT/tokenizer.json
// VOCAB_SIZE counts everything (256 byte symbols + merges + 36 added tokens); deterministic for a given corpus.
// The corpus is pre-tokenized line by line (how glm5-nano's tokenizer was made: the JS pre-tokenizer is happier
// with many small inputs than one 5 MB string); --whole pre-tokenizes it as one text, which keeps runs of newlines
// together (how the preset tokenizer `glm5 init` ships was made):
//   train/tokenizer/train-tokenizer.ts train/.work/tokenizer_corpus.txt 8192 train/.work/tokenizer.json   (glm5-nano)
//   train/tokenizer/train-tokenizer.ts --whole assets/tokenizer/corpus.txt 3292 assets/tokenizer/tokenizer.json   (preset)

import { readFileSync, writeFileSync } from 'node:fs';
import { glmTokenizerJson, preTokenize, trainBpe } from '../../src/text/bpe-trainer.js';
import { GLM5_ADDED_TOKENS } from '../../src/text/special-tokens.js';

const args = process.argv.slice(2);
const whole = args[0] === '--whole';
const [corpusPath, vocabArg, outPath] = whole ? args.slice(1) : args;
const vocabSize = Number(vocabArg);
if (!corpusPath || !outPath || !Number.isInteger(vocabSize) || vocabSize <= 256 + GLM5_ADDED_TOKENS.length) {
  console.error('usage: train-tokenizer.ts [--whole] CORPUS.txt VOCAB_SIZE OUT/tokenizer.json  (VOCAB_SIZE > 292)');
  process.exit(2);
}
const corpus = readFileSync(corpusPath, 'utf8');
const t0 = performance.now();
let pieces: string[];
if (whole) pieces = preTokenize(corpus);
else {
  pieces = [];
  for (const line of corpus.split('\n')) if (line) for (const p of preTokenize(line + '\n')) pieces.push(p);
}
const t1 = performance.now();
const model = trainBpe(pieces, { maxMerges: vocabSize - 256 - GLM5_ADDED_TOKENS.length, minPairCount: 2 });
const json = glmTokenizerJson(model, GLM5_ADDED_TOKENS);
writeFileSync(outPath, JSON.stringify(json) + '\n');
console.log(
  `${outPath}: ${model.vocab.length} base tokens (${model.merges.length} merges) + ${GLM5_ADDED_TOKENS.length} added = ` +
    `${model.vocab.length + GLM5_ADDED_TOKENS.length}; ${corpus.length} chars, pre-tokenize ${((t1 - t0) / 1000).toFixed(1)} s, ` +
    `merges ${((performance.now() - t1) / 1000).toFixed(1)} s`,
);
