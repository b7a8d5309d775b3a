// Accuracy cost of `--quantize int8` (symmetric int8, one f32 scale per 32 columns) against the same
// checkpoint's own weights, measured on logits: node --import tsx bench/int8-accuracy.ts [DIR ...]

import { GlmModel } from '../src/model/model.js';
import { selectOps } from '../src/kernels/select.js';
import { Rng } from '../src/tensor/random.js';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push('../shared/golden/glm5-tiny/model', 'bench/.models/small-bf16');
for (const dir of dirs) {
  const ops = selectOps('auto');
  const a = GlmModel.load(dir, { ops });
  const b = GlmModel.load(dir, { ops, quantize: 'int8' });
  const rng = new Rng(1);
  const ids = Array.from({ length: 64 }, () => rng.int(a.cfg.vocabSize));
  const la = a.forward(ids, a.newCache()).logits;
  const lb = b.forward(ids, b.newCache()).logits;
  const V = a.cfg.vocabSize;
  let maxD = 0,
    maxRef = 0,
    agree = 0;
  for (let t = 0; t < ids.length; t++) {
    let ia = 0,
      ib = 0;
    for (let v = 0; v < V; v++) {
      const x = la[t * V + v]!,
        y = lb[t * V + v]!;
      maxD = Math.max(maxD, Math.abs(x - y));
      maxRef = Math.max(maxRef, Math.abs(x));
      if (x > la[t * V + ia]!) ia = v;
      if (y > lb[t * V + ib]!) ib = v;
    }
    if (ia === ib) agree++;
  }
  console.log(
    `${dir}: int8 vs original weights over ${ids.length} positions: max |Δlogit| ${maxD.toExponential(2)} (max |logit| ${maxRef.toFixed(3)}, relative ${(maxD / maxRef).toExponential(2)}), argmax agrees ${agree}/${ids.length}`,
  );
}
