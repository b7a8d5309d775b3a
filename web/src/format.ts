// Numbers as the page shows them: token counts, speeds, durations, prices, and the cost of one request.

import type { Price, Usage } from './api.js';
import type { Stats } from './store.js';

/** USD: ((prompt − cached) × input + cached × cached input + completion × output) / 1e6, as src/server/pricing.ts. */
export function costOf(u: Usage, p: Price): number {
  const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
  return ((u.prompt_tokens - cached) * p.input + cached * p.cachedInput + u.completion_tokens * p.output) / 1e6;
}

export function usd(x: number): string {
  if (x === 0) return '$0';
  if (x >= 0.01) return `$${x.toFixed(2)}`;
  return `$${x.toPrecision(2)}`;
}

export const count = (n: number): string => n.toLocaleString('en-US');

export function duration(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** The one-line summary under an answer; the tooltip has every field. */
export function statsLine(s: Stats): { parts: string[]; title: string } {
  const parts = [`${count(s.completionTokens)} tokens`, `${s.tokensPerSecond.toFixed(1)} tok/s`];
  if (s.cachedTokens > 0) parts.push(`${count(s.cachedTokens)} cached`);
  if (s.cost !== undefined) parts.push(usd(s.cost));
  const title = [
    `model ${s.model}`,
    `prompt ${count(s.promptTokens)} tokens (${count(s.cachedTokens)} cached)`,
    `completion ${count(s.completionTokens)} tokens (${count(s.reasoningTokens)} thinking)`,
    `first token after ${duration(s.ttftSeconds)}, total ${duration(s.seconds)}`,
    `${s.tokensPerSecond.toFixed(1)} tokens/s after the first token`,
    s.cost !== undefined ? `cost ${usd(s.cost)}` : 'no price known',
    `finish: ${s.finish}`,
  ].join('\n');
  return { parts, title };
}

export function relativeDay(t: number, now = Date.now()): string {
  const day = (x: number): number => Math.floor((x - new Date(x).getTimezoneOffset() * 60000) / 86400000);
  const d = day(now) - day(t);
  return d <= 0 ? 'Today' : d === 1 ? 'Yesterday' : d < 7 ? 'Previous 7 days' : d < 30 ? 'Previous 30 days' : 'Older';
}
