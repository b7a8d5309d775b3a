// Starts the HTTP server over an engine: opens the database (keys + ledger), builds the app, listens, and drains
// on shutdown (no new requests; in-flight ones finish or are aborted at the deadline, each with its ledger row).

import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { RenderPool } from './render-pool.js';
import { Gate, KeyStore } from './auth.js';
import { openDb } from './db.js';
import type { ServingEngine } from './generate.js';
import { Ledger } from './ledger.js';
import { Metrics } from './metrics.js';
import type { ModelNames } from './models.js';
import type { Pricing } from './pricing.js';
import type { WorkersApiOptions } from './workers-api.js';

export interface ServerOptions {
  readonly engine: ServingEngine & { close(): Promise<void> };
  readonly models: ModelNames;
  readonly host: string;
  readonly port: number;
  readonly dbPath: string;
  readonly pricing: Pricing;
  readonly maxBodyBytes: number;
  readonly keepAliveMs: number;
  readonly log?: (line: string) => void;
  /** A front end over upstream replicas: the /workers admin API. */
  readonly workers?: WorkersApiOptions;
  /** Renders large prompts off the event loop (see render-pool.ts). */
  readonly render?: RenderPool;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** True when no API key is active: anyone who can reach the port may use it. */
  readonly open: boolean;
  /** Stops accepting, lets in-flight requests finish for up to drainMs, aborts the rest, closes everything. */
  shutdown(drainMs: number): Promise<{ finished: number; aborted: number }>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const db = openDb(o.dbPath);
  const keys = new KeyStore(db);
  const ledger = new Ledger(db, o.pricing);
  const gate = new Gate(keys, (id) => ledger.tokensUsed(id));
  const metrics = new Metrics(() => o.engine.stats());
  const { app, inFlight } = createApp({
    engine: o.engine,
    models: o.models,
    gate,
    ledger,
    metrics,
    maxBodyBytes: o.maxBodyBytes,
    keepAliveMs: o.keepAliveMs,
    ...(o.log ? { log: o.log } : {}),
    ...(o.workers ? { workers: o.workers } : {}),
    ...(o.render ? { render: o.render } : {}),
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: o.port, hostname: o.host }, () => resolve(s as Server));
    (s as Server).once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<{ finished: number; aborted: number }> | undefined;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    port,
    open: gate.open,
    shutdown(drainMs) {
      closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const deadline = Date.now() + drainMs;
        const { finished, aborted } = await inFlight.drain(drainMs);
        // Requests end (ledger row written) before their last frames are flushed: wait for each connection to go idle
        // and close it, cutting what is left only well after the deadline.
        const poll = setInterval(() => server.closeIdleConnections(), 50);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          closed,
          new Promise((r) => {
            timer = setTimeout(r, Math.max(0, deadline - Date.now()) + 5000);
          }),
        ]);
        clearTimeout(timer);
        clearInterval(poll);
        server.closeAllConnections();
        await o.engine.close();
        o.render?.close();
        db.close();
        return { finished, aborted };
      })();
      return closing;
    },
  };
}
