// Reusable scratch buffers for the model's own intermediate arrays (expanded K/V, absorbed queries,
// column copies). Fresh large typed arrays cost a page fault per 4 KiB on first write — measured more
// than the kernels that fill them — so buffers live as long as the model and only grow.

interface Slot {
  buf: Float32Array;
  /** The last view handed out: decode asks for the same sizes every step, and a new view per request
   * (~60 per layer) was a measurable share of the young-generation garbage. */
  view: Float32Array;
}

export class Workspace {
  private readonly slots = new Map<string, Slot>();

  /** A buffer of n floats for `key`; its contents are garbage and valid until the next request for key. */
  get(key: string, n: number): Float32Array {
    let s = this.slots.get(key);
    if (!s || s.buf.length < n) {
      const buf = new Float32Array(Math.max(n, s ? s.buf.length * 2 : 0));
      s = { buf, view: buf.subarray(0, n) };
      this.slots.set(key, s);
    } else if (s.view.length !== n) {
      s.view = s.buf.subarray(0, n);
    }
    return s.view;
  }
}
