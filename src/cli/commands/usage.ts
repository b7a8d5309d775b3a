// glm5 usage: tokens and cost from the server's ledger, by key, model and day.

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { parse } from '../args.js';
import { openDb } from '../../server/db.js';
import { usageReport } from '../../server/ledger.js';
import { dbPath } from './keys.js';
import { maxOf } from '../../tensor/arrays.js';

const USAGE = `glm5 usage [--since YYYY-MM-DD] [--db FILE] [--json]

Requests, prompt / cached / completion tokens and cost (USD, priced at each request's start, peak multipliers
included) from the ledger glm5 serve writes, grouped by key, model and UTC day.`;

export const command: Command = {
  summary: 'report tokens and cost by key, model and day from the serving ledger',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return;
    }
    const { values, positionals } = parse(argv, { since: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean', default: false } }, USAGE);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'\nusage: ${USAGE}`);
    if (values.since !== undefined && !/^\d{4}-\d\d-\d\d$/.test(values.since)) throw new UsageError('--since must be a date, YYYY-MM-DD');
    const db = openDb(dbPath(values.db));
    try {
      const rows = usageReport(db, values.since);
      if (values.json) {
        console.log(JSON.stringify(rows));
        return;
      }
      if (rows.length === 0) {
        console.log('no requests recorded');
        return;
      }
      const head = ['day', 'key', 'model', 'requests', 'prompt', 'cached', 'completion', 'cost (USD)'];
      const table = rows.map((r) => [
        r.day,
        r.key,
        r.model,
        String(r.requests),
        String(r.prompt_tokens),
        String(r.cached_tokens),
        String(r.completion_tokens),
        r.cost_usd.toFixed(6),
      ]);
      const total = rows.reduce(
        (a, r) => [a[0]! + r.requests, a[1]! + r.prompt_tokens, a[2]! + r.cached_tokens, a[3]! + r.completion_tokens, a[4]! + r.cost_usd],
        [0, 0, 0, 0, 0],
      );
      table.push(['total', '', '', String(total[0]), String(total[1]), String(total[2]), String(total[3]), total[4]!.toFixed(6)]);
      const widths = head.map((h, i) => Math.max(h.length, maxOf(table.map((r) => r[i]!.length))));
      const line = (r: string[]): string => r.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
      console.log([line(head), ...table.map(line)].join('\n'));
    } finally {
      db.close();
    }
  },
};
