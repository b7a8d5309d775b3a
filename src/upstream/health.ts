// Replica health as the router sees it: health probes with hysteresis (a replica changes state only after several
// probes agree, so one slow answer does not flap it), a per-replica circuit breaker over request outcomes, and
// jittered exponential backoff between attempts. Defaults follow SGLang's model gateway where it has one
// (docs/scale-out.md lists them); time is passed in, so tests drive it.

export interface HealthOptions {
  /** Consecutive failed probes that take a healthy replica out (default 3). */
  readonly failureThreshold: number;
  /** Consecutive good probes that bring an unhealthy replica back (default 2). */
  readonly successThreshold: number;
}

export const HEALTH_DEFAULTS: HealthOptions = { failureThreshold: 3, successThreshold: 2 };

export type HealthStatus = 'unknown' | 'healthy' | 'unhealthy';

/**
 * Probe results with hysteresis. A new replica is `unknown` until its first probe: one success makes it healthy
 * at once (nothing to protect yet), one failure unhealthy. After that it takes `failureThreshold` failures in a
 * row to go down and `successThreshold` successes in a row to come back. A connection refused or cut by a
 * request counts as a failed probe too (the same evidence, sooner).
 */
export class HealthState {
  status: HealthStatus = 'unknown';
  private failures = 0;
  private successes = 0;

  constructor(private readonly o: HealthOptions = HEALTH_DEFAULTS) {}

  /** Records one probe; returns true when the status changed. */
  record(ok: boolean): boolean {
    const before = this.status;
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.status === 'unknown' || (this.status === 'unhealthy' && this.successes >= this.o.successThreshold)) this.status = 'healthy';
    } else {
      this.successes = 0;
      this.failures++;
      if (this.status === 'unknown' || (this.status === 'healthy' && this.failures >= this.o.failureThreshold)) this.status = 'unhealthy';
    }
    return this.status !== before;
  }
}

export interface BreakerOptions {
  /** Failures within `windowMs` that open the circuit (default 5). */
  readonly failureThreshold: number;
  /** Successful trial requests that close a half-open circuit (default 2). */
  readonly successThreshold: number;
  /** How long an open circuit refuses requests before letting trials through (default 30 s). */
  readonly openMs: number;
  /** Failures older than this stop counting (default 60 s). */
  readonly windowMs: number;
}

export const BREAKER_DEFAULTS: BreakerOptions = { failureThreshold: 5, successThreshold: 2, openMs: 30_000, windowMs: 60_000 };

export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * A per-replica circuit breaker over request outcomes: closed (requests flow) → open after `failureThreshold`
 * failures within the window (requests go elsewhere) → half-open after `openMs` (one trial at a time) → closed after
 * `successThreshold` good trials, or open again on a failed one. A success while closed clears the count.
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures: number[] = [];
  private openedAt = 0;
  private trials = 0;
  private goodTrials = 0;

  constructor(private readonly o: BreakerOptions = BREAKER_DEFAULTS) {}

  current(now: number): CircuitState {
    if (this.state === 'open' && now - this.openedAt >= this.o.openMs) {
      this.state = 'half_open';
      this.trials = 0;
      this.goodTrials = 0;
    }
    return this.state;
  }

  /** May a request go to this replica now? (half-open: one trial in flight at a time). */
  allows(now: number): boolean {
    const s = this.current(now);
    return s === 'closed' || (s === 'half_open' && this.trials === 0);
  }

  /** A request was sent (counts the half-open trial). */
  onStart(now: number): void {
    if (this.current(now) === 'half_open') this.trials++;
  }

  onSuccess(now: number): void {
    const s = this.current(now);
    if (s === 'half_open') {
      this.trials = Math.max(0, this.trials - 1);
      if (++this.goodTrials >= this.o.successThreshold) {
        this.state = 'closed';
        this.failures = [];
      }
    } else if (s === 'closed') this.failures = [];
  }

  onFailure(now: number): void {
    const s = this.current(now);
    if (s === 'half_open') {
      this.open(now);
      return;
    }
    if (s === 'open') return;
    this.failures = this.failures.filter((t) => now - t < this.o.windowMs);
    this.failures.push(now);
    if (this.failures.length >= this.o.failureThreshold) this.open(now);
  }

  private open(now: number): void {
    this.state = 'open';
    this.openedAt = now;
    this.failures = [];
    this.trials = 0;
  }
}

export interface RetryOptions {
  /** Attempts after the first (default 5, SGLang's gateway too). */
  readonly maxRetries: number;
  /** First backoff (default 50 ms), multiplied by `multiplier` (2) per retry up to `maxMs` (5 s). */
  readonly initialMs: number;
  readonly multiplier: number;
  readonly maxMs: number;
  /** Each wait is scaled by a random factor in [1 − jitter, 1 + jitter] (default 0.2). */
  readonly jitter: number;
}

export const RETRY_DEFAULTS: RetryOptions = { maxRetries: 5, initialMs: 50, multiplier: 2, maxMs: 5000, jitter: 0.2 };

/** The wait before retry number `retry` (1-based), jittered so that many clients do not retry in step. */
export function backoffMs(retry: number, o: RetryOptions = RETRY_DEFAULTS, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.initialMs * o.multiplier ** Math.max(0, retry - 1));
  return Math.max(0, base * (1 + o.jitter * (2 * random() - 1)));
}
