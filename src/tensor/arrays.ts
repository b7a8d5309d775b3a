// Array helpers that stay correct for any length. Spreading an array into a call (`dst.push(...src)`,
// `Math.max(...xs)`) puts every element on the stack, and V8 throws "Maximum call stack size exceeded" past
// roughly 125K of them: a long prompt's ids are more. scripts/check-spread.ts rejects such spreads.

/** Appends every element of src to dst (dst.push(...src) for any length); returns dst. */
export function pushAll<T>(dst: T[], src: Iterable<T>): T[] {
  for (const x of src) dst.push(x);
  return dst;
}

/** The largest element (Math.max(...xs) for any length): -Infinity when empty, NaN if any element is NaN. */
export function maxOf(xs: Iterable<number>): number {
  let m = -Infinity;
  for (const x of xs) m = Math.max(m, x);
  return m;
}

/** The smallest element (Math.min(...xs) for any length): Infinity when empty, NaN if any element is NaN. */
export function minOf(xs: Iterable<number>): number {
  let m = Infinity;
  for (const x of xs) m = Math.min(m, x);
  return m;
}
