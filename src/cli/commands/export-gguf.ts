// glm5 export-gguf: writes a model folder as a GGUF that llama.cpp loads — its `glm-dsa` architecture for
// glm_moe_dsa, `deepseek2` for glm4_moe_lite (GLM-4.7-Flash) — for side-by-side runs (docs/llamacpp.md). FP8 checkpoints are dequantised: GGUF has no e4m3-block type.

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { parse } from '../args.js';
import { exportGguf } from '../../gguf/export.js';
import type { GgufDType } from '../../gguf/glm-dsa.js';

const USAGE = 'glm5 export-gguf DIR OUT.gguf [--dtype bf16|f32] [--name NAME] [--force]';

export const command: Command = {
  summary: 'write the checkpoint as a GGUF for llama.cpp (glm-dsa; deepseek2 for GLM-4.7-Flash)',
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        dtype: { type: 'string', default: 'bf16' },
        name: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
      USAGE,
    );
    if (positionals.length !== 2) throw new UsageError(`expected a model folder and an output file\nusage: ${USAGE}`);
    const [dir, out] = positionals as [string, string];
    const dtype = values.dtype as GgufDType;
    if (dtype !== 'bf16' && dtype !== 'f32') throw new UsageError(`--dtype must be bf16 or f32, got '${values.dtype}'`);
    const t0 = performance.now();
    const r = exportGguf(dir, out, { dtype, name: values.name, force: values.force });
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`wrote ${out}: ${r.tensors} tensors, ${r.metadataKeys} metadata keys, ${(r.fileSize / 2 ** 20).toFixed(1)} MiB (${dtype}) in ${s} s`);
  },
};
