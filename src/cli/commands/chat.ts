// glm5 chat: an interactive terminal chat over the engine (no server): streams the answer, shows reasoning dimmed
// and tool calls plainly, runs the default model's demo tools with --tools demo and feeds their results back.

import { createInterface } from 'node:readline';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { intArg, parse } from '../args.js';
import { MODEL_SOURCE_FLAGS, resolveModelSource } from '../model-source.js';
import { MEMORY_FLAGS } from '../memory-check.js';
import { ContextLengthError } from '../../engine/types.js';
import type { ChatMessage, ToolDefinition } from '../../text/chat-messages.js';
import { DEMO_TOOLS, runDemoTool } from '../../tools/demo-tools.js';
import { BlockSegmenter } from '../../text/blocks.js';
import type { BlockEvent } from '../../text/blocks.js';
import { ModelOutput } from '../../text/model-output.js';
import type { ToolCall } from '../../text/output-events.js';
import { ENGINE_FLAGS, loadCheckedEngine, servingEngine } from '../serving.js';

const USAGE = `glm5 chat [DIR | ORG/NAME] [options]

Chat with a checkpoint in the terminal (default: the bundled models/glm5-nano; ORG/NAME: a Hugging Face id,
from the local Hugging Face cache or downloaded there first). Answers stream as they are generated; reasoning
is shown dimmed, tool calls plainly.

options:
  --tools demo              let the model call calculator, get_current_time and convert_units; the calls run
                            here and their results go back to the model
  --thinking on|off         start with thinking on (default) or off
  --system TEXT             a system message
  --max-tokens N            per answer (default 1024)
  --temperature T           (default: the checkpoint's generation_config.json)
  --kv-cache-gb N, --kv-cache-dtype f32|bf16|fp8, --backend auto|native|ref, --quantize int8|int4, --revision R,
  --skip-memory-check

in the chat:
  Ctrl-C             stop the answer being written (at the prompt: quit)
  /reset             forget the conversation
  /thinking on|off   switch thinking
  /exit              quit (or Ctrl-D)`;

const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

function showCall(c: ToolCall, tty: boolean): string {
  const text = `→ ${c.name}(${c.argumentsJson})`;
  return tty ? BOLD + text + RESET : text;
}

const FLAGS = {
  tools: { type: 'string' },
  thinking: { type: 'string', default: 'on' },
  system: { type: 'string' },
  'max-tokens': { type: 'string', default: '1024' },
  temperature: { type: 'string' },
  ...ENGINE_FLAGS,
  ...MODEL_SOURCE_FLAGS,
  ...MEMORY_FLAGS,
} as const;

/** Writes block events to stdout: thinking dimmed, answer text plain, a line break between them. */
function blockPrinter(dim: (s: string) => string): (evs: readonly BlockEvent[]) => void {
  let last: BlockEvent | undefined; // the last block that stopped
  return (evs) => {
    for (const e of evs) {
      if (e.type === 'start' && e.head.kind === 'text' && last?.type === 'stop' && last.block.kind === 'thinking') process.stdout.write('\n');
      if (e.type === 'delta' && e.head.kind === 'thinking') process.stdout.write(dim(e.text));
      else if (e.type === 'delta' && e.head.kind === 'text') process.stdout.write(e.text);
      if (e.type === 'stop') last = e;
    }
  };
}

export const command: Command = {
  summary: 'chat with a model in the terminal (streaming, thinking shown dimmed, --tools demo)',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return;
    }
    const { values, positionals } = parse(argv, FLAGS, USAGE);
    if (values.tools !== undefined && values.tools !== 'demo') throw new UsageError(`--tools supports only 'demo', got '${values.tools}'`);
    if (!['on', 'off'].includes(values.thinking)) throw new UsageError('--thinking must be on or off');
    const maxTokens = intArg(values['max-tokens'], 'max-tokens');
    const temperature = values.temperature !== undefined ? Number(values.temperature) : undefined;
    if (temperature !== undefined && !(temperature >= 0)) throw new UsageError('--temperature must be a number ≥ 0');
    const { dir } = await resolveModelSource(positionals[0], { revision: values.revision });
    const engine = servingEngine(await loadCheckedEngine(dir, values, 'glm5 chat'));
    const tools: ToolDefinition[] = values.tools === 'demo' ? DEMO_TOOLS : [];
    const tty = process.stdout.isTTY;
    const dim = (s: string): string => (tty ? DIM + s + RESET : s);
    let thinking = values.thinking === 'on';
    const fresh = (): ChatMessage[] => (values.system ? [{ role: 'system', content: values.system }] : []);
    let messages = fresh();

    let current: { abort(): void } | undefined;
    /** One assistant turn (with tool rounds): streams to stdout, appends to messages. */
    const answer = async (): Promise<void> => {
      for (let round = 0; round < 8; round++) {
        const { ids } = engine.template.encodeChat({ messages, tools, thinking }, engine.tokenizer);
        const out = new ModelOutput({ thinking, tools });
        const blocks = new BlockSegmenter();
        let stream;
        try {
          stream = engine.submit({
            prompt: ids,
            sampling: { maxTokens: Math.max(1, Math.min(maxTokens, engine.maxContext - ids.length)), ...(temperature !== undefined ? { temperature } : {}) },
          });
        } catch (e) {
          // The engine's ContextLengthError names the numbers (the context, or the KV cache budget).
          console.log(dim(`(${(e as Error).message}${e instanceof ContextLengthError ? ': /reset' : ''})`));
          return;
        }
        current = stream;
        const show = blockPrinter(dim);
        let finish = 'stop';
        for await (const ev of stream) {
          if (ev.type === 'token') show(blocks.push(out.push(ev.text)));
          else {
            show(blocks.push(out.finish()));
            show(blocks.finish());
            finish = ev.finishReason;
          }
        }
        current = undefined;
        process.stdout.write('\n');
        if (finish === 'abort') {
          console.log(dim('(stopped)'));
          if (messages[messages.length - 1]?.role === 'user') messages.pop(); // an unanswered question is forgotten
          return;
        }
        const r = out.result();
        const msg: ChatMessage = { role: 'assistant', content: r.content ?? '' };
        if (r.reasoning !== null) msg.reasoning_content = r.reasoning;
        if (r.toolCalls.length > 0)
          msg.tool_calls = r.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
        messages.push(msg);
        if (finish === 'length') console.log(dim(`(cut at ${maxTokens} tokens)`));
        if (r.toolCalls.length === 0 || finish !== 'stop') return;
        for (const c of r.toolCalls) {
          const result = runDemoTool(c.name, c.arguments);
          console.log(showCall(c, tty));
          console.log(dim(`← ${result}`));
          messages.push({ role: 'tool', tool_call_id: c.id, content: result });
        }
      }
    };

    console.error(dim(`glm5 chat: ${dir}${tools.length ? ', demo tools on' : ''}, thinking ${thinking ? 'on' : 'off'} — /reset, /thinking on|off, /exit`));
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
    // Ctrl-C stops the answer being generated; at the prompt it quits.
    rl.on('SIGINT', () => (current ? current.abort() : rl.close()));
    const prompt = (): void => {
      if (tty) rl.setPrompt(`${BOLD}> ${RESET}`);
      rl.prompt();
    };
    prompt();
    const lines = rl[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await lines.next();
        if (next.done) break;
        const line = next.value.trim();
        if (line === '') {
          prompt();
          continue;
        }
        if (line === '/exit' || line === '/quit') break;
        if (line === '/reset') {
          messages = fresh();
          console.log(dim('(conversation cleared)'));
        } else if (/^\/thinking\s+(on|off)$/.test(line)) {
          thinking = line.endsWith('on');
          console.log(dim(`(thinking ${thinking ? 'on' : 'off'})`));
        } else if (line.startsWith('/')) {
          console.log(dim('commands: /reset, /thinking on|off, /exit'));
        } else {
          messages.push({ role: 'user', content: line });
          await answer();
        }
        prompt();
      }
    } finally {
      rl.close();
      await engine.close();
    }
  },
};
