// Stop strings over streamed text: holds back just enough text that a stop string split across token
// boundaries is still found, and trims the text before the match.

import { maxOf } from '../tensor/arrays.js';

export class StopStringMatcher {
  private held = '';
  private readonly hold: number;

  constructor(private readonly stops: readonly string[]) {
    this.hold = Math.max(0, maxOf(stops.map((s) => s.length - 1)));
  }

  /** Adds decoded text; returns what may be emitted now, and the stop string if one matched (the stream is then over). */
  push(piece: string): { text: string; stopped?: string } {
    if (this.stops.length === 0) return { text: piece };
    const buf = this.held + piece;
    let at = -1,
      which: string | undefined;
    for (const s of this.stops) {
      if (s === '') continue;
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = s;
      }
    }
    if (which !== undefined) {
      this.held = '';
      return { text: buf.slice(0, at), stopped: which };
    }
    // Keep the last hold characters (a stop string may start there), but never split a surrogate pair.
    let cut = Math.max(0, buf.length - this.hold);
    if (cut > 0 && cut < buf.length && isLowSurrogate(buf.charCodeAt(cut))) cut--;
    this.held = buf.slice(cut);
    return { text: buf.slice(0, cut) };
  }

  /** The end of the stream without a match: everything held back. */
  flush(): string {
    const t = this.held;
    this.held = '';
    return t;
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
