// Shared CLI plumbing: pick the op backend and load a model folder.

import { GlmModel } from '../model/model.js';
import { selectOps } from '../kernels/select.js';
import { modelFlags } from './model-flags.js';

export function loadModel(dir: string, values: { backend?: string; quantize?: string }): GlmModel {
  const { backend, quantize } = modelFlags(values);
  return GlmModel.load(dir, { ops: selectOps(backend), quantize });
}
