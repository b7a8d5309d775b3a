// The op implementations every model-level test runs against: the TS reference, plus native when built.

import type { Ops } from '../../src/kernels/interface.js';
import { refOps } from '../../src/kernels/ref/index.js';
import { nativeOps } from '../../src/kernels/native.js';

export function opsUnderTest(): Ops[] {
  const native = nativeOps();
  return native ? [refOps, native] : [refOps];
}
