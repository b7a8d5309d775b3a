// Builds the chat page into dist/web/: web/src/main.ts bundled with marked, DOMPurify and highlight.js into
// one ES module (esbuild, minified; the libraries' licence comments go to app.js.LEGAL.txt), the stylesheet,
// index.html and the icon. Runs in `npm run build` / `prepare`; `glm5 serve` serves the folder at `/`.
// Plain JavaScript so it needs nothing but esbuild: node web/build.mjs [OUT_DIR]

import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '..', 'dist', 'web'));
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, logLevel: 'warning', legalComments: 'linked' };
await build({ ...common, entryPoints: [join(here, 'src', 'main.ts')], outfile: join(out, 'app.js'), format: 'esm', target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'], platform: 'browser' });
await build({ ...common, entryPoints: [join(here, 'style.css')], outfile: join(out, 'app.css'), target: ['chrome111', 'firefox113', 'safari16.4'] });
for (const f of ['index.html', 'favicon.svg']) copyFileSync(join(here, f), join(out, f));
