// Input helpers for the text commands (tokenize, template, parse): stdin, JSON files, --thinking.

import { readFileSync } from 'node:fs';
import { UsageError } from './command.js';
import { parseJson } from '../text/py-json.js';

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON file, parsed keeping float-ness (`1.0`) so templates print numbers as Python would. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${path}: ${(e as Error).message}`);
  }
  try {
    return parseJson(text);
  } catch (e) {
    throw new UsageError(`${what} file ${path} is not JSON: ${(e as Error).message}`);
  }
}

/** An array given bare or under `key` ({"messages": [...]} as in an OpenAI request body). */
export function arrayField<T>(value: unknown, key: string, path: string): T[] {
  const arr = Array.isArray(value) ? value : (value as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(arr)) throw new UsageError(`${path}: expected a JSON array of ${key} (or an object with "${key}")`);
  return arr as T[];
}

export function thinkingFlag(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new UsageError(`--thinking must be on or off, got '${v}'`);
}
