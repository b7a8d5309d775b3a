// Model text → safe DOM: Markdown (marked, GitHub flavour) → DOMPurify → highlighted code (highlight.js).
// Model output is untrusted: sanitizing removes scripts, event-handler attributes, forms, styles and
// javascript: URLs, and the page's Content-Security-Policy blocks inline scripts and remote images besides.

import DOMPurify from 'dompurify';
import type { Config } from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { Marked } from 'marked';

const LANGUAGES = { bash, c, cpp, css, diff, go, java, javascript, json, markdown, plaintext, python, rust, shell, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

const marked = new Marked({ gfm: true, breaks: true });

// Links open in a new tab without giving it a handle on this page.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

const PURIFY: Config & { RETURN_DOM_FRAGMENT: true } = {
  RETURN_DOM_FRAGMENT: true,
  USE_PROFILES: { html: true }, // no SVG or MathML: answers are Markdown, and those carry the most parser tricks
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'object', 'embed', 'link', 'meta', 'base'],
  FORBID_ATTR: ['style', 'id', 'name', 'srcset'],
};

/** The sanitized DOM for Markdown text; `<pre><code>` blocks highlighted and given a header with a copy button. */
export function markdownFragment(text: string): DocumentFragment {
  const html = marked.parse(text, { async: false });
  const frag = DOMPurify.sanitize(html, PURIFY);
  for (const code of frag.querySelectorAll('pre > code')) decorateCode(code as HTMLElement);
  return frag;
}

function decorateCode(code: HTMLElement): void {
  const lang = /(?:^|\s)language-([\w+#-]+)/.exec(code.className)?.[1]?.toLowerCase();
  const known = lang !== undefined && hljs.getLanguage(lang) !== undefined;
  if (known) {
    code.innerHTML = hljs.highlight(code.textContent ?? '', { language: lang, ignoreIllegals: true }).value;
    code.classList.add('hljs');
  }
  const pre = code.parentElement!;
  const bar = document.createElement('div');
  bar.className = 'code-bar';
  const label = document.createElement('span');
  label.textContent = lang ?? 'text';
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'code-copy';
  copy.dataset.action = 'copy-code';
  copy.textContent = 'Copy';
  bar.append(label, copy);
  pre.prepend(bar);
}

/** Sets an element's content to rendered Markdown. */
export function renderMarkdown(el: HTMLElement, text: string): void {
  el.replaceChildren(markdownFragment(text));
}
