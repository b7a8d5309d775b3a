// glm5 tokenize: token ids of stdin text with a checkpoint's tokenizer (plain text, or template text with --special).

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { parse } from '../args.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { readStdin } from '../text-io.js';

const USAGE = 'glm5 tokenize DIR [--special] [--json] < text';

export const command: Command = {
  summary: 'token ids of stdin text (--special: match added tokens like <|user|>)',
  async run(argv) {
    const { values, positionals } = parse(argv, { special: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, USAGE);
    if (positionals.length !== 1) throw new UsageError(`expected one checkpoint folder\nusage: ${USAGE}`);
    const tok = Tokenizer.fromDir(positionals[0]!);
    const ids = tok.encode(await readStdin(), { special: values.special });
    if (values.json) {
      console.log(JSON.stringify({ ids }));
      return;
    }
    for (const id of ids) console.log(`${id}\t${JSON.stringify(tok.decode([id]))}`);
    console.log(`${ids.length} tokens`);
  },
};
