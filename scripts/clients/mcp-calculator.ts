// A one-tool MCP server (JSON-RPC 2.0, newline-delimited) for the Claude Code tests: `calculator`, with the exact
// description and schema the bundled model was trained on (src/tools/demo-tools.ts), so the model calls it.
//
// As a stdio server: node --import tsx scripts/clients/mcp-calculator.ts   (logs every message to $MCP_LOG if set)
// In process: answerMcp(message), for an SDK-hosted server (Claude Code's stream-json control protocol).

import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { calculate, DEMO_TOOLS } from '../../src/tools/demo-tools.js';

export interface JsonRpc {
  jsonrpc?: '2.0';
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
}

const calc = DEMO_TOOLS[0]!.function;
const TOOL = { name: calc.name, description: calc.description, inputSchema: calc.parameters };

/** The reply to one message, or undefined for a notification. Results are JSON the way the model was trained to read them. */
export function answerMcp(m: JsonRpc): Record<string, unknown> | undefined {
  if (m.id === undefined) return undefined;
  const reply = (result: unknown) => ({ jsonrpc: '2.0', id: m.id, result });
  switch (m.method) {
    case 'initialize':
      return reply({ protocolVersion: m.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'calc', version: '1.0.0' } });
    case 'tools/list':
      return reply({ tools: [TOOL] });
    case 'tools/call': {
      const args = (m.params?.arguments ?? {}) as { expression?: unknown };
      try {
        return reply({ content: [{ type: 'text', text: `{"result": ${calculate(String(args.expression ?? ''))}}` }] });
      } catch (e) {
        return reply({ content: [{ type: 'text', text: JSON.stringify({ error: (e as Error).message }) }], isError: true });
      }
    }
    case 'ping':
      return reply({});
    default:
      return { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `method not found: ${m.method}` } };
  }
}

function serveStdio(): void {
  const log = process.env.MCP_LOG;
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    if (log) appendFileSync(log, `${line}\n`);
    const out = answerMcp(JSON.parse(line) as JsonRpc);
    if (out) process.stdout.write(`${JSON.stringify(out)}\n`);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) serveStdio();
