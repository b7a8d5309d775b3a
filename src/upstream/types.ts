// The contract between glm5's remote engine and one upstream inference server (vLLM, SGLang, llama-server or
// another glm5): token ids in, token ids (and their logprobs) out. glm5 renders, tokenizes, detokenizes and parses;
// an upstream only samples. Each engine's client (vllm.ts, sglang.ts, llama-server.ts) maps this onto its own API.

import type { SamplingParams } from '../engine/types.js';

export type UpstreamKind = 'vllm' | 'sglang' | 'llama-server' | 'glm5';

export const UPSTREAM_KINDS: readonly UpstreamKind[] = ['vllm', 'sglang', 'llama-server', 'glm5'];

/** One generation call on one replica. */
export interface UpstreamCall {
  /** Request id sent upstream (SGLang `rid`), so the request can be aborted by id. */
  readonly rid: string;
  /** The prompt as the client's request rendered it. */
  readonly prompt: readonly number[];
  /**
   * Tokens an earlier replica already generated for this request (mid-stream failover). Engines without a
   * resumption field get prompt ‖ resumed as their prompt; glm5 gets them as `generated` so penalties see output.
   */
  readonly resumed: readonly number[];
  /** New tokens this call may generate (the request's budget minus what was resumed). */
  readonly maxTokens: number;
  /** Resolved sampling (generation_config.json defaults under the request's fields). */
  readonly sampling: SamplingParams;
  /** Ids that end generation: the request's stop ids plus the checkpoint's EOS ids unless ignoreEos. */
  readonly stopIds: readonly number[];
  /** Top alternatives per token to report (0 = the sampled token's own logprob only), undefined = none. */
  readonly logprobs: number | undefined;
  /** Aborting it closes the connection (vLLM, llama-server and glm5 stop the request when their client leaves). */
  readonly signal: AbortSignal;
  /**
   * The `count` ids whose bytes, followed by those of `then`, spell `text` (null when none fit): for engines that
   * skip ids in their stream but send their text (llama-server, recover-ids.ts).
   */
  readonly recoverIds: (text: string, count: number, then: readonly number[]) => number[] | null;
}

/** A generated token's log-probability and its top alternatives, by id (glm5 adds the texts). */
export interface UpstreamLogprob {
  readonly id: number;
  readonly logprob: number;
  readonly top: readonly { readonly id: number; readonly logprob: number }[];
}

/** What an upstream stream yields: new tokens as they come, then one end. */
export type UpstreamChunk =
  | {
      readonly type: 'tokens';
      readonly ids: readonly number[];
      readonly logprobs?: readonly UpstreamLogprob[];
      /** Prompt tokens served from the upstream's prefix cache, as soon as it says (every engine can, per chunk). */
      readonly cachedTokens?: number;
    }
  | {
      readonly type: 'end';
      /** The upstream's own reason; glm5 decides the request's reason from the tokens it saw. */
      readonly finish: 'stop' | 'length' | 'abort';
      readonly promptTokens?: number;
      /** Prompt tokens the upstream served from its prefix cache, when it reports them. */
      readonly cachedTokens?: number;
    };

/** What an upstream reports about itself at detection (all optional: engines differ). */
export interface UpstreamInfo {
  readonly kind: UpstreamKind;
  /** The model name to send (vLLM checks it). */
  readonly model?: string;
  /** The upstream's own context limit (vLLM max_model_len, llama-server n_ctx per slot). */
  readonly maxContext?: number;
}

/** A client of one upstream server. */
export interface EngineClient {
  readonly kind: UpstreamKind;
  readonly url: string;
  /**
   * Sends the call. Resolves once the upstream accepted it (2xx headers): a rejection before that is a failure
   * before the first byte, safe to retry on any replica. The iterable ends after its `end` chunk; a stream that
   * breaks off throws.
   */
  generate(call: UpstreamCall): Promise<AsyncIterable<UpstreamChunk>>;
  /** Stops a request by id where the engine has such an endpoint (SGLang and glm5 /abort_request). */
  abort?(rid: string): Promise<void>;
  /** One health probe (GET /health): true when the server says it is ready. */
  health(timeoutMs: number): Promise<boolean>;
  /** Requests running + waiting on the server, read from its metrics endpoint; null when it gives none. */
  load(timeoutMs: number): Promise<number | null>;
}

/** A failed upstream call. `retryable`: the replica (not the request) failed, so another replica may take it. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** HTTP statuses that say the replica, not the request, is at fault (SGLang's gateway retries the same set). */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
