// Token choice from logits (pure functions).

/** Index of the largest of x[offset .. offset+n) (first on ties). */
export function argmax(x: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[offset + i]! > x[offset + best]!) best = i;
  return best;
}
