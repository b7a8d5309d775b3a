// A local stand-in for the Hugging Face Hub (node:http), enough for huggingface_hub-style clients:
//   GET /api/models/{org}/{name}/revision/{rev}   → { id, sha, siblings: [{ rfilename }] }
//   GET /{org}/{name}/resolve/{rev}/{file}        → the bytes, with ETag (quoted sha256), X-Linked-Etag and
//       X-Linked-Size for weights (LFS files), X-Repo-Commit, Content-Length, Accept-Ranges, and 206 answers to Range
// Every request is recorded; `dropAfter` makes the next full or ranged read of a file stop after N bytes and
// drop the connection (an interrupted download).

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface HubRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | null;
}

export interface FakeHub {
  readonly url: string;
  readonly commit: string;
  readonly requests: HubRequest[];
  /** The next non-probe read of `file` sends `bytes` bytes, then the socket is destroyed. */
  dropAfter(file: string, bytes: number): void;
  sha256(file: string): string;
  close(): Promise<void>;
}

/** Serves every file of `dir` (plus `extra` files that exist only on the "Hub") as repo `repo` at one commit. */
export async function startFakeHub(repo: string, dir: string, extra: Record<string, string> = {}): Promise<FakeHub> {
  const files = new Map<string, Buffer>();
  for (const f of readdirSync(dir)) files.set(f, readFileSync(join(dir, f)));
  for (const [f, text] of Object.entries(extra)) files.set(f, Buffer.from(text));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const commit = createHash('sha1').update(repo).digest('hex');
  const requests: HubRequest[] = [];
  const drops = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const range = req.headers.range ?? null;
    requests.push({ method: req.method!, path, range });
    const api = `/api/models/${repo}/revision/`;
    if (path.startsWith(api)) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ _id: 'x', id: repo, sha: commit, siblings: [...files.keys()].map((rfilename) => ({ rfilename })) }));
      return;
    }
    const m = new RegExp(`^/${repo}/resolve/([^/]+)/(.+)$`).exec(path);
    const body = m ? files.get(m[2]!) : undefined;
    if (!m || !body) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('not found');
      return;
    }
    const file = m[2]!;
    const headers: Record<string, string> = {
      etag: `"${sha(body)}"`,
      'x-repo-commit': commit,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
    };
    if (file.endsWith('.safetensors')) Object.assign(headers, { 'x-linked-etag': `"${sha(body)}"`, 'x-linked-size': String(body.length) });
    let start = 0,
      end = body.length - 1,
      status = 200;
    const r = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (r) {
      start = Number(r[1]);
      end = r[2] ? Math.min(Number(r[2]), body.length - 1) : body.length - 1;
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
    }
    headers['content-length'] = String(end - start + 1);
    res.writeHead(status, headers);
    const chunk = body.subarray(start, end + 1);
    const drop = drops.get(file);
    if (drop !== undefined && chunk.length > 1) {
      drops.delete(file);
      res.write(chunk.subarray(0, drop), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(chunk);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    commit,
    requests,
    dropAfter: (file, bytes) => drops.set(file, bytes),
    sha256: (file) => sha(files.get(file)!),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
