// Model folder → GGUF file for llama.cpp (glm-dsa for glm_moe_dsa, deepseek2 for glm4_moe_lite): model keys, tokenizer keys, tensors.

import { Checkpoint } from '../checkpoint/checkpoint.js';
import { loadConfig } from '../model/config.js';
import { GgufExportError, glmDsaMetadata, glmDsaTensors, llamaCppIncompatibility, modelName, mtpLayersPresent, type GgufDType } from './glm-dsa.js';
import { tokenizerMetadata } from './tokenizer-meta.js';
import { writeGguf, type GgufLayout } from './writer.js';

export interface ExportOptions {
  readonly dtype: GgufDType;
  /** `general.name`; defaults to the folder name. */
  readonly name?: string;
  /** Write even when llama.cpp is known to reject the shapes (the file is still valid GGUF). */
  readonly force?: boolean;
}

export interface ExportResult extends GgufLayout {
  readonly tensors: number;
  readonly metadataKeys: number;
}

export function exportGguf(dir: string, outPath: string, opts: ExportOptions): ExportResult {
  const cfg = loadConfig(dir);
  const bad = llamaCppIncompatibility(cfg);
  if (bad && !opts.force) throw new GgufExportError(`${bad} (--force writes the file anyway)`);
  const ckpt = Checkpoint.open(dir);
  const meta = glmDsaMetadata(cfg, { name: opts.name ?? modelName(dir), dtype: opts.dtype, mtpLayers: mtpLayersPresent(ckpt, cfg) });
  for (const [k, v] of tokenizerMetadata(dir, cfg.vocabSize)) meta.set(k, v);
  const tensors = glmDsaTensors(ckpt, cfg, opts.dtype);
  const layout = writeGguf(outPath, meta, tensors);
  return { ...layout, tensors: tensors.length, metadataKeys: meta.size };
}
