// Prices per million tokens and the cost of one request (serving.md §8), from a JSON config file whose defaults
// are the published GLM-5 / GLM-5.1 prices, including GLM-5.1's ×3 peak window (14:00–18:00 Beijing time).

import { readFileSync } from 'node:fs';
import { z } from 'zod';

const zPeak = z.object({
  multiplier: z.number().positive(),
  /** Local clock times "HH:MM" in the given UTC offset; the window is [start, end). */
  start: z.string().regex(/^\d\d:\d\d$/),
  end: z.string().regex(/^\d\d:\d\d$/),
  utc_offset_hours: z.number(),
});
const zPrice = z.object({
  input: z.number().min(0),
  cached_input: z.number().min(0),
  output: z.number().min(0),
  peak: zPeak.nullish(),
});
export const zPricing = z.object({
  /** Which entry prices a served model with no entry of its own. */
  default: z.string(),
  models: z.record(z.string(), zPrice),
});
export type Pricing = z.infer<typeof zPricing>;
export type ModelPrice = z.infer<typeof zPrice>;

export const DEFAULT_PRICING: Pricing = {
  default: 'glm-5',
  models: {
    'glm-5': { input: 1.0, cached_input: 0.2, output: 3.2 },
    'glm-5.1': { input: 1.4, cached_input: 0.26, output: 4.4, peak: { multiplier: 3, start: '14:00', end: '18:00', utc_offset_hours: 8 } },
  },
};

export function loadPricing(path: string | undefined): Pricing {
  if (!path) return DEFAULT_PRICING;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const r = zPricing.safeParse(json);
  if (!r.success) throw new Error(`${path}: ${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
  if (!r.data.models[r.data.default]) throw new Error(`${path}: default '${r.data.default}' has no entry in models`);
  return r.data;
}

export function priceFor(p: Pricing, model: string): { name: string; price: ModelPrice } {
  const own = p.models[model];
  return own ? { name: model, price: own } : { name: p.default, price: p.models[p.default]! };
}

/** The peak multiplier at a moment (1 outside the window). */
export function multiplierAt(price: ModelPrice, at: Date): number {
  const pk = price.peak;
  if (!pk) return 1;
  const minutes = (((at.getUTCHours() * 60 + at.getUTCMinutes() + pk.utc_offset_hours * 60) % 1440) + 1440) % 1440;
  const toMin = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  const a = toMin(pk.start);
  const b = toMin(pk.end);
  const inside = a <= b ? minutes >= a && minutes < b : minutes >= a || minutes < b;
  return inside ? pk.multiplier : 1;
}

/** USD: ((prompt − cached) × input + cached × cached_input + completion × output) / 1e6 × multiplier. */
export function cost(price: ModelPrice, u: { promptTokens: number; cachedTokens: number; completionTokens: number }, multiplier: number): number {
  return (((u.promptTokens - u.cachedTokens) * price.input + u.cachedTokens * price.cached_input + u.completionTokens * price.output) / 1e6) * multiplier;
}
