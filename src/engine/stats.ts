// The engine's running counters: tokens in and out, steps, time inside model calls vs whole steps, and the
// generation rate over the last few seconds.

import type { EngineStats } from './types.js';

const WINDOW_MS = 5000;

/** Times model calls within one step; a failing call reports its error instead of throwing. */
export class ModelTimer {
  ms = 0;
  time<T>(fn: () => T, onError: (message: string) => void): T | undefined {
    const t = performance.now();
    try {
      return fn();
    } catch (err) {
      onError((err as Error).message);
      return undefined;
    } finally {
      this.ms += performance.now() - t;
    }
  }
}

export class EngineCounters {
  promptTokens = 0;
  cachedPromptTokens = 0;
  generatedTokens = 0;
  prefillTokens = 0;
  steps = 0;
  modelMs = 0;
  stepMs = 0;
  /** Tokens generated per recent step, for the rate. */
  private readonly recent: { t: number; n: number }[] = [];

  modelTimer(): ModelTimer {
    return new ModelTimer();
  }

  endStep(t0: number, generated: number, modelMs: number): void {
    const t1 = performance.now();
    this.steps++;
    this.generatedTokens += generated;
    this.modelMs += modelMs;
    this.stepMs += t1 - t0;
    this.recent.push({ t: t1, n: generated });
    this.trim(t1);
  }

  snapshot(): Pick<EngineStats, 'prefixHitRate' | 'promptTokens' | 'cachedPromptTokens' | 'generatedTokens' | 'prefillTokens' | 'steps' | 'tokensPerS'> {
    const now = performance.now();
    this.trim(now);
    let n = 0;
    for (const x of this.recent) n += x.n;
    const span = this.recent.length ? Math.max(1000, now - this.recent[0]!.t) : 1000;
    return {
      prefixHitRate: this.promptTokens ? this.cachedPromptTokens / this.promptTokens : 0,
      promptTokens: this.promptTokens,
      cachedPromptTokens: this.cachedPromptTokens,
      generatedTokens: this.generatedTokens,
      prefillTokens: this.prefillTokens,
      steps: this.steps,
      tokensPerS: (n * 1000) / span,
    };
  }

  private trim(now: number): void {
    while (this.recent.length > 0 && now - this.recent[0]!.t > WINDOW_MS) this.recent.shift();
  }
}
