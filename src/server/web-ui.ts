// The chat page: `GET /` and its assets under `/ui/`, read from dist/web/ (built from web/ by web/build.mjs at
// install time), with a Content-Security-Policy that lets only the page's own script and stylesheet run.
// The page talks to the server through the public API only (docs/server.md, "The chat page").

import type { Hono } from 'hono';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/web/ at the package root: the same two levels up from src/server/ (tsx) and dist/server/ (built). */
export const WEB_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

// No inline script or style, nothing from other origins: model text that got past the sanitizer still cannot
// run, load a remote image (a way to leak the conversation in its URL) or post a form.
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, readonly [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/ui/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/ui/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/ui/favicon.svg': ['favicon.svg', 'image/svg+xml'],
  '/ui/licenses.txt': ['licenses.txt', 'text/plain; charset=utf-8'],
};

const HEADERS = {
  'Content-Security-Policy': WEB_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** Adds the page's routes; files are read per request, so a rebuilt page shows without a restart. */
export function mountWebUi(app: Hono, dir: string = WEB_DIR): void {
  for (const [path, [file, type]] of Object.entries(FILES)) {
    app.get(path, async (c) => {
      let body: Buffer;
      try {
        body = await readFile(join(dir, file));
      } catch {
        return c.text(`The chat page is not built (${join(dir, file)} is missing): run \`npm run build\`.\n`, 503, HEADERS);
      }
      return c.body(new Uint8Array(body), 200, { ...HEADERS, 'Content-Type': type });
    });
  }
}
