// The op implementations every model-level test runs against: the TS reference, plus the native addon
// once per instruction set this CPU can run (scalar, AVX2, AVX-512), so CI on any machine covers the
// paths it has and this machine covers all of them.

import type { Ops } from '../../src/kernels/interface.js';
import { refOps } from '../../src/kernels/ref/index.js';
import { nativeKernels, nativeOps } from '../../src/kernels/native.js';

export function opsUnderTest(): Ops[] {
  const native = nativeOps();
  const kernels = nativeKernels();
  if (!native || !kernels) return [refOps];
  const perIsa = kernels.isas().map((isa) => {
    const o: Record<string, unknown> = { name: `native-${isa}` };
    for (const [k, f] of Object.entries(native)) {
      if (typeof f === 'function')
        o[k] = (...args: unknown[]) => {
          kernels.setIsa(isa);
          return (f as (...a: unknown[]) => unknown)(...args); // spread-ok: forwards this call's own arguments
        };
    }
    return o as unknown as Ops;
  });
  return [refOps, ...perIsa];
}
