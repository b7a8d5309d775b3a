// glm5 template: the prompt (and its token ids) a checkpoint's chat template makes from OpenAI-format messages.

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { parse } from '../args.js';
import { ChatTemplate } from '../../text/chat-template.js';
import { Tokenizer } from '../../text/tokenizer.js';
import type { ChatMessage, ToolDefinition } from '../../text/chat-messages.js';
import { arrayField, readJsonFile, thinkingFlag } from '../text-io.js';

const USAGE = 'glm5 template DIR --messages m.json [--tools t.json] [--thinking on|off] [--no-generation-prompt] [--json]';

export const command: Command = {
  summary: 'render the chat template for OpenAI-format messages (prompt text and ids)',
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        messages: { type: 'string' },
        tools: { type: 'string' },
        thinking: { type: 'string' },
        'no-generation-prompt': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      USAGE,
    );
    if (positionals.length !== 1) throw new UsageError(`expected one checkpoint folder\nusage: ${USAGE}`);
    if (!values.messages) throw new UsageError(`--messages is required\nusage: ${USAGE}`);
    const dir = positionals[0]!;
    const body = readJsonFile(values.messages, 'messages');
    const messages = arrayField<ChatMessage>(body, 'messages', values.messages);
    const tools = values.tools
      ? arrayField<ToolDefinition>(readJsonFile(values.tools, 'tools'), 'tools', values.tools)
      : ((body as { tools?: ToolDefinition[] }).tools ?? null);
    const { prompt, ids } = ChatTemplate.fromDir(dir).encodeChat(
      { messages, tools, thinking: thinkingFlag(values.thinking), addGenerationPrompt: !values['no-generation-prompt'] },
      Tokenizer.fromDir(dir),
    );
    if (values.json) console.log(JSON.stringify({ prompt, ids }));
    else console.log(`${prompt}\n\n(${ids.length} tokens)`);
  },
};
