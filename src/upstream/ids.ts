// Token-id list helpers for upstream calls (no spread: a long prompt's ids would overflow the call stack).

import { pushAll } from '../tensor/arrays.js';

/** a ‖ b as a new array. */
export function concatIds(a: readonly number[], b: readonly number[]): number[] {
  const out = Array.from(a);
  pushAll(out, b);
  return out;
}
