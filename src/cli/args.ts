// Small helpers over node:util parseArgs shared by the subcommands.

import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
import { UsageError } from './command.js';

export function parse<T extends Options>(
  argv: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\nusage: ${usage}`);
  }
}

export function intArg(v: string | undefined, name: string, def?: number): number {
  if (v === undefined) {
    if (def === undefined) throw new UsageError(`--${name} is required`);
    return def;
  }
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got '${v}'`);
  return Number(v);
}

export function tokenList(v: string | undefined): number[] {
  if (!v) throw new UsageError('--tokens is required (comma-separated token ids, e.g. --tokens 1,2,3)');
  const ids = v.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s))) throw new UsageError(`--tokens must be comma-separated non-negative integers, got '${v}'`);
  return ids.map(Number);
}
