// Builds the chat page into dist/web/: web/src/main.ts bundled with marked, DOMPurify and highlight.js into
// one ES module (esbuild, minified), the stylesheet, index.html, the icon, and licenses.txt with the bundled
// libraries' licence texts (served at /ui/licenses.txt, named in app.js's first line). Runs in `npm run build` / `prepare`; `glm5 serve` serves the folder at `/`.
// Plain JavaScript so it needs nothing but esbuild: node web/build.mjs [OUT_DIR]

import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '..', 'dist', 'web'));
mkdirSync(out, { recursive: true });

const BUNDLED = [
  ['marked', ['LICENSE']],
  ['dompurify', ['LICENSE']],
  ['highlight.js', ['LICENSE']],
];
const licences = BUNDLED.map(([name, files]) => {
  const dir = join(here, '..', 'node_modules', name);
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return `${name} ${version}\n${'='.repeat(name.length + version.length + 1)}\n\n${files.map((f) => readFileSync(join(dir, f), 'utf8').trim()).join('\n\n')}\n`;
});
writeFileSync(join(out, 'licenses.txt'), `The glm5 chat page (web/) bundles these libraries into app.js:\n\n${licences.join('\n\n')}`);

const common = { bundle: true, minify: true, logLevel: 'warning', legalComments: 'none' };
const banner = { js: '/* glm5 chat page (web/). Bundled: marked, DOMPurify, highlight.js; their licences: /ui/licenses.txt */' };
await build({
  ...common,
  banner,
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile: join(out, 'app.js'),
  format: 'esm',
  target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
  platform: 'browser',
});
await build({ ...common, entryPoints: [join(here, 'style.css')], outfile: join(out, 'app.css'), target: ['chrome111', 'firefox113', 'safari16.4'] });
for (const f of ['index.html', 'favicon.svg']) copyFileSync(join(here, f), join(out, f));
