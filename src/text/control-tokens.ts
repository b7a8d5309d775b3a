// Control tokens out of visible text: a tokenizer's added tokens ([gMASK], <sop>, <|assistant|>, <|begin_of_box|>,
// a stray </think> or </arg_value></tool_call> outside a call, …) are markup, never words a person should read.
// vLLM drops them from text by default (skip_special_tokens); here the parsers first use the tags they understand,
// then this filter removes every remaining one. Logprobs are not filtered: they still show every token.

import { GLM5_ADDED_TOKENS } from './special-tokens.js';

/**
 * Streaming: push text in any chunking and get it back without the tokens; a suffix that may be the start of one
 * is held until the next chunk (or flush) decides, so every chunking gives the same text. A token is matched
 * left to right, longest first, in the text as it arrives (removing one never joins its neighbours into another).
 */
export class ControlTokenFilter {
  private buf = '';
  private readonly firsts: Set<string>;
  private readonly tokens: readonly string[];

  constructor(tokens: readonly string[] = GLM5_ADDED_TOKENS) {
    this.tokens = [...tokens].filter((t) => t !== '').sort((a, b) => b.length - a.length);
    this.firsts = new Set(this.tokens.map((t) => t[0]!));
  }

  push(text: string): string {
    this.buf += text;
    return this.scan(false);
  }

  /** End of this stretch of text: what was held back was not a token. */
  flush(): string {
    return this.scan(true);
  }

  /** The whole text at once (same as push + flush). */
  strip(text: string): string {
    return this.push(text) + this.flush();
  }

  private scan(final: boolean): string {
    const b = this.buf;
    let out = '';
    let i = 0;
    let from = 0; // start of the plain run not yet copied to out
    while (i < b.length) {
      if (!this.firsts.has(b[i]!)) {
        i++;
        continue;
      }
      const hit = this.tokens.find((t) => b.startsWith(t, i));
      // Hold back while a longer token may still complete here (nothing of the tail is decided yet).
      if (!final && this.tokens.some((t) => t.length > b.length - i && (hit === undefined || t.length > hit.length) && t.startsWith(b.slice(i)))) break;
      if (hit === undefined) {
        i++;
        continue;
      }
      out += b.slice(from, i);
      i += hit.length;
      from = i;
    }
    out += b.slice(from, i);
    this.buf = b.slice(i);
    return out;
  }
}

/** True when the text is exactly one of the tokens (a token's own text, as logprobs show it). */
export function isControlToken(text: string, tokens: readonly string[] = GLM5_ADDED_TOKENS): boolean {
  return tokens.includes(text);
}
