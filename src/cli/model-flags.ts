// The --backend / --quantize flags of every command that loads a model, and their one check.

import type { BackendName } from '../kernels/select.js';
import { UsageError } from './command.js';
import type { QuantFormat } from '../tensor/weight.js';

export const MODEL_OPTIONS = {
  backend: { type: 'string', default: 'auto' },
  quantize: { type: 'string' },
} as const;

export interface ModelFlags {
  readonly backend: BackendName;
  /** Absent: the weights stay in their checkpoint format. */
  readonly quantize?: QuantFormat;
}

/** Checks --backend (auto, native or ref; default auto) and --quantize (int8 or int4). */
export function modelFlags(values: { readonly backend?: string | undefined; readonly quantize?: string | undefined }): ModelFlags {
  const backend = values.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'ref') throw new UsageError(`--backend must be auto, native or ref, got '${backend}'`);
  const q = values.quantize;
  if (q !== undefined && q !== 'int8' && q !== 'int4') throw new UsageError(`--quantize must be int8 or int4, got '${q}'`);
  return q === undefined ? { backend } : { backend, quantize: q };
}
