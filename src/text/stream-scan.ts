// Small helpers shared by the streaming parsers: find the earliest of several tags, and how much of a buffer's
// end must be held back because it could be the start of a tag that the next chunk completes.

export interface TagHit {
  readonly tag: string;
  readonly index: number;
}

/** Earliest occurrence of any tag at or after `from` (ties: the longer tag). */
export function findFirst(buf: string, tags: readonly string[], from = 0): TagHit | undefined {
  let best: TagHit | undefined;
  for (const tag of tags) {
    const i = buf.indexOf(tag, from);
    if (i >= 0 && (!best || i < best.index || (i === best.index && tag.length > best.tag.length))) best = { tag, index: i };
  }
  return best;
}

/** Length of the longest suffix of buf that is a proper prefix of one of the tags. */
export function partialTagLength(buf: string, tags: readonly string[]): number {
  let longest = -Infinity; // a loop, not Math.max(...): no argument-count limit
  for (const t of tags) longest = Math.max(longest, t.length);
  const max = Math.min(buf.length, longest - 1);
  for (let k = max; k > 0; k--) {
    const tail = buf.slice(buf.length - k);
    if (tags.some((t) => t.length > k && t.startsWith(tail))) return k;
  }
  return 0;
}

/** Cut point that never ends a piece on a high surrogate (its pair may be in the next chunk; JSON escaping would differ). */
export function safeCut(buf: string, end: number): number {
  if (end > 0) {
    const c = buf.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) return end - 1;
  }
  return end;
}
