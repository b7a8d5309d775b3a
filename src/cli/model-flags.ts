// The --backend / --quantize flags of every command that loads a model, and their one check.

import type { BackendName } from '../kernels/select.js';
import { UsageError } from './command.js';

export const MODEL_OPTIONS = {
  backend: { type: 'string', default: 'auto' },
  quantize: { type: 'string' },
} as const;

export interface ModelFlags {
  readonly backend: BackendName;
  /** Absent: the weights stay in their checkpoint format. */
  readonly quantize?: 'int8';
}

/** Checks --backend (auto, native or ref; default auto) and --quantize (int8 only). */
export function modelFlags(values: { readonly backend?: string | undefined; readonly quantize?: string | undefined }): ModelFlags {
  const backend = values.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'ref') throw new UsageError(`--backend must be auto, native or ref, got '${backend}'`);
  if (values.quantize !== undefined && values.quantize !== 'int8') throw new UsageError(`--quantize supports only int8, got '${values.quantize}'`);
  return values.quantize === undefined ? { backend } : { backend, quantize: 'int8' };
}
