// Text files of a preset checkpoint: the shipped trained tokenizer, its config and the built-in chat template.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_GLM5_TEMPLATE } from './builtin-template.js';
import { GLM5_PAD_TOKEN, GLM5_STOP_TOKENS } from './special-tokens.js';

/** Trained by train/tokenizer/train-tokenizer.ts --whole from assets/tokenizer/corpus.txt; resolved from src/text or dist/text alike. */
const PRESET_TOKENIZER_URL = new URL('../../assets/tokenizer/tokenizer.json', import.meta.url);

export interface PresetTextInfo {
  /** Rows the model's embedding needs: base vocab + added tokens (config.json vocab_size is set to this). */
  vocabSize: number;
  /** `<|endoftext|>`, `<|user|>`, `<|observation|>` — generation_config.eos_token_id. */
  eosTokenIds: number[];
  padTokenId: number;
}

/** Writes tokenizer.json, tokenizer_config.json and chat_template.jinja into dir (a copy, no training). */
export function writePresetTextFiles(dir: string): PresetTextInfo {
  const raw = readFileSync(PRESET_TOKENIZER_URL, 'utf8');
  const json = JSON.parse(raw) as { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> } };
  const added = new Map(json.added_tokens.map((t) => [t.content, t.id]));
  const idOf = (tok: string): number => {
    const id = added.get(tok);
    if (id === undefined) throw new Error(`preset tokenizer lacks ${tok}; rerun train/tokenizer/train-tokenizer.ts (docs/text.md)`);
    return id;
  };
  let vocabSize = Object.keys(json.model.vocab).length;
  for (const id of added.values()) vocabSize = Math.max(vocabSize, id + 1);

  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), raw);
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    eos_token: GLM5_PAD_TOKEN,
    pad_token: GLM5_PAD_TOKEN,
    model_max_length: 202752,
    padding_side: 'left',
    clean_up_tokenization_spaces: false,
    do_lower_case: false,
    remove_space: false,
  };
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(join(dir, 'chat_template.jinja'), BUILTIN_GLM5_TEMPLATE);
  return { vocabSize, eosTokenIds: GLM5_STOP_TOKENS.map(idOf), padTokenId: idOf(GLM5_PAD_TOKEN) };
}
