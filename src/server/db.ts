// The server's SQLite file (WAL): API keys and the usage ledger. Shared by `glm5 serve`, `glm5 keys` and
// `glm5 usage`; WAL lets the CLI read while the server writes.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id            TEXT PRIMARY KEY,          -- public id, e.g. key_3f9a…; shown by glm5 keys list
  name          TEXT NOT NULL,
  hash          TEXT NOT NULL UNIQUE,      -- sha256 of the secret; the secret itself is never stored
  prefix        TEXT NOT NULL,             -- first characters of the secret, to recognise it
  created_at    TEXT NOT NULL,
  revoked_at    TEXT,
  rpm           INTEGER,                   -- requests per minute (NULL = unlimited)
  token_quota   INTEGER                    -- prompt + completion tokens over the key's life (NULL = unlimited)
);
CREATE TABLE IF NOT EXISTS ledger (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id         TEXT NOT NULL,
  started_at         TEXT NOT NULL,        -- ISO time the request arrived (UTC)
  key_id             TEXT,                 -- NULL when the server runs without keys
  model              TEXT NOT NULL,        -- the model name the client asked for
  price_model        TEXT NOT NULL,        -- the pricing entry used
  endpoint           TEXT NOT NULL,
  stream             INTEGER NOT NULL,
  status             INTEGER NOT NULL,     -- HTTP status; 499 = client went away
  finish_reason      TEXT,
  prompt_tokens      INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  multiplier         REAL NOT NULL,
  cost_usd           REAL NOT NULL,
  latency_ms         REAL NOT NULL,
  ttft_ms            REAL,
  error              TEXT
);
CREATE INDEX IF NOT EXISTS ledger_key ON ledger(key_id);
CREATE INDEX IF NOT EXISTS ledger_time ON ledger(started_at);
`;

export function openDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}
