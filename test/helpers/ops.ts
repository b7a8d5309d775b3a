// The op implementations every model-level test runs against: the TS reference, plus native when built.

import type { Ops } from '../../src/kernels/interface.js';
import { refOps } from '../../src/kernels/ref/index.js';

export function opsUnderTest(): Ops[] {
  const list: Ops[] = [refOps];
  return list;
}
