// Tokenizer metadata for a GGUF, from a model folder's tokenizer.json (+ tokenizer_config.json, chat template):
// a byte-level BPE ("gpt2" in llama.cpp terms) with the GLM-4/5 pre-tokenizer, which llama.cpp names `glm4`.
// Token ids without a string become "[PAD<id>]" of type UNUSED; added tokens are CONTROL when special (or
// shaped like "<|…|>"), else USER_DEFINED. Special ids follow llama.cpp's GLM conversion: bos = [gMASK],
// eot = <|user|>, eom = <|observation|>, unk = <|endoftext|>; eos / pad from tokenizer_config (else config.json).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../checkpoint/errors.js';
import { gguf, type GgufValue } from './writer.js';

/** llama.cpp token types. */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** The pre-tokenizer regex of GLM-4/GLM-5 tokenizers; llama.cpp implements it under the name `glm4`. */
const GLM4_PRE_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const REQUIRED_SPECIALS = ['[gMASK]', '<|user|>', '<|endoftext|>', '<|observation|>'] as const;

interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean }[];
  pre_tokenizer?: unknown;
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
}

function looksSpecial(t: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) ||
    (t.startsWith('<|') && t.endsWith('|>')) ||
    (t.startsWith('<｜') && t.endsWith('｜>')) ||
    (t.startsWith('<unused') && t.endsWith('>'))
  );
}

function readJson(dir: string, file: string): unknown {
  try {
    return JSON.parse(readFileSync(join(dir, file), 'utf8'));
  } catch (e) {
    const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `bad JSON (${(e as Error).message})`;
    throw new CheckpointError(file, msg);
  }
}

/** Finds the Split regex of a Sequence pre-tokenizer (or a lone Split), to check it is GLM-4's. */
function splitRegex(pre: unknown): string | null {
  const p = pre as { type?: string; pretokenizers?: unknown[]; pattern?: { Regex?: string } } | null;
  if (!p) return null;
  if (p.type === 'Split') return p.pattern?.Regex ?? null;
  if (p.type === 'Sequence')
    for (const q of p.pretokenizers ?? []) {
      const r = splitRegex(q);
      if (r) return r;
    }
  return null;
}

/** `tokenizer.*` keys for a vocabulary of `vocabSize` ids (the embedding rows, which may exceed the tokenizer's). */
export function tokenizerMetadata(dir: string, vocabSize: number): Map<string, GgufValue> {
  const tj = readJson(dir, 'tokenizer.json') as TokenizerJson;
  const model = tj.model;
  if (model?.type !== 'BPE' || !model.vocab || !model.merges) throw new CheckpointError('tokenizer.json', 'expected a BPE model with vocab and merges');
  const regex = splitRegex(tj.pre_tokenizer);
  if (regex !== GLM4_PRE_REGEX) {
    throw new CheckpointError(
      'tokenizer.json',
      `pre-tokenizer is not GLM-4/5's (llama.cpp 'glm4'); got ${regex === null ? 'no Split regex' : `regex ${JSON.stringify(regex)}`}`,
    );
  }
  const tokens: string[] = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const types: number[] = Array.from({ length: vocabSize }, () => TOKEN_TYPE.unused);
  const place = (id: number, s: string, type: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
      throw new CheckpointError('tokenizer.json', `token ${JSON.stringify(s)} has id ${id}, outside the model's vocabulary of ${vocabSize}`);
    tokens[id] = s;
    types[id] = type;
  };
  for (const [s, id] of Object.entries(model.vocab)) place(id, s, TOKEN_TYPE.normal);
  const added = new Map<string, number>();
  for (const t of tj.added_tokens ?? []) {
    place(t.id, t.content, t.special || looksSpecial(t.content) ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
    added.set(t.content, t.id);
  }
  for (const s of REQUIRED_SPECIALS) {
    if (!added.has(s))
      throw new CheckpointError(
        'tokenizer.json',
        `added token ${s} is missing (llama.cpp's GLM vocabulary needs [gMASK], <|user|>, <|endoftext|>, <|observation|>)`,
      );
  }
  const merges = model.merges.map((m) => (Array.isArray(m) ? `${m[0]} ${m[1]}` : m));

  const tcfg = (existsSync(join(dir, 'tokenizer_config.json')) ? readJson(dir, 'tokenizer_config.json') : {}) as Record<string, unknown>;
  const cfg = (existsSync(join(dir, 'config.json')) ? readJson(dir, 'config.json') : {}) as Record<string, unknown>;
  const idOf = (v: unknown): number | undefined => {
    const s = typeof v === 'string' ? v : (v as { content?: string } | null)?.content;
    return s === undefined ? undefined : (added.get(s) ?? model.vocab![s]);
  };
  const fromCfg = (k: string): number | undefined => (typeof cfg[k] === 'number' ? (cfg[k] as number) : undefined);
  const special: [string, number | undefined][] = [
    ['bos', idOf(tcfg.bos_token) ?? added.get('[gMASK]')],
    ['eos', idOf(tcfg.eos_token) ?? fromCfg('eos_token_id') ?? added.get('<|endoftext|>')],
    ['unknown', idOf(tcfg.unk_token) ?? added.get('<|endoftext|>')],
    ['padding', idOf(tcfg.pad_token) ?? fromCfg('pad_token_id')],
    ['eot', added.get('<|user|>')],
    ['eom', added.get('<|observation|>')],
  ];

  const m = new Map<string, GgufValue>();
  m.set('tokenizer.ggml.model', gguf.str('gpt2'));
  m.set('tokenizer.ggml.pre', gguf.str('glm4'));
  m.set('tokenizer.ggml.tokens', gguf.arr('string', tokens));
  m.set('tokenizer.ggml.token_type', gguf.arr('i32', types));
  m.set('tokenizer.ggml.merges', gguf.arr('string', merges));
  for (const [k, id] of special) if (id !== undefined && id < vocabSize) m.set(`tokenizer.ggml.${k}_token_id`, gguf.u32(id));
  if (typeof tcfg.add_bos_token === 'boolean') m.set('tokenizer.ggml.add_bos_token', gguf.bool(tcfg.add_bos_token));
  if (typeof tcfg.add_eos_token === 'boolean') m.set('tokenizer.ggml.add_eos_token', gguf.bool(tcfg.add_eos_token));
  const jinja = join(dir, 'chat_template.jinja');
  const template = existsSync(jinja) ? readFileSync(jinja, 'utf8') : typeof tcfg.chat_template === 'string' ? tcfg.chat_template : undefined;
  if (template !== undefined) m.set('tokenizer.chat_template', gguf.str(template));
  return m;
}
