// Streaming detokenizer: bytes of each token go through a streaming UTF-8 decoder, so a character split across
// tokens is emitted only once all of its bytes have arrived.

export class IncrementalDecoder {
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(private readonly bytesOf: (id: number) => Uint8Array) {}

  /** Text completed by this token ('' while a multi-byte character is still incomplete). */
  push(id: number): string {
    return this.utf8.decode(this.bytesOf(id), { stream: true });
  }

  /** Text of several tokens at once (same result as pushing them one by one). */
  pushAll(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) s += this.push(id);
    return s;
  }

  /** Ends the stream: bytes of an unfinished character come out as U+FFFD, as a full decode would show them. */
  flush(): string {
    return this.utf8.decode();
  }
}
