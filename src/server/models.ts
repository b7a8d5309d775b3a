// Model names a server answers to: its served names plus alias patterns (`claude-*` lets Claude Code's default
// model names through). The requested name is echoed back; the first served name prices the request.

import type { Pricing } from './pricing.js';
import { priceFor } from './pricing.js';

/** USD per token as a plain decimal string (OpenRouter's `pricing` fields). */
const perToken = (perMillion: number): string => (perMillion / 1e6).toFixed(12).replace(/\.?0+$/, '');

export class ModelNames {
  private readonly patterns: RegExp[];

  /** pricing: listed with each model (what the ledger charges, before any peak multiplier), for clients such as the chat page. */
  constructor(
    readonly served: readonly string[],
    readonly aliases: readonly string[],
    private readonly pricing?: Pricing,
  ) {
    if (served.length === 0) throw new Error('at least one served model name is needed');
    this.patterns = aliases.map(
      (a) =>
        new RegExp(
          '^' +
            a
              .split('*')
              .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
              .join('.*') +
            '$',
        ),
    );
  }

  get primary(): string {
    return this.served[0]!;
  }

  accepts(name: string): boolean {
    return this.served.includes(name) || this.patterns.some((p) => p.test(name));
  }

  /**
   * `GET /v1/models`: the served names (alias patterns are not models), with the context length under vLLM's
   * `max_model_len` and OpenRouter's `context_length` so clients need not guess it.
   */
  list(created: number, contextLength?: number): unknown {
    const p = this.pricing && priceFor(this.pricing, this.primary).price;
    const pricing = p && { prompt: perToken(p.input), completion: perToken(p.output), input_cache_read: perToken(p.cached_input) };
    return {
      object: 'list',
      data: this.served.map((id) => ({
        id,
        object: 'model',
        created,
        owned_by: 'glm5',
        ...(contextLength ? { max_model_len: contextLength, context_length: contextLength } : {}),
        ...(pricing ? { pricing } : {}),
      })),
    };
  }
}
