// Shared CLI plumbing: pick the op backend and load a model folder.

import { UsageError } from './main.js';
import { GlmModel } from '../model/model.js';
import { selectOps, type BackendName } from '../kernels/select.js';

export const MODEL_OPTIONS = {
  backend: { type: 'string', default: 'auto' },
  quantize: { type: 'string' },
} as const;

export function loadModel(dir: string, values: { backend?: string; quantize?: string }): GlmModel {
  const backend = (values.backend ?? 'auto') as BackendName;
  if (!['auto', 'native', 'ref'].includes(backend)) throw new UsageError(`--backend must be auto, native or ref, got '${backend}'`);
  if (values.quantize !== undefined && values.quantize !== 'int8') throw new UsageError(`--quantize supports only int8, got '${values.quantize}'`);
  return GlmModel.load(dir, { ops: selectOps(backend), quantize: values.quantize as 'int8' | undefined });
}
