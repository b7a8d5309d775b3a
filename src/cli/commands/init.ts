// glm5 init: writes a complete random-weight Hugging Face model folder (config, safetensors,
// tokenizer, chat template) for one of the built-in presets.

import { existsSync, readdirSync } from 'node:fs';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { intArg, parse } from '../args.js';
import { PRESETS, presetConfig, type PresetName } from '../../model/presets.js';
import { writeSyntheticCheckpoint, type SyntheticDType } from '../../model/synthetic.js';
import { writePresetTextFiles } from '../../text/preset.js';

const USAGE = 'glm5 init --preset tiny|small|long|flash [--seed N] [--dtype f32|bf16|fp8] [--shard-mb N] [--force] DIR';

export const command: Command = {
  summary: 'write a random-weight GLM-5-shaped checkpoint (HF folder) for a preset',
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        preset: { type: 'string', default: 'tiny' },
        seed: { type: 'string' },
        dtype: { type: 'string', default: 'bf16' },
        'shard-mb': { type: 'string' },
        force: { type: 'boolean', default: false },
      },
      USAGE,
    );
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw new UsageError(`expected one output folder\nusage: ${USAGE}`);
    const preset = values.preset as PresetName;
    if (!PRESETS.includes(preset)) throw new UsageError(`unknown preset '${values.preset}' (${PRESETS.join(', ')})`);
    const dtype = values.dtype as SyntheticDType;
    if (!['f32', 'bf16', 'fp8'].includes(dtype)) throw new UsageError(`--dtype must be f32, bf16 or fp8, got '${values.dtype}'`);
    if (existsSync(dir) && readdirSync(dir).length > 0 && !values.force) throw new UsageError(`${dir} is not empty (use --force to overwrite)`);
    const seed = intArg(values.seed, 'seed', 0);
    const t0 = performance.now();
    const vocab = writePresetTextFiles(dir);
    const n = writeSyntheticCheckpoint(dir, presetConfig(preset, vocab), {
      seed,
      dtype,
      maxShardBytes: values['shard-mb'] ? intArg(values['shard-mb'], 'shard-mb') * 2 ** 20 : undefined,
    });
    console.log(
      `wrote ${preset} preset (${dtype}, seed ${seed}, ${n} tensors, vocab ${vocab.vocabSize}) to ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  },
};
