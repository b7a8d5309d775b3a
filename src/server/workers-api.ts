// The /workers admin API of a front end over upstream replicas (`glm5 serve --upstream`): GET /workers lists them
// (health, circuit, load, requests, the router's settings and decisions), POST /workers {url, kind?} adds one,
// POST /workers/:id/drain stops new requests to it, DELETE /workers/:id removes it. Every call needs the admin key
// (GLM5_ADMIN_KEY or --admin-key-file) as `Authorization: Bearer` or `x-api-key`; without one configured the API
// answers 403 saying how to turn it on. API keys of clients never open it.

import type { Hono, Context } from 'hono';
import { createHash, timingSafeEqual } from 'node:crypto';

/** What the front end's engine offers (cli wires src/upstream's RemoteEngine in; the server knows only this). */
export interface WorkerAdmin {
  listWorkers(): unknown[];
  addWorker(url: string, kind?: string): Promise<unknown>;
  drainWorker(id: string): unknown;
  removeWorker(id: string): unknown;
  routerInfo(): Record<string, unknown>;
}

export interface WorkersApiOptions {
  readonly admin: WorkerAdmin;
  /** The admin key; null: the API is off. */
  readonly adminKey: string | null;
  /** Engine kinds a POST may name. */
  readonly kinds: readonly string[];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function mountWorkersApi(app: Hono, o: WorkersApiOptions): void {
  const want = o.adminKey ? digest(o.adminKey) : null;
  const fail = (c: Context, status: 400 | 401 | 403 | 404 | 409, message: string): Response =>
    c.json({ error: { message, type: status === 401 ? 'authentication_error' : 'invalid_request_error' } }, status);
  const guard = (c: Context): Response | null => {
    if (!want) return fail(c, 403, 'the /workers admin API is off: start glm5 serve with GLM5_ADMIN_KEY set (or --admin-key-file FILE)');
    const auth = c.req.header('authorization');
    const given = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : c.req.header('x-api-key');
    if (!given || !timingSafeEqual(digest(given), want)) return fail(c, 401, 'the /workers admin API needs the admin key (Authorization: Bearer KEY)');
    return null;
  };

  app.get('/workers', (c) => guard(c) ?? c.json({ workers: o.admin.listWorkers(), router: o.admin.routerInfo() }));
  app.get('/workers/:id', (c) => {
    const denied = guard(c);
    if (denied) return denied;
    const id = decodeURIComponent(c.req.param('id'));
    const w = (o.admin.listWorkers() as { id: string; url: string }[]).find((x) => x.id === id || x.url === id);
    return w ? c.json(w) : fail(c, 404, `no worker ${id}`);
  });
  app.post('/workers', async (c) => {
    const denied = guard(c);
    if (denied) return denied;
    let body: { url?: unknown; kind?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return fail(c, 400, 'the request body is not valid JSON');
    }
    if (typeof body.url !== 'string') return fail(c, 400, 'url: expected the replica base URL, e.g. http://10.0.0.7:30000');
    const kind = body.kind ?? 'auto';
    if (typeof kind !== 'string' || !o.kinds.includes(kind)) return fail(c, 400, `kind: expected one of ${o.kinds.join(', ')}`);
    try {
      return c.json((await o.admin.addWorker(body.url, kind)) as object, 201);
    } catch (e) {
      return fail(c, 409, (e as Error).message);
    }
  });
  app.post('/workers/:id/drain', (c) => {
    const denied = guard(c);
    if (denied) return denied;
    const id = decodeURIComponent(c.req.param('id'));
    const w = o.admin.drainWorker(id);
    return w ? c.json(w as object) : fail(c, 404, `no worker ${id}`);
  });
  app.delete('/workers/:id', (c) => {
    const denied = guard(c);
    if (denied) return denied;
    const id = decodeURIComponent(c.req.param('id'));
    const w = o.admin.removeWorker(id);
    return w ? c.json({ removed: w }) : fail(c, 404, `no worker ${id}`);
  });
}
