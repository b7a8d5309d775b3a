// Checks bench/q4_0.ts (the Q4_0 rule the accuracy comparison uses) against llama.cpp's own `llama-quantize`: the
// bundled model is exported to a bf16 GGUF, quantised with `llama-quantize --pure … Q4_0`, and every Q4_0 block of
// the output is compared with q4_0Block applied to the same bf16 values. Needs llama.cpp's tools built from the
// source `npm run bench:setup` brings (scripts/setup-llama-tools.sh). llama.cpp cannot run the bundled model itself
// (its glm-dsa indexer needs index_head_dim ≥ 64; the model has 32), so its perplexity is measured here through
// glm5 with the verified Q4_0 weights (bench/quant-accuracy.ts), not with llama-perplexity.
//
//   node --import tsx bench/q4-llamacpp.ts [--json]

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exportGguf } from '../src/gguf/export.js';
import { bf16ToF32 } from '../src/tensor/dtype.js';
import { q4_0Block } from './q4_0.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bench', '.llama-server', 'build', 'bin');

interface GgufTensor {
  readonly name: string;
  readonly ne: number[];
  readonly type: number;
  readonly offset: number;
}

/** Tensor infos and the data start of a GGUF file (header, metadata skipped by type). */
function readGguf(buf: Buffer): { tensors: GgufTensor[]; dataStart: number } {
  let p = 8; // magic, version
  const u32 = () => {
    p += 4;
    return buf.readUInt32LE(p - 4);
  };
  const u64 = () => {
    p += 8;
    return Number(buf.readBigUInt64LE(p - 8));
  };
  const str = () => {
    const n = u64();
    p += n;
    return buf.toString('utf8', p - n, p);
  };
  const SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const skip = (t: number): void => {
    if (t === 8) str();
    else if (t === 9) {
      const it = u32(),
        n = u64();
      for (let i = 0; i < n; i++) skip(it);
    } else p += SIZE[t]!;
  };
  const nT = u64(),
    nKv = u64();
  let align = 32;
  for (let i = 0; i < nKv; i++) {
    const key = str(),
      t = u32();
    if (key === 'general.alignment' && t === 4) align = u32();
    else skip(t);
  }
  const tensors: GgufTensor[] = [];
  for (let i = 0; i < nT; i++) {
    const name = str(),
      nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    tensors.push({ name, ne, type: u32(), offset: u64() });
  }
  return { tensors, dataStart: Math.ceil(p / align) * align };
}

const BF16 = 30,
  Q4_0 = 2;

export interface Q4Check {
  readonly tensors: number;
  readonly blocks: number;
  /** Blocks whose scale and 16 bytes of values equal q4_0Block's. */
  readonly identical: number;
}

/** null when llama.cpp's tools are not built. */
export function checkQ4_0AgainstLlamaQuantize(modelDir = join(ROOT, 'models', 'glm5-nano')): Q4Check | null {
  const quantize = join(BIN, 'llama-quantize');
  if (!existsSync(quantize)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'glm5-q4-'));
  try {
    const src = join(dir, 'bf16.gguf'),
      out = join(dir, 'q4_0.gguf');
    exportGguf(modelDir, src, { dtype: 'bf16', force: true });
    execFileSync(quantize, ['--pure', src, out, 'Q4_0', '2'], { env: { ...process.env, LD_LIBRARY_PATH: BIN }, stdio: 'ignore' });
    const a = readFileSync(src),
      b = readFileSync(out);
    const ga = readGguf(a),
      gb = readGguf(b);
    const byName = new Map(ga.tensors.map((t) => [t.name, t]));
    let tensors = 0,
      blocks = 0,
      identical = 0;
    const q = new Int8Array(32),
      row = new Float32Array(32);
    for (const t of gb.tensors) {
      const s = byName.get(t.name);
      if (t.type !== Q4_0 || !s || s.type !== BF16 || t.ne[0]! % 32) continue;
      tensors++;
      const n = t.ne.reduce((x, y) => x * y, 1);
      for (let i = 0; i < n / 32; i++) {
        for (let j = 0; j < 32; j++) row[j] = bf16ToF32(a.readUInt16LE(ga.dataStart + s.offset + 2 * (32 * i + j)));
        const d = q4_0Block(row, 0, 32, q);
        const o = gb.dataStart + t.offset + 18 * i;
        let same = b.readUInt16LE(o) === d;
        for (let j = 0; j < 16 && same; j++) same = b[o + 2 + j] === (((q[j]! + 8) & 15) | (((q[j + 16]! + 8) & 15) << 4));
        blocks++;
        if (same) identical++;
      }
    }
    return { tensors, blocks, identical };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = checkQ4_0AgainstLlamaQuantize();
  if (process.argv.includes('--json')) console.log(JSON.stringify(r));
  else if (!r) console.log(`llama-quantize not built (${BIN}): npm run bench:setup, then scripts/setup-llama-tools.sh`);
  else console.log(`q4_0Block vs llama-quantize --pure Q4_0: ${r.identical}/${r.blocks} blocks identical over ${r.tensors} tensors`);
}
