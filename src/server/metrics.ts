// Prometheus metrics (/metrics): requests by endpoint and status, latency / time-to-first-token / inter-token
// histograms, tokens in and out, and the engine's own state read at scrape time (running and waiting requests,
// cache blocks used, prefix-cache hit rate). One registry per server, no globals.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineStats } from '../engine/types.js';

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'endpoint' | 'status'>;
  readonly latency: Histogram<'endpoint'>;
  readonly ttft: Histogram<'endpoint'>;
  readonly interToken: Histogram<'endpoint'>;
  readonly promptTokens: Counter<'endpoint'>;
  readonly cachedTokens: Counter<'endpoint'>;
  readonly completionTokens: Counter<'endpoint'>;
  readonly inFlight: Gauge;

  constructor(stats: () => EngineStats) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'glm5_requests_total',
      help: 'HTTP requests by endpoint and status code',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'glm5_request_duration_seconds',
      help: 'Request latency, arrival to last byte',
      labelNames: ['endpoint'],
      registers,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    });
    this.ttft = new Histogram({
      name: 'glm5_time_to_first_token_seconds',
      help: 'Arrival to first generated token',
      labelNames: ['endpoint'],
      registers,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.interToken = new Histogram({
      name: 'glm5_inter_token_seconds',
      help: 'Time between token events of one request',
      labelNames: ['endpoint'],
      registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
    this.promptTokens = new Counter({ name: 'glm5_prompt_tokens_total', help: 'Prompt tokens billed', labelNames: ['endpoint'], registers });
    this.cachedTokens = new Counter({
      name: 'glm5_cached_prompt_tokens_total',
      help: 'Prompt tokens served from the prefix cache',
      labelNames: ['endpoint'],
      registers,
    });
    this.completionTokens = new Counter({ name: 'glm5_completion_tokens_total', help: 'Generated tokens', labelNames: ['endpoint'], registers });
    this.inFlight = new Gauge({ name: 'glm5_http_requests_in_flight', help: 'HTTP generation requests being answered', registers });
    const engineGauge = (name: string, help: string, read: (s: EngineStats) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(stats()));
        },
      });
    };
    engineGauge('glm5_requests_running', 'Requests the engine is running', (s) => s.running);
    engineGauge('glm5_requests_waiting', 'Requests queued in the engine', (s) => s.waiting);
    engineGauge('glm5_cache_blocks_used', 'KV cache blocks held by requests (the prefix cache not counted)', (s) => s.blocksUsed);
    engineGauge('glm5_cache_blocks_cached', 'KV cache blocks held only by the prefix cache (evictable)', (s) => s.blocksCached);
    engineGauge('glm5_cache_blocks_total', 'KV cache blocks in the pool', (s) => s.blocksTotal);
    engineGauge('glm5_cache_capacity_tokens', 'Positions the KV cache holds (blocks × block size)', (s) => s.blocksTotal * s.blockSize);
    engineGauge('glm5_cache_used_tokens', 'Positions in blocks held by requests', (s) => s.blocksUsed * s.blockSize);
    engineGauge('glm5_prefix_cache_hit_rate', 'Prompt tokens served from the prefix cache / all prompt tokens', (s) => s.prefixHitRate);
    engineGauge('glm5_engine_tokens_per_second', 'Generated tokens per second, recent', (s) => s.tokensPerS);
    engineGauge('glm5_engine_preemptions', 'Requests preempted for cache space since start', (s) => s.preemptions);
    engineGauge('glm5_spec_draft_tokens', 'MTP draft tokens proposed since start', (s) => s.draftTokens);
    engineGauge('glm5_spec_accepted_tokens', 'MTP draft tokens accepted since start', (s) => s.acceptedDraftTokens);
    engineGauge('glm5_spec_acceptance_rate', 'Accepted / proposed MTP draft tokens since start', (s) =>
      s.draftTokens ? s.acceptedDraftTokens / s.draftTokens : 0,
    );
    engineGauge('glm5_spec_mean_accepted_length', 'Tokens emitted per speculative verify step (accepted drafts + 1)', (s) =>
      s.speculativeSteps ? (s.acceptedDraftTokens + s.speculativeSteps) / s.speculativeSteps : 0,
    );
  }
}
