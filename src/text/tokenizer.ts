// Tokenizer for a checkpoint's tokenizer.json: encode with or without added-token matching, decode, token lookups.

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { tokenStringToBytes } from './byte-level.js';
import { IncrementalDecoder } from './incremental-decoder.js';

export interface EncodeOptions {
  /**
   * true: added tokens written in the text (`<|user|>`, `<think>`, …) become their ids — only for text the
   * template itself wrote. false: everything is plain text, so user content can never inject a marker.
   */
  readonly special: boolean;
}

interface AddedTokenJson {
  id: number;
  content: string;
}
interface TokenizerJson {
  added_tokens?: AddedTokenJson[];
  model: { type: string; vocab: Record<string, number> };
  [key: string]: unknown;
}

export class TokenizerLoadError extends Error {
  override name = 'TokenizerLoadError';
}

export class Tokenizer {
  /** Ids of the model vocabulary (0 .. baseVocabSize-1); added tokens follow. */
  readonly baseVocabSize: number;
  /** One past the largest id the tokenizer can produce (base vocab + added tokens). */
  readonly vocabSize: number;
  /** Added tokens by content, e.g. '<|user|>' → id. */
  readonly addedTokens: ReadonlyMap<string, number>;
  readonly config: Readonly<Record<string, unknown>>;

  // @huggingface/tokenizers always matches added tokens, so plain text goes through a second instance built from
  // the same file with its added tokens removed (exact against the Rust library for plain text).
  private readonly withAdded: HfTokenizer;
  private readonly plain: HfTokenizer;
  private readonly vocab: Map<string, number>;
  private readonly idToToken: string[];
  private bytesById: (Uint8Array | undefined)[] | undefined;

  constructor(json: TokenizerJson, config: Record<string, unknown> = {}) {
    if (json?.model?.type !== 'BPE' || typeof json.model.vocab !== 'object') {
      throw new TokenizerLoadError('tokenizer.json: expected a BPE model with a vocab');
    }
    this.config = config;
    this.withAdded = new HfTokenizer(json, config);
    this.plain = new HfTokenizer({ ...json, added_tokens: [] }, config);
    this.vocab = new Map(Object.entries(json.model.vocab));
    this.idToToken = [];
    let maxBase = -1;
    for (const [tok, id] of this.vocab) {
      this.idToToken[id] = tok;
      maxBase = Math.max(maxBase, id);
    }
    const added = new Map<string, number>();
    let maxId = maxBase;
    for (const t of json.added_tokens ?? []) {
      added.set(t.content, t.id);
      this.idToToken[t.id] = t.content;
      maxId = Math.max(maxId, t.id);
    }
    this.addedTokens = added;
    this.baseVocabSize = maxBase + 1;
    this.vocabSize = maxId + 1;
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a checkpoint folder. */
  static fromDir(dir: string): Tokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new TokenizerLoadError(`no tokenizer.json in ${dir}`);
    const json = JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson;
    const cfgPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>) : {};
    return new Tokenizer(json, config);
  }

  encode(text: string, options: EncodeOptions): number[] {
    if (text === '') return [];
    const tok = options.special ? this.withAdded : this.plain;
    return tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of the ids with every added token kept as written (tags must survive for the output parsers). */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ''; // the library throws on an empty list
    for (const id of ids) this.checkId(id);
    return this.withAdded.decode(ids as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** A stream decoder: push ids one at a time, get text that never ends in half a UTF-8 character. */
  createDecoder(): IncrementalDecoder {
    return new IncrementalDecoder((id) => this.tokenBytes(id));
  }

  /** Id of any token string (vocab entry or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedTokens.get(token) ?? this.vocab.get(token);
  }

  /** Id of an added/special token that must exist, e.g. specialId('<|user|>'). */
  specialId(token: string): number {
    const id = this.addedTokens.get(token);
    if (id === undefined) throw new TokenizerLoadError(`tokenizer has no added token ${JSON.stringify(token)}`);
    return id;
  }

  idToTokenString(id: number): string | undefined {
    return this.idToToken[id];
  }

  isAddedToken(id: number): boolean {
    return id >= 0 && id < this.idToToken.length && this.addedTokens.get(this.idToToken[id]!) === id;
  }

  /** Raw bytes a token contributes to the text (added tokens: their UTF-8 content). */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    if (!this.bytesById) this.bytesById = [];
    let b = this.bytesById[id];
    if (!b) {
      const s = this.idToToken[id]!;
      b = this.isAddedToken(id) ? new TextEncoder().encode(s) : tokenStringToBytes(s);
      if (!b) throw new TokenizerLoadError(`token ${id} (${JSON.stringify(s)}) is not a byte-level string`);
      this.bytesById[id] = b;
    }
    return b;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || this.idToToken[id] === undefined) {
      throw new RangeError(`token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    }
  }
}
