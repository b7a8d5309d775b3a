// Loads the C++ addon (native/, built by node-gyp during npm install) if it is present.
// Everything that uses it must also work without it: the TypeScript reference ops are always there.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Raw addon surface; typed wrappers live in native.ts. */
export interface NativeAddon {
  mmapFile(path: string): ArrayBuffer;
  [fn: string]: unknown;
}

let cached: NativeAddon | null | undefined;

export function nativeAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.GLM5_NO_NATIVE === '1') return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  // src/kernels or dist/kernels → package root
  const root = join(here, '..', '..');
  const candidates = [join(root, 'build', 'Release', 'glm5_native.node'), join(root, 'build', 'Debug', 'glm5_native.node')];
  const require = createRequire(import.meta.url);
  for (const p of candidates) {
    if (existsSync(p)) {
      cached = require(p) as NativeAddon;
      break;
    }
  }
  return cached;
}
