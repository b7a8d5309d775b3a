// The engine the server runs when `glm5 serve --upstream` is given: the same contract as the local engine
// (tokenizer, template, context, submit → token events, stats), with generation done by replicas of vLLM, SGLang,
// llama-server or glm5 chosen per request by the router. Sampling defaults and stop ids come from the checkpoint's
// config and generation_config.json, as for the local engine; the server's dialects, ledger and metrics see no
// difference. It also answers the /workers admin API (list, add, drain, remove).

import {
  RequestError,
  ContextLengthError,
  type EngineStats,
  type GenerateRequest,
  type RequestStream,
  type SamplingParams,
  type Usage,
} from '../engine/types.js';
import { resolveSampling, samplingDefaults } from '../engine/sampling-params.js';
import type { ChatTemplate } from '../text/chat-template.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { KindChoice } from './detect.js';
import { RETRY_DEFAULTS, type RetryOptions } from './health.js';
import { ByteVocab } from './recover-ids.js';
import { RemoteRequest } from './remote-request.js';
import { MONITOR_DEFAULTS, ReplicaSet, type MonitorOptions, type Replica } from './replicas.js';
import { ROUTER_DEFAULTS, Router, type RouterOptions } from './router.js';
import type { UpstreamError } from './types.js';

export interface RemoteEngineOptions {
  readonly tokenizer: Tokenizer;
  readonly template: ChatTemplate;
  /** max_position_embeddings of the checkpoint's config.json. */
  readonly maxContext: number;
  /** config.json eos_token_id (GLM-5: <|endoftext|>, <|user|>, <|observation|>). */
  readonly eosIds: readonly number[];
  readonly generationConfig: Record<string, unknown>;
  readonly upstreams: readonly string[];
  readonly kind: KindChoice;
  readonly router?: Partial<RouterOptions>;
  readonly monitor?: Partial<MonitorOptions>;
  readonly retry?: Partial<RetryOptions>;
  readonly log?: (line: string) => void;
}

/** One replica as /workers lists it. */
export interface WorkerInfo {
  readonly id: string;
  readonly url: string;
  readonly kind: string;
  readonly model: string | null;
  readonly status: string;
  readonly draining: boolean;
  readonly circuit: string;
  readonly load: number;
  readonly in_flight: number;
  readonly reported_load: number | null;
  readonly tree_tokens: number;
  readonly requests: number;
  readonly failures: number;
  readonly last_error: string | null;
}

const WINDOW_MS = 5000;

export class RemoteEngine {
  readonly tokenizer: Tokenizer;
  readonly template: ChatTemplate;
  readonly maxContext: number;
  readonly replicas: ReplicaSet;
  readonly router: Router;
  private readonly defaults: SamplingParams;
  private readonly eosIds: readonly number[];
  private readonly retry: RetryOptions;
  private readonly live = new Set<RemoteRequest>();
  private readonly bytes: ByteVocab;
  private readonly log: (line: string) => void;
  private closed = false;
  private nextId = 0;
  private counters = { prompt: 0, cached: 0, generated: 0 };
  private readonly recent: { t: number; n: number }[] = [];

  constructor(o: RemoteEngineOptions) {
    this.tokenizer = o.tokenizer;
    this.template = o.template;
    this.maxContext = o.maxContext;
    this.eosIds = o.eosIds;
    this.defaults = samplingDefaults(o.generationConfig);
    this.bytes = new ByteVocab(o.tokenizer);
    this.retry = { ...RETRY_DEFAULTS, ...o.retry };
    this.log = o.log ?? (() => {});
    this.router = new Router({ ...ROUTER_DEFAULTS, ...o.router });
    const monitor = { ...MONITOR_DEFAULTS, ...o.monitor };
    this.replicas = new ReplicaSet(monitor, this.log);
    this.replicas.onChange((r, ev) => ev === 'removed' && this.router.forget(r));
    for (const u of o.upstreams) this.replicas.add(u, o.kind);
    this.replicas.every(Math.max(1000, Math.min(120_000, monitor.healthIntervalMs * 24)), () => this.router.tree.evict(this.router.o.maxTreeTokens));
  }

  /** Probes every replica once, then keeps watching them. */
  start(): Promise<void> {
    return this.replicas.start();
  }

  submit(req: GenerateRequest): RequestStream {
    if (this.closed) throw new RequestError('the engine is shutting down', 'engine_closed');
    if (req.prompt.length === 0) throw new RequestError('the prompt is empty', 'invalid_request');
    const vocab = this.tokenizer.vocabSize;
    for (const ids of [req.prompt, req.generated ?? []])
      for (const t of ids)
        if (!(Number.isInteger(t) && t >= 0 && t < vocab)) throw new RequestError(`token id ${t} is outside the vocabulary (size ${vocab})`, 'invalid_request');
    const start = req.prompt.length + (req.generated?.length ?? 0);
    if (start >= this.maxContext) throw new ContextLengthError(start, this.maxContext, 'context');
    const params = resolveSampling(this.defaults, req.sampling ?? {});
    const now = Date.now();
    if (!this.replicas.all.some((r) => r.available(now))) throw new RequestError(`no upstream replica is available (${this.describe()})`, 'unavailable');
    const stopIds = new Set([...params.stopTokenIds, ...(params.ignoreEos ? [] : this.eosIds)]);
    const r = new RemoteRequest(this.context(), { ...req, id: req.id ?? `req-${++this.nextId}` }, params, stopIds, this.maxContext);
    this.live.add(r);
    this.counters.prompt += start;
    return r.start();
  }

  private context(): ConstructorParameters<typeof RemoteRequest>[0] {
    return {
      tokenizer: this.tokenizer,
      retry: this.retry,
      pick: (prompt, key, exclude) => {
        const now = Date.now();
        return this.router.pick(
          this.replicas.all.filter((r) => r.available(now) && !exclude.has(r.id)),
          prompt,
          key,
          now,
        );
      },
      onStart: (r) => {
        r.inFlight++;
        r.requests++;
        r.breaker.onStart(Date.now());
      },
      onFinish: (r, ok, err) => this.outcome(r, ok, err),
      onDone: (r, req, usage) => this.done(r, req, usage),
      recoverIds: (text, count, then) => this.bytes.recover(text, count, then),
    };
  }

  private outcome(r: Replica, ok: boolean, err?: UpstreamError): void {
    const now = Date.now();
    r.inFlight = Math.max(0, r.inFlight - 1);
    if (ok) {
      r.breaker.onSuccess(now);
      return;
    }
    r.failures++;
    r.lastError = err?.message ?? null;
    r.breaker.onFailure(now);
    // Refused or cut connections are what a failed health probe would show: count them as one.
    if (err && err.status === undefined && r.health.record(false)) this.log(`${r.id} ${r.url}: ${r.health.status} (${err.message})`);
  }

  private done(r: Replica | null, req: RemoteRequest, usage: Usage): void {
    this.live.delete(req);
    this.counters.cached += usage.cachedTokens;
    this.counters.generated += usage.completionTokens;
    const t = performance.now();
    this.recent.push({ t, n: usage.completionTokens });
    while (this.recent.length > 0 && t - this.recent[0]!.t > WINDOW_MS) this.recent.shift();
    if (r) this.router.completed(r, req.prompt, req.generated, Date.now());
  }

  /** One line per replica state, for errors. */
  private describe(): string {
    if (this.replicas.all.length === 0) return 'none configured';
    const now = Date.now();
    return this.replicas.all
      .map(
        (r) =>
          `${r.url} ${r.client ? r.health.status : 'not reached'}${r.draining ? ', draining' : ''}${r.breaker.current(now) !== 'closed' ? `, circuit ${r.breaker.current(now)}` : ''}`,
      )
      .join('; ');
  }

  stats(): EngineStats {
    const now = performance.now();
    let n = 0;
    for (const x of this.recent) if (now - x.t <= WINDOW_MS) n += x.n;
    const c = this.counters;
    return {
      running: this.live.size,
      waiting: 0,
      blockSize: 0,
      blocksTotal: 0,
      blocksUsed: 0,
      blocksFree: 0,
      blocksCached: 0,
      prefixHitRate: c.prompt ? c.cached / c.prompt : 0,
      promptTokens: c.prompt,
      cachedPromptTokens: c.cached,
      generatedTokens: c.generated,
      prefillTokens: 0,
      preemptions: 0,
      steps: 0,
      tokensPerS: (n * 1000) / WINDOW_MS,
      draftTokens: 0,
      acceptedDraftTokens: 0,
      speculativeSteps: 0,
    };
  }

  // ---- the /workers admin API --------------------------------------------------------------------------------

  listWorkers(): WorkerInfo[] {
    const now = Date.now();
    return this.replicas.all.map((r) => ({
      id: r.id,
      url: r.url,
      kind: r.info?.kind ?? (r.kind === 'auto' ? 'unknown' : r.kind),
      model: r.info?.model ?? null,
      status: r.health.status,
      draining: r.draining,
      circuit: r.breaker.current(now),
      load: r.load,
      in_flight: r.inFlight,
      reported_load: r.reportedLoad,
      tree_tokens: this.router.tree.size(r.id),
      requests: r.requests,
      failures: r.failures,
      last_error: r.lastError,
    }));
  }

  /** Adds a replica and probes it at once (it takes requests as soon as it is healthy). */
  async addWorker(url: string, kind: KindChoice = 'auto'): Promise<WorkerInfo> {
    const r = this.replicas.add(url, kind);
    await this.replicas.probe(r);
    await this.replicas.readLoad(r);
    this.log(`${r.id} ${r.url}: added (${r.health.status})`);
    return this.listWorkers().find((w) => w.id === r.id)!;
  }

  /** No new requests go to it; those in flight finish. */
  drainWorker(id: string): WorkerInfo | undefined {
    const r = this.replicas.get(id);
    if (!r) return undefined;
    r.draining = true;
    this.log(`${r.id} ${r.url}: draining`);
    return this.listWorkers().find((w) => w.id === r.id);
  }

  /** Forgets it (requests in flight there finish; its sessions move on their next request). */
  removeWorker(id: string): WorkerInfo | undefined {
    const info = this.listWorkers().find((w) => w.id === id || w.url === id);
    const r = this.replicas.remove(id);
    if (r) this.log(`${r.id} ${r.url}: removed`);
    return r ? info : undefined;
  }

  /** Extra state for /workers: the policy, its settings and how its choices went. */
  routerInfo(): Record<string, unknown> {
    return { ...this.router.o, decisions: this.router.decisions, sessions: this.router.sessionCount };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.replicas.stop();
    for (const r of [...this.live]) r.abort();
  }
}
