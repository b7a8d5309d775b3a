// Chooses the op backend once at an entry point: native (C++ addon) when built, else the TS reference.

import type { Ops } from './interface.js';
import { refOps } from './ref/index.js';
import { nativeOps } from './native.js';

export type BackendName = 'auto' | 'native' | 'ref';

export function selectOps(name: BackendName = 'auto'): Ops {
  if (name === 'ref') return refOps;
  const native = nativeOps();
  if (native) return native;
  if (name === 'native') throw new Error('the native backend is not built (run npm install, which builds it with node-gyp)');
  return refOps;
}
