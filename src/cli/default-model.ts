// The bundled default model: `glm5 generate|serve|chat` without a folder use models/glm5-nano, the small
// glm_moe_dsa checkpoint trained for this repository (docs/default-model.md).

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './command.js';

/** The package root (dist/cli/… or src/cli/… → two levels up). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_MODEL_DIR = join(ROOT, 'models', 'glm5-nano');

/** The folder a model command uses: the one given, else the bundled default (with a clear error if it is missing). */
export function resolveModelDir(dir: string | undefined): string {
  if (dir !== undefined) return dir;
  if (!existsSync(join(DEFAULT_MODEL_DIR, 'config.json'))) {
    throw new UsageError(`no model folder given and the bundled default model is missing (${DEFAULT_MODEL_DIR})`);
  }
  return DEFAULT_MODEL_DIR;
}
