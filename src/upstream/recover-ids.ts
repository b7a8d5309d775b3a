// Token ids from text, for an upstream that skipped some (llama-server never streams a token that ends inside a UTF-8
// character; the next chunk's text holds its bytes): the `count` ids whose bytes, followed by those of the ids that
// did arrive, spell the text. Byte-level BPE gives one id per byte string in practice; when several splits fit, the
// one with the longest pieces first is taken (what BPE merges would have made).

import type { Tokenizer } from '../text/tokenizer.js';

const key = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

export class ByteVocab {
  private byBytes: Map<string, number> | undefined;
  private longest = 0;

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Built on first use: byte string → id (base vocabulary first, so a text that equals an added token's stays text). */
  private map(): Map<string, number> {
    if (this.byBytes) return this.byBytes;
    const m = new Map<string, number>();
    for (let id = 0; id < this.tokenizer.vocabSize; id++) {
      let b: Uint8Array;
      try {
        b = this.tokenizer.tokenBytes(id);
      } catch {
        continue;
      }
      const k = key(b);
      if (!m.has(k) || (this.tokenizer.isAddedToken(m.get(k)!) && !this.tokenizer.isAddedToken(id))) m.set(k, id);
      this.longest = Math.max(this.longest, b.length);
    }
    this.byBytes = m;
    return m;
  }

  /** The `count` ids spelling text minus the bytes of `then` (which end it); null when none fit. */
  recover(text: string, count: number, then: readonly number[]): number[] | null {
    const all = Buffer.from(text, 'utf8');
    let tailLen = 0;
    for (const id of then) tailLen += this.tokenizer.tokenBytes(id).length;
    if (tailLen > all.length) return null;
    const head = all.subarray(0, all.length - tailLen);
    const m = this.map();
    const out: number[] = [];
    const search = (at: number, left: number): boolean => {
      if (left === 0) return at === head.length;
      for (let len = Math.min(this.longest, head.length - at - (left - 1)); len >= 1; len--) {
        const id = m.get(key(head.subarray(at, at + len)));
        if (id === undefined) continue;
        out.push(id);
        if (search(at + len, left - 1)) return true;
        out.pop();
      }
      return false;
    };
    return search(0, count) ? out : null;
  }
}
