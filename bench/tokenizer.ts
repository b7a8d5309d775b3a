// Tokenizer speed: encodes ~1 MB of mixed text (prose, code, JSON, CJK) with a checkpoint tokenizer, plain mode.
// Standalone: node --import tsx bench/tokenizer.ts [DIR]   (default: the preset tokenizer glm5 init writes)

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/text/tokenizer.js';
import { writePresetTextFiles } from '../src/text/preset.js';

const MB = 1 << 20;

function benchText(): string {
  // The shipped corpus repeated, each copy numbered so the pre-tokenizer does not just see one string again.
  const corpus = readFileSync(fileURLToPath(new URL('../assets/tokenizer/corpus.txt', import.meta.url)), 'utf8');
  let text = '';
  for (let i = 0; text.length < MB; i++) text += `\n## copy ${i}\n` + corpus;
  return text.slice(0, MB);
}

export async function benchTokenizer(dir?: string): Promise<{ encode_tok_s: number; mb: number }> {
  let tmp: string | undefined;
  if (!dir) {
    tmp = mkdtempSync(join(tmpdir(), 'glm5-bench-tok-'));
    writePresetTextFiles(tmp);
  }
  try {
    const tok = Tokenizer.fromDir(dir ?? tmp!);
    const text = benchText();
    const mb = Buffer.byteLength(text) / MB;
    tok.encode(text.slice(0, 20000), { special: false }); // warm-up (regex compilation, caches)
    let best = Infinity;
    let n = 0;
    for (let rep = 0; rep < 3; rep++) {
      const t0 = performance.now();
      n = tok.encode(text, { special: false }).length;
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return { encode_tok_s: Math.round(n / best), mb: Number(mb.toFixed(2)) };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await benchTokenizer(process.argv[2]);
  console.log(JSON.stringify(r));
}
