// Builds small random checkpoints in a temp folder for tests.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presetConfig } from '../../src/model/presets.js';
import { writeSyntheticCheckpoint, type SyntheticDType } from '../../src/model/synthetic.js';
import { writePresetTextFiles } from '../../src/text/preset.js';

export function tmpDir(prefix = 'glm5-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A tiny-preset checkpoint (vocab 300) with optional config overrides. */
export function tinyCheckpoint(opts: { dtype?: SyntheticDType; seed?: number; overrides?: Record<string, unknown>; maxShardBytes?: number } = {}): string {
  const dir = tmpDir();
  const cfg = { ...presetConfig('tiny', { vocabSize: 300, eosTokenIds: [1], padTokenId: 0 }), ...opts.overrides };
  writeSyntheticCheckpoint(dir, cfg, { seed: opts.seed ?? 1, dtype: opts.dtype ?? 'f32', maxShardBytes: opts.maxShardBytes });
  return dir;
}

/**
 * The tiny preset as a glm4_moe_lite (GLM-4.7-Flash) checkpoint: no indexer keys, lite model_type. `textFiles`
 * adds the preset tokenizer and chat template (and takes their vocabulary), so it can serve chat.
 */
export function tinyFlashCheckpoint(opts: { dtype?: SyntheticDType; seed?: number; overrides?: Record<string, unknown>; textFiles?: boolean } = {}): string {
  const dir = tmpDir();
  const vocab = opts.textFiles ? writePresetTextFiles(dir) : { vocabSize: 300, eosTokenIds: [1], padTokenId: 0 };
  const cfg: Record<string, unknown> = { ...presetConfig('tiny', vocab), model_type: 'glm4_moe_lite', architectures: ['Glm4MoeLiteForCausalLM'] };
  for (const k of Object.keys(cfg)) if (k.startsWith('index')) delete cfg[k];
  writeSyntheticCheckpoint(dir, { ...cfg, ...opts.overrides }, { seed: opts.seed ?? 1, dtype: opts.dtype ?? 'f32' });
  return dir;
}
