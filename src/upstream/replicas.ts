// The replicas behind the front end and what is known of each: its client (once the engine behind the URL is
// known), health with hysteresis, circuit breaker, draining flag, requests in flight and the load its engine
// reports. A monitor loop probes health, reads load and retries detection; requests report their outcomes.

import { connect, type KindChoice } from './detect.js';
import { BREAKER_DEFAULTS, CircuitBreaker, HEALTH_DEFAULTS, HealthState, type BreakerOptions, type HealthOptions } from './health.js';
import type { EngineClient, UpstreamInfo } from './types.js';
import { baseUrl } from './wire.js';

export class Replica {
  client: EngineClient | null = null;
  info: UpstreamInfo | null = null;
  readonly health: HealthState;
  readonly breaker: CircuitBreaker;
  /** Takes no new requests; those in flight finish. */
  draining = false;
  /** Requests this front end has running there now. */
  inFlight = 0;
  /** Running + waiting as the engine's metrics last said (null: not read yet, or it has none). */
  reportedLoad: number | null = null;
  requests = 0;
  failures = 0;
  lastError: string | null = null;

  constructor(
    readonly id: string,
    readonly url: string,
    readonly kind: KindChoice,
    health: HealthOptions,
    breaker: BreakerOptions,
  ) {
    this.health = new HealthState(health);
    this.breaker = new CircuitBreaker(breaker);
  }

  /**
   * Load for balancing: the larger of what this front end has in flight there (exact, instant) and what the
   * engine reports (includes other front ends' requests and queued ones, but is up to one poll old).
   */
  get load(): number {
    return Math.max(this.inFlight, this.reportedLoad ?? 0);
  }

  /** May a new request go here now? */
  available(now: number): boolean {
    return this.client !== null && this.health.status === 'healthy' && !this.draining && this.breaker.allows(now);
  }
}

export interface MonitorOptions {
  /** Between health probes of each replica (default 5 s). */
  readonly healthIntervalMs: number;
  /** Deadline of one probe or metrics read (default 2 s). */
  readonly healthTimeoutMs: number;
  /** Between load reads (default 2 s). */
  readonly loadIntervalMs: number;
  readonly health: HealthOptions;
  readonly breaker: BreakerOptions;
}

export const MONITOR_DEFAULTS: MonitorOptions = {
  healthIntervalMs: 5000,
  healthTimeoutMs: 2000,
  loadIntervalMs: 2000,
  health: HEALTH_DEFAULTS,
  breaker: BREAKER_DEFAULTS,
};

/** The replica list with its monitor loop. */
export class ReplicaSet {
  readonly all: Replica[] = [];
  private nextId = 1;
  private timers: NodeJS.Timeout[] = [];
  private readonly listeners: ((r: Replica, event: 'added' | 'removed') => void)[] = [];

  constructor(
    readonly o: MonitorOptions = MONITOR_DEFAULTS,
    private readonly log: (line: string) => void = () => {},
  ) {}

  onChange(f: (r: Replica, event: 'added' | 'removed') => void): void {
    this.listeners.push(f);
  }

  add(url: string, kind: KindChoice): Replica {
    const u = baseUrl(url);
    if (!/^https?:\/\/[^/]+/.test(u)) throw new Error(`'${url}' is not an http(s) URL`);
    if (this.all.some((r) => r.url === u)) throw new Error(`${u} is already a replica`);
    const r = new Replica(`r${this.nextId++}`, u, kind, this.o.health, this.o.breaker);
    this.all.push(r);
    for (const f of this.listeners) f(r, 'added');
    return r;
  }

  get(id: string): Replica | undefined {
    return this.all.find((r) => r.id === id || r.url === baseUrl(id));
  }

  remove(id: string): Replica | undefined {
    const i = this.all.findIndex((r) => r.id === id || r.url === baseUrl(id));
    if (i < 0) return undefined;
    const [r] = this.all.splice(i, 1);
    for (const f of this.listeners) f(r!, 'removed');
    return r;
  }

  /** One probe of a replica: detect its engine first if not known yet, then GET /health. */
  async probe(r: Replica): Promise<void> {
    if (!r.client) {
      const c = await connect(r.url, r.kind, this.o.healthTimeoutMs);
      if (c) {
        r.client = c.client;
        r.info = c.info;
        this.log(`${r.id} ${r.url}: ${c.info.kind}${c.info.model ? ` (${c.info.model})` : ''}`);
      }
    }
    const ok = r.client !== null && (await r.client.health(this.o.healthTimeoutMs));
    if (r.health.record(ok)) this.log(`${r.id} ${r.url}: ${r.health.status}`);
  }

  async readLoad(r: Replica): Promise<void> {
    if (!r.client || r.health.status !== 'healthy') return;
    r.reportedLoad = await r.client.load(this.o.healthTimeoutMs);
  }

  /** Probes every replica once (at start, so the first requests find them) and starts the loops. */
  async start(): Promise<void> {
    await Promise.all(this.all.map((r) => this.probe(r)));
    await Promise.all(this.all.map((r) => this.readLoad(r)));
    this.every(this.o.healthIntervalMs, () => Promise.all(this.all.map((r) => this.probe(r))));
    this.every(this.o.loadIntervalMs, () => Promise.all(this.all.map((r) => this.readLoad(r))));
  }

  /** Runs f every ms (never two at once); the timers do not keep the process alive. */
  every(ms: number, f: () => unknown): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      void Promise.resolve(f())
        .catch(() => {})
        .finally(() => (busy = false));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
