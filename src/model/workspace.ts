// Reusable scratch buffers for the model's own intermediate arrays (expanded K/V, absorbed queries,
// column copies). Fresh large typed arrays cost a page fault per 4 KiB on first write — measured more
// than the kernels that fill them — so buffers live as long as the model and only grow.

export class Workspace {
  private readonly buffers = new Map<string, Float32Array>();

  /** A buffer of n floats for `key`; its contents are garbage and valid until the next request for key. */
  get(key: string, n: number): Float32Array {
    let b = this.buffers.get(key);
    if (!b || b.length < n) {
      b = new Float32Array(Math.max(n, b ? b.length * 2 : 0));
      this.buffers.set(key, b);
    }
    return b.subarray(0, n);
  }
}
