// A checkpoint folder → a serving Engine: the model (weights in their stored format, or re-quantised), the
// tokenizer and chat template when present, generation_config.json's sampling defaults, and a fingerprint
// of the weights that names their content in prefix-cache hashes.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { selectOps, type BackendName } from '../kernels/select.js';
import { GlmModel } from '../model/model.js';
import type { QuantFormat } from '../tensor/weight.js';
import { ChatTemplate } from '../text/chat-template.js';
import { Tokenizer } from '../text/tokenizer.js';

export interface LoadEngineOptions extends EngineOptions {
  readonly backend?: BackendName;
  /** Re-quantise the linear weights at load (int8: 8.25 bits per weight; int4: 4.5). */
  readonly quantize?: QuantFormat;
}

/** Loads a checkpoint folder: model, tokenizer and chat template when present, generation defaults. */
export function loadEngine(dir: string, opts: LoadEngineOptions = {}): Engine {
  const model = GlmModel.load(dir, { ops: selectOps(opts.backend ?? 'auto'), quantize: opts.quantize });
  const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? Tokenizer.fromDir(dir) : null;
  const template = tokenizer ? ChatTemplate.fromDir(dir) : null;
  const gcPath = join(dir, 'generation_config.json');
  const generationConfig = existsSync(gcPath) ? (JSON.parse(readFileSync(gcPath, 'utf8')) as Record<string, unknown>) : {};
  return new Engine(model, { ...opts, tokenizer, template, generationConfig, salt: weightsFingerprint(dir, opts.quantize), modelDir: dir });
}

/** Names the weights' content for prefix-cache hashes: config and the safetensors files' sizes and times. */
export function weightsFingerprint(dir: string, quantize: string | undefined): string {
  const h = createHash('sha1')
    .update(readFileSync(join(dir, 'config.json')))
    .update(quantize ?? '');
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.safetensors'))
    .sort()) {
    const st = statSync(join(dir, f));
    h.update(`${f}:${st.size}:${st.mtimeMs}`);
  }
  return h.digest('base64');
}
