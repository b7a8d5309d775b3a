// The chat page at `/` in a real headless Chromium (Debian's `chromium`, driven by playwright-core) against a real
// `glm5 serve` of the bundled model: a streamed answer with collapsed thinking, a demo tool round trip run in the
// page, stop freeing the request on the server (/metrics), conversations kept over a reload (rename, delete), model
// text with <script> / <img onerror> rendered inert under the page's CSP, and the API-key prompt after a 401.
// Screenshots of each view go to test/artifacts/web-ui/ (GLM5_SCREENSHOTS=docs/screenshots refreshes the committed
// ones: `npm run screenshots`). Without Chromium the tests skip with the reason (they fail when CI=true).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { DEFAULT_MODEL_DIR } from '../src/cli/default-model.js';
import { inCi } from './helpers/shared-data.js';
import { KeyStore } from '../src/server/auth.js';
import { openDb } from '../src/server/db.js';
import { metric, startServerProcess } from './server-helpers.js';
import type { ServerProcess } from './server-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = resolve(ROOT, process.env.GLM5_SCREENSHOTS ?? 'test/artifacts/web-ui');
const HAVE_MODEL = existsSync(join(DEFAULT_MODEL_DIR, 'config.json'));

function why(): string | false {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (!HAVE_MODEL) return `the bundled model is missing (${DEFAULT_MODEL_DIR})`;
  return false;
}
const skip = why();
if (skip && inCi()) throw new Error(`web UI tests cannot run: ${skip} (CI is set, so this fails instead of skipping)`);

let server: ServerProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  // Build the page from the current web/ sources (about half a second), so the test never sees a stale dist/web.
  execFileSync(process.execPath, [join(ROOT, 'web/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(SHOTS, { recursive: true });
  [server, browser] = await Promise.all([
    startServerProcess([], DEFAULT_MODEL_DIR),
    chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] }),
  ]);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url + '/');
  await page.waitForSelector('#model option', { state: 'attached' });
  await shot('empty');
});

after(async () => {
  if (skip) return;
  await browser?.close();
  assert.equal(await server?.stop(), 0, server?.stderr());
});

/** Saves a screenshot of the view; every test ends with one, so it also checks the page threw nothing. */
async function shot(name: string): Promise<void> {
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  await page.mouse.move(0, 0); // no hover effects in the picture
  await page.screenshot({ path: join(SHOTS, `${name}.png`), animations: 'disabled' });
}

/** How long a model answer may take: seconds on an idle machine, far more when other jobs share the cores. */
const ANSWER_MS = 120_000;

/** Starts a new conversation and sends a message by typing it (stopping whatever an earlier failed test left running). */
async function ask(text: string): Promise<void> {
  if (await page.isVisible('#stop')) await page.click('#stop');
  await idle();
  await page.click('#new-chat');
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}

const idle = async (): Promise<void> => {
  await page.waitForSelector('#send:not([hidden])', { timeout: ANSWER_MS });
};

test('the page is served with a strict Content-Security-Policy, HEAD too', { skip }, async () => {
  const res = await fetch(server.url + '/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.doesNotMatch(await res.text(), /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the page');
  assert.equal((await fetch(server.url + '/', { method: 'HEAD' })).status, 200);
  assert.equal((await fetch(server.url + '/ui/app.js')).status, 200);
  assert.match(await (await fetch(server.url + '/ui/licenses.txt')).text(), /dompurify 3[\s\S]*highlight\.js 11[\s\S]*/);
});

test('a streamed answer appears, with its thinking collapsed and its usage shown', { skip }, async () => {
  // Record the answer's length at every change: a streamed answer grows in several steps.
  await page.evaluate(() => {
    const w = window as unknown as { __lengths: number[] };
    w.__lengths = [];
    new MutationObserver(() => {
      const a = document.querySelector('.msg.assistant .answer');
      if (a) w.__lengths.push(a.textContent!.length);
    }).observe(document.getElementById('messages')!, { subtree: true, childList: true, characterData: true });
  });
  await ask('What is a cat?');
  await idle();
  const answer = await page.textContent('.msg.assistant .answer');
  assert.match(answer ?? '', /feline/, 'the bundled model defines a cat');
  const lengths = await page.evaluate(() => [...new Set((window as unknown as { __lengths: number[] }).__lengths.filter((n) => n > 0))]);
  assert.ok(lengths.length >= 2, `the answer arrived in steps (${lengths.join(', ')})`);

  const thinking = page.locator('.msg.assistant details.thinking');
  assert.equal(await thinking.evaluate((d) => (d as HTMLDetailsElement).open), false, 'thinking is collapsed once the answer starts');
  assert.match((await thinking.locator('summary').textContent()) ?? '', /Thought for/);
  assert.match((await thinking.locator('.thinking-body').textContent()) ?? '', /The user asks what a cat is/);
  await thinking.locator('summary').click();
  assert.equal(await thinking.evaluate((d) => (d as HTMLDetailsElement).open), true, 'a click opens it');
  await thinking.locator('summary').click();

  const stats = (await page.textContent('.msg.assistant .stats')) ?? '';
  assert.match(stats, /\d+ tokens/);
  assert.match(stats, /[\d.]+ tok\/s/);
  assert.match(stats, /\$\d/, 'a cost from the prices in /v1/models');
  assert.match((await page.getAttribute('.msg.assistant .stats', 'title')) ?? '', /prompt \d+ tokens \(\d+ cached\)/);
  await shot('answer');
});

test('a demo tool call runs in the page and goes round trip to the answer', { skip }, async () => {
  await ask('What is 48 * 7?');
  const call = page.locator('.tool-call[data-tool="calculator"]');
  await call.locator('.tool-status', { hasText: 'done' }).waitFor({ timeout: ANSWER_MS });
  await idle();
  assert.match((await call.locator('.tool-args').textContent()) ?? '', /"expression": "48 \* 7"/);
  assert.match((await call.locator('.tool-result').textContent()) ?? '', /"result": 336/);
  const answers = await page.locator('.msg.assistant .answer:not([hidden])').allTextContents();
  assert.match(answers.join('\n'), /336/, 'the model answers with the tool result');
  assert.equal(await page.locator('.msg.assistant').count(), 2, 'one request for the call, one after the result');
  await shot('tool-call');
});

test('stop aborts the stream and the server frees the request', { skip }, async () => {
  // ignore_eos (a server field, through the settings' extra request fields) keeps the small model going for the rest
  // of its context instead of stopping on its own after a sentence.
  await page.click('#toggle-settings');
  await page.fill('#extra-body', '{"ignore_eos": true}');
  await ask('Tell me a long story.');
  await page.waitForFunction(() => (document.querySelector('.msg.assistant')?.textContent ?? '').length > 40, undefined, { timeout: ANSWER_MS });
  assert.equal(await metric(server.url, 'glm5_requests_running'), 1, 'the request is running while it streams');
  await shot('settings-streaming');
  await page.click('#stop');
  await idle();
  await page.locator('.msg.assistant .badge', { hasText: 'stopped' }).waitFor();
  let running = -1;
  let inFlight = -1;
  for (let i = 0; i < 50; i++) {
    running = await metric(server.url, 'glm5_requests_running');
    inFlight = await metric(server.url, 'glm5_http_requests_in_flight');
    if (running === 0 && inFlight === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(running, 0, 'no running request after stop');
  assert.equal(inFlight, 0, 'no HTTP request in flight after stop');
  await page.fill('#extra-body', '');
  await page.click('#close-settings');
  await shot('stopped');
});

test('conversations survive a reload; rename and delete stick', { skip }, async () => {
  await page.reload();
  await page.waitForSelector('.conv');
  const titles = await page.locator('.conv-open').allTextContents();
  assert.deepEqual(titles.slice(0, 3), ['Tell me a long story.', 'What is 48 * 7?', 'What is a cat?']);
  // The current conversation is restored; open another one.
  await page.locator('.conv-open', { hasText: 'What is 48 * 7?' }).click();
  await page.locator('.tool-call .tool-result', { hasText: '336' }).waitFor();

  const row = page.locator('.conv', { hasText: 'What is a cat?' });
  await row.hover();
  await row.locator('[data-action="rename"]').click();
  await page.fill('.conv-rename', 'Cats');
  await page.press('.conv-rename', 'Enter');
  const story = page.locator('.conv', { hasText: 'Tell me a long story.' });
  await story.hover();
  await story.locator('[data-action="delete"]').click();
  await story.locator('[data-action="delete"]').click(); // a second click confirms
  await page.reload();
  await page.waitForSelector('.conv');
  assert.deepEqual(await page.locator('.conv-open').allTextContents(), ['What is 48 * 7?', 'Cats']);
  await page.locator('.conv-open', { hasText: 'Cats' }).click();
  assert.match((await page.textContent('.msg.assistant .answer')) ?? '', /feline/);
  await shot('reloaded');
});

const HOSTILE = [
  'Here is **Markdown** with a table, code and some hostile HTML.',
  '',
  '| tool | result |',
  '| --- | --- |',
  '| calculator | `336` |',
  '',
  '```ts',
  'export function area(r: number): number {',
  '  // a circle',
  '  return Math.PI * r ** 2;',
  '}',
  '```',
  '',
  '<script>window.__pwned = 1</script>',
  '<img src=x onerror="window.__pwned = 1">',
  '<a href="javascript:window.__pwned = 1">click me</a> and [a link](javascript:window.__pwned=1)',
  '<svg><animate onbegin="window.__pwned = 1" attributeName="x" dur="1s"></animate></svg>',
  '<iframe srcdoc="<script>parent.__pwned = 1</script>"></iframe>',
  '<div style="position:fixed;inset:0;background:red" onmouseover="window.__pwned = 1">styled</div>',
].join('\n');

test('model text with <script> and <img onerror> renders inert', { skip }, async () => {
  // A stored conversation is rendered exactly like a streamed one: put the hostile answer in localStorage.
  await page.evaluate((content) => {
    const list = JSON.parse(localStorage.getItem('glm5.conversations') ?? '[]') as unknown[];
    const now = Date.now();
    list.unshift({
      id: 'hostile',
      title: 'Markdown and hostile HTML',
      created: now,
      updated: now + 1000,
      messages: [
        { id: 'u1', role: 'user', content: 'Show me <script>window.__pwned = 1</script> some Markdown.' },
        {
          id: 'a1',
          role: 'assistant',
          reasoning: 'Thinking <img src=x onerror="window.__pwned = 1"> about it.',
          content,
          stats: {
            model: 'glm-5',
            promptTokens: 120,
            cachedTokens: 96,
            completionTokens: 150,
            reasoningTokens: 12,
            seconds: 1.9,
            ttftSeconds: 0.12,
            tokensPerSecond: 84.2,
            cost: 0.000509,
            finish: 'stop',
            thinkingSeconds: 0.3,
          },
        },
      ],
    });
    localStorage.setItem('glm5.conversations', JSON.stringify(list));
    localStorage.setItem('glm5.current', JSON.stringify('hostile'));
  }, HOSTILE);
  await page.reload();
  await page.waitForSelector('.msg.assistant .answer table');
  await page
    .locator('.msg.assistant .answer a', { hasText: 'click me' })
    .click()
    .catch(() => undefined);
  await page.locator('.msg.assistant .answer').hover();
  await page.waitForTimeout(300); // time for image errors and animations to fire, were any handler left
  const found = await page.evaluate(() => {
    const msgs = document.getElementById('messages')!;
    return {
      pwned: (window as unknown as { __pwned?: number }).__pwned,
      scripts: msgs.querySelectorAll('script').length,
      iframes: msgs.querySelectorAll('iframe').length,
      handlers: [...msgs.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
      styles: msgs.querySelectorAll('.markdown [style]').length,
      jsLinks: [...msgs.querySelectorAll('a')].filter((a) => /^\s*javascript:/i.test(a.getAttribute('href') ?? '')).length,
      imgs: msgs.querySelectorAll('.markdown img').length,
      highlighted: msgs.querySelectorAll('pre code.hljs .hljs-keyword').length,
      userText: msgs.querySelector('.msg.user .bubble')?.textContent,
    };
  });
  assert.equal(found.pwned, undefined, 'no script ran');
  assert.equal(found.scripts, 0);
  assert.equal(found.iframes, 0);
  assert.equal(found.handlers, 0, 'no on* attribute survives');
  assert.equal(found.styles, 0, 'no inline style from the model');
  assert.equal(found.jsLinks, 0, 'no javascript: link');
  assert.ok(found.imgs >= 1, 'the image itself stays (inert)');
  assert.ok(found.highlighted > 0, 'the code block is highlighted');
  assert.match(found.userText ?? '', /<script>/, 'user text is shown as text');
  await shot('markdown');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('markdown-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('a server with keys: the 401 shows a key field, the key is kept and the answer follows', { skip }, async () => {
  // The server re-reads keys on every request: one created in its database applies at once.
  const db = openDb(server.db);
  const keys = new KeyStore(db);
  const { secret } = keys.create('web-ui');
  try {
    await ask('Hello!');
    await page.waitForSelector('#key-banner:not([hidden])');
    assert.match((await page.textContent('.msg-error')) ?? '', /key/i);
    await shot('api-key');
    await page.fill('#key-banner-input', secret);
    await page.click('#key-banner-save');
    await page.waitForFunction(() => (document.querySelector('.msg.assistant:last-child .answer')?.textContent ?? '').length > 0, undefined, {
      timeout: ANSWER_MS,
    });
    await idle();
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('glm5.apiKey') ?? '""') as string), secret);
    assert.equal(await page.locator('.msg-error').count(), 0, 'the failed answer was replaced');
  } finally {
    keys.revoke('web-ui');
    db.close();
  }
});

test('on a phone-sized screen the conversations slide over the chat and nothing scrolls sideways', { skip }, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.reload();
    await page.waitForSelector('.msg.assistant');
    assert.equal(await page.isVisible('#sidebar'), false, 'the list starts hidden');
    await page.click('#open-sidebar');
    await page.locator('.conv-open', { hasText: 'What is 48 * 7?' }).click();
    assert.equal(await page.isVisible('#sidebar'), false, 'choosing a conversation closes the list');
    await page.locator('.tool-call .tool-result', { hasText: '336' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
    await shot('mobile');
    await page.click('#open-sidebar');
    await page.click('#backdrop', { position: { x: 370, y: 400 } });
    assert.equal(await page.isVisible('#sidebar'), false, 'a tap beside the list closes it');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});
