// API keys (stored as sha256 hashes; the secret is shown once, at creation), per-key request-rate limits over a
// sliding minute, and token quotas checked against the ledger. No active keys = the server is open.

import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import { ApiError } from './protocol/common.js';

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  readonly rpm: number | null;
  readonly tokenQuota: number | null;
}

const hash = (secret: string): string => createHash('sha256').update(secret).digest('hex');

interface Row {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  rpm: number | null;
  token_quota: number | null;
}
const toKey = (r: Row): ApiKey => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  rpm: r.rpm,
  tokenQuota: r.token_quota,
});

export class KeyStore {
  constructor(private readonly db: Db) {}

  /** Creates a key; the secret is returned here only. */
  create(name: string, limits: { rpm?: number | undefined; tokenQuota?: number | undefined } = {}): { key: ApiKey; secret: string } {
    const secret = 'glm5-' + randomBytes(24).toString('base64url');
    const id = 'key_' + randomBytes(6).toString('hex');
    this.db
      .prepare('INSERT INTO api_keys (id, name, hash, prefix, created_at, rpm, token_quota) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, name, hash(secret), secret.slice(0, 9), new Date().toISOString(), limits.rpm ?? null, limits.tokenQuota ?? null);
    return { key: this.get(id)!, secret };
  }

  get(id: string): ApiKey | undefined {
    const r = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    return r && toKey(r);
  }

  list(): ApiKey[] {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at').all() as Row[]).map(toKey);
  }

  /** Revokes by id or name; false when nothing matched. */
  revoke(idOrName: string): boolean {
    return (
      this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL').run(new Date().toISOString(), idOrName, idOrName)
        .changes > 0
    );
  }

  activeCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL').get() as { n: number }).n;
  }

  /** The active key with this secret, if any. */
  lookup(secret: string): ApiKey | undefined {
    const r = this.db.prepare('SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL').get(hash(secret)) as Row | undefined;
    return r && toKey(r);
  }
}

/** The secret from `Authorization: Bearer …` or `x-api-key` (Anthropic clients send either). */
export function secretFrom(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return headers.get('x-api-key')?.trim() || undefined;
}

/** Admission: who is calling, and may they (rate, quota)? Keys are re-read each call, so CLI revocations apply at once. */
export class Gate {
  private readonly recent = new Map<string, number[]>(); // key id → request times in the last minute

  constructor(
    private readonly keys: KeyStore,
    private readonly tokensUsed: (keyId: string) => number,
    private readonly now: () => number = Date.now,
  ) {}

  get open(): boolean {
    return this.keys.activeCount() === 0;
  }

  /** The caller's key (null when the server is open); throws 401 / 429. */
  admit(headers: Headers): ApiKey | null {
    if (this.open) return null;
    const secret = secretFrom(headers);
    if (!secret) throw new ApiError('authentication', 'missing API key: send Authorization: Bearer <key> or x-api-key');
    const key = this.keys.lookup(secret);
    if (!key) throw new ApiError('authentication', 'invalid API key (unknown or revoked)');
    if (key.rpm !== null) {
      const t = this.now();
      const times = (this.recent.get(key.id) ?? []).filter((x) => t - x < 60_000);
      if (times.length >= key.rpm) {
        const wait = Math.max(1, Math.ceil((60_000 - (t - times[0]!)) / 1000));
        this.recent.set(key.id, times);
        throw new ApiError('rate_limit', `rate limit of ${key.rpm} requests per minute reached for key ${key.id}; try again in ${wait}s`);
      }
      times.push(t);
      this.recent.set(key.id, times);
    }
    if (key.tokenQuota !== null) {
      const used = this.tokensUsed(key.id);
      if (used >= key.tokenQuota) throw new ApiError('quota', `token quota of key ${key.id} is used up (${used} of ${key.tokenQuota} tokens)`);
    }
    return key;
  }
}
