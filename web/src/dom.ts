// Small DOM helpers: elements from a tag + attributes + children, and the page's line icons (drawn here, so
// nothing is fetched and nothing is inlined as HTML).

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Replaces an element's children with these nodes (a loop, not a spread: the list has no fixed bound). */
export function setChildren(el: Element, nodes: Iterable<Node>): void {
  const f = document.createDocumentFragment();
  for (const n of nodes) f.append(n);
  el.replaceChildren(f);
}

type Shape = readonly [tag: 'path' | 'rect' | 'circle', attrs: Readonly<Record<string, string>>];

const ICONS: Record<string, readonly Shape[]> = {
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
  copy: [
    ['rect', { x: '9', y: '9', width: '12', height: '12', rx: '2' }],
    ['path', { d: 'M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1' }],
  ],
  check: [['path', { d: 'M20 6 9 17l-5-5' }]],
  refresh: [['path', { d: 'M3 12a9 9 0 0 1 15-6.7L21 8M21 3v5h-5M21 12a9 9 0 0 1-15 6.7L3 16M3 21v-5h5' }]],
  pencil: [['path', { d: 'M17 3a2.85 2.85 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5Z' }]],
  trash: [['path', { d: 'M3 6h18M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6M8 6V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2M10 11v6M14 11v6' }]],
  sliders: [['path', { d: 'M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M1 14h6M9 8h6M17 16h6' }]],
  send: [['path', { d: 'M12 19V5M5 12l7-7 7 7' }]],
  stop: [['rect', { x: '6', y: '6', width: '12', height: '12', rx: '2', fill: 'currentColor' }]],
  panel: [
    ['rect', { x: '3', y: '3', width: '18', height: '18', rx: '2' }],
    ['path', { d: 'M9 3v18' }],
  ],
  tool: [['path', { d: 'M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.8-3.8a6 6 0 0 1-7.9 7.9l-6.9 6.9a2.1 2.1 0 0 1-3-3l6.9-6.9a6 6 0 0 1 7.9-7.9z' }]],
  bulb: [['path', { d: 'M9 18h6M10 22h4M12 2a7 7 0 0 0-4 12.7c.6.5 1 1.3 1 2.3h6c0-1 .4-1.8 1-2.3A7 7 0 0 0 12 2z' }]],
  chevron: [['path', { d: 'm9 18 6-6-6-6' }]],
  key: [
    ['circle', { cx: '7.5', cy: '15.5', r: '5.5' }],
    ['path', { d: 'm21 2-9.6 9.6M15.5 7.5l3 3L22 7l-3-3' }],
  ],
  chat: [['path', { d: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z' }]],
  close: [['path', { d: 'M18 6 6 18M6 6l12 12' }]],
  alert: [
    ['circle', { cx: '12', cy: '12', r: '10' }],
    ['path', { d: 'M12 8v4M12 16h.01' }],
  ],
};

const SVG = 'http://www.w3.org/2000/svg';

export function icon(name: keyof typeof ICONS | string): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  for (const [k, v] of Object.entries({
    viewBox: '0 0 24 24',
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': '2',
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
    'aria-hidden': 'true',
    class: 'icon',
  }))
    svg.setAttribute(k, v);
  for (const [tag, attrs] of ICONS[name] ?? []) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}

/** Fills every `[data-icon]` element of the static page with its icon. */
export function fillIcons(root: ParentNode): void {
  for (const el of root.querySelectorAll<HTMLElement>('[data-icon]')) el.prepend(icon(el.dataset.icon!));
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // no clipboard permission (plain http on another host): the old way
    const ta = h('textarea', { class: 'offscreen' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

/** Briefly shows that a button did its job. */
export function flash(button: HTMLElement, label = 'Copied'): void {
  const before = button.getAttribute('data-label') ?? button.textContent ?? '';
  button.setAttribute('data-label', before);
  button.classList.add('done');
  const text = [...button.childNodes].find((n) => n.nodeType === Node.TEXT_NODE);
  if (text) text.textContent = label;
  setTimeout(() => {
    button.classList.remove('done');
    if (text) text.textContent = before;
  }, 1200);
}
