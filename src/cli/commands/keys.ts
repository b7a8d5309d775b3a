// glm5 keys: create, list and revoke the API keys `glm5 serve` accepts (stored hashed in its SQLite file).

import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { intArg, parse } from '../args.js';
import { KeyStore } from '../../server/auth.js';
import { openDb } from '../../server/db.js';

const USAGE = `glm5 keys create NAME [--rpm N] [--token-quota N] [--db FILE] [--json]
glm5 keys list [--db FILE] [--json]
glm5 keys revoke ID|NAME [--db FILE]

Keys are stored as sha256 hashes; the secret is printed once, at creation. A server with no active key is open
to anyone who can reach it. Clients send the key as \`Authorization: Bearer KEY\` or \`x-api-key: KEY\`.
  --rpm N           requests per minute for this key (default unlimited)
  --token-quota N   prompt + completion tokens this key may use in total (default unlimited)
  --db FILE         the server's database (default: $GLM5_HOME/glm5.db, GLM5_HOME=~/.glm5)`;

/** The database `glm5 serve`, `glm5 keys` and `glm5 usage` share. */
export function dbPath(flag: string | undefined): string {
  return flag ?? join(process.env.GLM5_HOME ?? join(homedir(), '.glm5'), 'glm5.db');
}

export const command: Command = {
  summary: 'create, list and revoke API keys for glm5 serve',
  async run(argv) {
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return;
    }
    const { values, positionals } = parse(
      argv,
      {
        rpm: { type: 'string' },
        'token-quota': { type: 'string' },
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      USAGE,
    );
    const [action, arg] = positionals;
    const db = openDb(dbPath(values.db));
    try {
      const keys = new KeyStore(db);
      if (action === 'create') {
        if (!arg) throw new UsageError(`keys create needs a NAME\nusage: ${USAGE}`);
        const rpm = values.rpm !== undefined ? intArg(values.rpm, 'rpm') : undefined;
        const tokenQuota = values['token-quota'] !== undefined ? intArg(values['token-quota'], 'token-quota') : undefined;
        if ((rpm !== undefined && rpm < 1) || (tokenQuota !== undefined && tokenQuota < 1)) throw new UsageError('--rpm and --token-quota must be ≥ 1');
        const { key, secret } = keys.create(arg, { rpm, tokenQuota });
        if (values.json) console.log(JSON.stringify({ ...key, secret }));
        else {
          console.log(secret);
          console.error(
            `created ${key.id} '${key.name}'${rpm ? `, ${rpm} requests/min` : ''}${tokenQuota ? `, quota ${tokenQuota} tokens` : ''} — the secret above is shown only now`,
          );
        }
      } else if (action === 'list') {
        const list = keys.list();
        if (values.json) console.log(JSON.stringify(list));
        else if (list.length === 0) console.log('no keys (the server is open)');
        else {
          console.log(['id'.padEnd(16), 'name'.padEnd(16), 'prefix'.padEnd(10), 'created'.padEnd(20), 'rpm'.padEnd(6), 'quota'.padEnd(10), 'status'].join(' '));
          for (const k of list) {
            console.log(
              [
                k.id.padEnd(16),
                k.name.padEnd(16),
                (k.prefix + '…').padEnd(10),
                k.createdAt.slice(0, 19).padEnd(20),
                String(k.rpm ?? '-').padEnd(6),
                String(k.tokenQuota ?? '-').padEnd(10),
                k.revokedAt ? `revoked ${k.revokedAt.slice(0, 19)}` : 'active',
              ].join(' '),
            );
          }
        }
      } else if (action === 'revoke') {
        if (!arg) throw new UsageError(`keys revoke needs an ID or NAME\nusage: ${USAGE}`);
        if (!keys.revoke(arg)) throw new UsageError(`no active key with id or name '${arg}' (see glm5 keys list)`);
        console.error(`revoked ${arg}`);
      } else throw new UsageError(`unknown action '${action ?? ''}'\nusage: ${USAGE}`);
    } finally {
      db.close();
    }
  },
};
