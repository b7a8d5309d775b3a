// glm5 parse: splits model output text into reasoning, content and tool calls (GLM-4.7/5 format).

import type { Command } from '../command.js';
import { parse as parseArgv } from '../args.js';
import { UsageError } from '../command.js';
import { parseOutput } from '../../text/output-parser.js';
import type { ToolDefinition } from '../../text/chat-messages.js';
import { arrayField, readJsonFile, readStdin, thinkingFlag } from '../text-io.js';

const USAGE = 'glm5 parse [--tools t.json] [--thinking on|off] [--json] < output.txt';

export const command: Command = {
  summary: 'parse model output into reasoning, content and tool calls',
  async run(argv) {
    const { values, positionals } = parseArgv(
      argv,
      {
        tools: { type: 'string' },
        thinking: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      USAGE,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'\nusage: ${USAGE}`);
    const tools = values.tools ? arrayField<ToolDefinition>(readJsonFile(values.tools, 'tools'), 'tools', values.tools) : null;
    // Default on: GLM-5 prompts end with <think> unless thinking was switched off.
    const thinking = thinkingFlag(values.thinking) ?? true;
    const r = parseOutput(await readStdin(), { thinking, tools });
    const out = {
      content: r.content,
      reasoning_content: r.reasoning_content,
      tool_calls: r.tool_calls.map((c) => ({ name: c.name, arguments: c.arguments })),
    };
    if (values.json) {
      console.log(JSON.stringify(out));
      return;
    }
    if (out.reasoning_content !== null) console.log(`reasoning: ${JSON.stringify(out.reasoning_content)}`);
    console.log(`content: ${JSON.stringify(out.content)}`);
    for (const c of r.tool_calls) console.log(`tool call: ${c.name} ${c.argumentsJson}`);
  },
};
