// Child process of bench/int4.ts: loads a checkpoint with `--quantize int4` and prints its peak resident set
// (VmHWM of /proc/self/status) as JSON, so the measurement holds that load alone.
//
//   node --import tsx bench/int4-load-rss.ts DIR [int4 | int4-keep]
//     int4       GlmModel.load(DIR, { quantize: 'int4' }): tensor by tensor, each source's pages released
//     int4-keep  the same conversion without releasing the source pages (what the peak would be otherwise)

import { readFileSync } from 'node:fs';
import { GlmModel, mapLinears } from '../src/model/model.js';
import { Checkpoint } from '../src/checkpoint/checkpoint.js';
import { loadConfig } from '../src/model/config.js';
import { loadWeights } from '../src/model/weights.js';
import { selectOps } from '../src/kernels/select.js';

function status(key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const [dir, mode = 'int4'] = process.argv.slice(2);
if (!dir) throw new Error('usage: int4-load-rss.ts DIR [int4 | int4-keep]');
const ops = selectOps('auto');
const before = status('VmRSS');
const t0 = performance.now();
let model: GlmModel;
if (mode === 'int4') model = GlmModel.load(dir, { ops, quantize: 'int4' });
else {
  const cfg = loadConfig(dir);
  const w = loadWeights(Checkpoint.open(dir), cfg);
  model = new GlmModel(
    cfg,
    mapLinears(
      w,
      (x) => ops.quantize(x, 'int4'),
      (x) => ops.quantize(x, 'int8'),
    ),
    ops,
  );
}
const loadSeconds = (performance.now() - t0) / 1000;
// One token through the model: what serving starts with.
model.forward([1], model.newCache(2), { logits: 'last' });
console.log(JSON.stringify({ mode, startRss: before, peakRss: status('VmHWM'), rss: status('VmRSS'), loadSeconds }));
