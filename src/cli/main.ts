// glm5 command-line entry: dispatches to one module per subcommand (src/cli/commands/<name>.ts).

import { type Command, UsageError } from './command.js';

const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  init: () => import('./commands/init.js'),
  pull: () => import('./commands/pull.js'),
  generate: () => import('./commands/generate.js'),
  logits: () => import('./commands/logits.js'),
  'export-gguf': () => import('./commands/export-gguf.js'),
  tokenize: () => import('./commands/tokenize.js'),
  template: () => import('./commands/template.js'),
  parse: () => import('./commands/parse.js'),
  serve: () => import('./commands/serve.js'),
  chat: () => import('./commands/chat.js'),
  keys: () => import('./commands/keys.js'),
  usage: () => import('./commands/usage.js'),
};

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = ["usage: glm5 <command> [options]   (glm5 <command> --help for a command's options)", '', 'commands:'];
    for (const [n, load] of Object.entries(COMMANDS)) lines.push(`  ${n.padEnd(12)} ${(await load()).command.summary}`);
    lines.push('', 'Start with: glm5 chat (the bundled model in your terminal) or glm5 serve (OpenAI + Anthropic APIs on :8000).');
    console.log(lines.join('\n'));
    return;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`glm5: unknown command '${name}' (try glm5 --help)`);
    process.exitCode = 2;
    return;
  }
  try {
    await (await load()).command.run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`glm5 ${name}: ${err.message}`);
    if (process.env.GLM5_DEBUG) console.error(err.stack);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
