// Byte-level BPE training (for the preset tokenizer that `glm5 init` ships) and the GLM-shaped tokenizer.json it fills.

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { byteAlphabetInVocabOrder } from './byte-level.js';
import { GLM_PRETOKENIZER_REGEX } from './special-tokens.js';

export interface BpeModel {
  /** Token strings in id order: the 256 byte symbols, then one per merge. */
  readonly vocab: readonly string[];
  readonly merges: readonly (readonly [string, string])[];
}

export interface TrainOptions {
  readonly maxMerges: number;
  /** Stop when the most frequent pair occurs fewer times than this (merging singletons only memorises). */
  readonly minPairCount: number;
}

/** The GLM pre-tokenizer exactly as tokenizer.json spells it: isolated regex Split, then ByteLevel with no regex. */
export function glmPreTokenizerJson(): Record<string, unknown> {
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: GLM_PRETOKENIZER_REGEX }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

/** A GLM-shaped tokenizer.json: the model's vocab then the added tokens numbered right after it. */
export function glmTokenizerJson(model: BpeModel, addedTokens: readonly string[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  model.vocab.forEach((tok, id) => (vocab[tok] = id));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens.map((content, i) => ({
      id: model.vocab.length + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: glmPreTokenizerJson(),
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges: model.merges.map(([a, b]) => [a, b]),
    },
  };
}

/** Splits text into byte-level pre-tokens with the library's own GLM pre-tokenizer, so training sees what encoding sees. */
export function preTokenize(text: string): string[] {
  const bytes = byteAlphabetInVocabOrder();
  const json = glmTokenizerJson({ vocab: bytes, merges: [] }, []);
  const tok = new HfTokenizer(json, {});
  return tok.pre_tokenizer!.pre_tokenize(text);
}

interface Word {
  syms: number[];
  count: number;
}

/**
 * Classic BPE: repeatedly merge the most frequent adjacent pair (ties: smaller strings first, so the result is
 * deterministic). Pair counts are updated only for the words that contain the merged pair.
 */
export function trainBpe(pieces: Iterable<string>, options: TrainOptions): BpeModel {
  const vocab = byteAlphabetInVocabOrder();
  const idOf = new Map(vocab.map((s, i) => [s, i]));
  const counts = new Map<string, number>();
  for (const p of pieces) counts.set(p, (counts.get(p) ?? 0) + 1);
  const words: Word[] = [];
  for (const [p, count] of counts) words.push({ syms: [...p].map((c) => idOf.get(c)!), count });

  const SHIFT = 1 << 16; // pair key = a * SHIFT + b; vocab stays far below 65,536
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>(); // may hold stale words; checked on use
  const addWord = (wi: number, sign: 1 | -1): void => {
    const { syms, count } = words[wi]!;
    for (let i = 0; i + 1 < syms.length; i++) {
      const key = syms[i]! * SHIFT + syms[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * count);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  words.forEach((_, wi) => addWord(wi, 1));

  const merges: [string, string][] = [];
  while (merges.length < options.maxMerges) {
    let best = -1;
    let bestCount = 0;
    for (const [key, c] of pairCount) {
      if (c > bestCount || (c === bestCount && c > 0 && lessPair(key, best))) {
        best = key;
        bestCount = c;
      }
    }
    if (best < 0 || bestCount < options.minPairCount) break;
    const a = Math.floor(best / SHIFT);
    const b = best % SHIFT;
    const merged = vocab[a]! + vocab[b]!;
    let id = idOf.get(merged);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      idOf.set(merged, id);
    }
    merges.push([vocab[a]!, vocab[b]!]);
    for (const wi of pairWords.get(best) ?? []) {
      const w = words[wi]!;
      addWord(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w.syms[i]!);
      }
      w.syms = out;
      addWord(wi, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }
  return { vocab, merges };

  function lessPair(x: number, y: number): boolean {
    if (y < 0) return true;
    const xa = vocab[Math.floor(x / SHIFT)]!,
      ya = vocab[Math.floor(y / SHIFT)]!;
    if (xa !== ya) return xa < ya;
    return vocab[x % SHIFT]! < vocab[y % SHIFT]!;
  }
}
