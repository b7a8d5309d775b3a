// The GPT-2 byte-level alphabet: every byte maps to one printable code point, so BPE vocab entries are strings.

/** Bytes whose own code point is printable keep it; the other 68 bytes are shifted to 256, 257, … in byte order. */
function buildByteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable(b) ? b : 256 + shifted++);
  return out;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]));

/**
 * The 256 single-byte symbols in the order byte-level BPE vocabularies list them first:
 * printable bytes in byte order, then the shifted ones (so id 0 is '!' and a space is id 220).
 */
export function byteAlphabetInVocabOrder(): string[] {
  const printable: string[] = [];
  const shifted: string[] = [];
  for (const c of BYTE_TO_CHAR) (c.codePointAt(0)! >= 256 ? shifted : printable).push(c);
  return [...printable, ...shifted];
}

/** Bytes of a byte-level token string; undefined if a character is outside the alphabet. */
export function tokenStringToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  let n = 0;
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return undefined;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Byte-level string of UTF-8 text (what the ByteLevel pre-tokenizer produces). */
export function textToByteLevel(text: string): string {
  let s = '';
  for (const b of new TextEncoder().encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}
