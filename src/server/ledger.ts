// The usage ledger: one row per request that reached an endpoint (its usage exactly as returned to the client,
// priced at its start time), and the reports `glm5 usage` prints.

import type { Db } from './db.js';
import { cost, multiplierAt, priceFor } from './pricing.js';
import type { Pricing } from './pricing.js';

export interface LedgerEntry {
  readonly requestId: string;
  readonly startedAt: Date;
  readonly keyId: string | null;
  readonly model: string;
  /** The served model the request ran on (chooses the price). */
  readonly servedModel: string;
  readonly endpoint: string;
  readonly stream: boolean;
  readonly status: number;
  readonly finishReason: string | null;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly completionTokens: number;
  readonly latencyMs: number;
  readonly ttftMs: number | null;
  readonly error: string | null;
}

export class Ledger {
  private readonly insert;

  constructor(
    private readonly db: Db,
    private readonly pricing: Pricing,
  ) {
    this.insert = db.prepare(`INSERT INTO ledger (request_id, started_at, key_id, model, price_model, endpoint, stream, status, finish_reason,
      prompt_tokens, cached_tokens, completion_tokens, multiplier, cost_usd, latency_ms, ttft_ms, error)
      VALUES (@requestId, @startedAt, @keyId, @model, @priceModel, @endpoint, @stream, @status, @finishReason,
      @promptTokens, @cachedTokens, @completionTokens, @multiplier, @cost, @latencyMs, @ttftMs, @error)`);
  }

  /** Writes the row (synchronously: it exists before the client sees the end of its response). Returns the cost. */
  record(e: LedgerEntry): number {
    const { name, price } = priceFor(this.pricing, e.servedModel);
    const multiplier = multiplierAt(price, e.startedAt);
    const usd = cost(price, e, multiplier);
    this.insert.run({
      ...e,
      startedAt: e.startedAt.toISOString(),
      stream: e.stream ? 1 : 0,
      priceModel: name,
      multiplier,
      cost: usd,
    });
    return usd;
  }

  /** Tokens (prompt + completion) a key has used so far. */
  tokensUsed(keyId: string): number {
    const r = this.db.prepare('SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM ledger WHERE key_id = ?').get(keyId) as { n: number };
    return r.n;
  }
}

export interface UsageRow {
  key: string;
  model: string;
  day: string;
  requests: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

/** Cost and tokens grouped by key, model and UTC day (optionally from a day on). */
export function usageReport(db: Db, since?: string): UsageRow[] {
  return db
    .prepare(`SELECT COALESCE(k.name || ' (' || l.key_id || ')', l.key_id, '(no key)') AS key, l.model AS model,
      substr(l.started_at, 1, 10) AS day, COUNT(*) AS requests, SUM(l.prompt_tokens) AS prompt_tokens,
      SUM(l.cached_tokens) AS cached_tokens, SUM(l.completion_tokens) AS completion_tokens, SUM(l.cost_usd) AS cost_usd
    FROM ledger l LEFT JOIN api_keys k ON k.id = l.key_id
    WHERE l.started_at >= ?
    GROUP BY l.key_id, l.model, day ORDER BY day, key, model`)
    .all(since ?? '') as UsageRow[];
}
