// The demo tools on the page: the same schemas and implementations `glm5 chat --tools demo` uses
// (src/tools/demo-tools.ts, bundled in at build time), run in the browser so a tool call goes round trip
// through the public Chat Completions API only.

import { DEMO_TOOLS, runDemoTool } from '../../src/tools/demo-tools.js';

export interface ToolSpec {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: unknown };
}

export const demoTools: readonly ToolSpec[] = DEMO_TOOLS;

const names = new Set(DEMO_TOOLS.map((t) => t.function.name));

/** Runs a call the model made; the JSON text that goes back as the tool message (an error object on bad input). */
export function runTool(name: string, argumentsJson: string): string {
  if (!names.has(name)) return JSON.stringify({ error: `unknown tool '${name}'` });
  let args: unknown;
  try {
    args = argumentsJson.trim() === '' ? {} : JSON.parse(argumentsJson);
  } catch {
    return JSON.stringify({ error: `arguments are not JSON: ${argumentsJson}` });
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) return JSON.stringify({ error: 'arguments must be a JSON object' });
  return runDemoTool(name, args as Record<string, unknown>);
}
