// glm5 serve: the OpenAI (Chat Completions, Completions, Responses) and Anthropic Messages APIs over the engine,
// with API keys, a usage ledger, Prometheus metrics and a draining shutdown on SIGTERM / SIGINT.

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { intArg, parse } from '../args.js';
import { MODEL_SOURCE_FLAGS, resolveModelSource } from '../model-source.js';
import { MEMORY_FLAGS, tellMemory } from '../memory-check.js';
import { loadConfig } from '../../model/config.js';
import { loadEngine } from '../load-engine.js';
import { ModelNames } from '../../server/models.js';
import { loadPricing } from '../../server/pricing.js';
import { RenderPool } from '../../server/render-pool.js';
import { startServer } from '../../server/server.js';
import { dbPath } from './keys.js';
import { ENGINE_FLAGS, engineOptions, positiveNumber, servingEngine, warmCheckpoint } from '../serving.js';
import { UPSTREAM_FLAGS, UPSTREAM_USAGE, remoteEngineFromFlags } from '../upstream.js';

const warmed = (p: RenderPool): RenderPool => {
  p.warm();
  return p;
};

const USAGE = `glm5 serve [DIR | ORG/NAME] [options]

Serves a checkpoint folder (default: the bundled models/glm5-nano) or a Hugging Face model id such as
zai-org/GLM-4.7-Flash (from the local Hugging Face cache, downloaded there first if missing) over HTTP:
  POST /v1/chat/completions        OpenAI Chat Completions (tools, thinking, n, logprobs, streaming)
  POST /v1/completions             OpenAI Completions (text or token-id prompts, echo, logprobs)
  POST /v1/responses               OpenAI Responses, stateless (Codex CLI)
  POST /v1/messages                Anthropic Messages (Claude Code); /v1/messages/count_tokens
  GET  /v1/models, /health, /metrics (Prometheus)

options:
  --host ADDR               listen address (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N                  (default 8000; 0 picks a free port)
  --served-model-name NAME  a model name to answer to; repeat for more (default: glm-5 and the folder or repo name)
  --revision R              branch, tag or commit of a Hugging Face id (default main)
  --alias PATTERN           extra accepted model names, * as wildcard; repeat (default: claude-* gpt-*)
  --db FILE                 keys and usage ledger, SQLite (default: $GLM5_HOME/glm5.db, GLM5_HOME=~/.glm5)
  --pricing FILE            prices per million tokens, JSON (default: GLM-5 / GLM-5.1 list prices, docs/server.md)
  --max-body-mb N           largest request body (default 16)
  --keep-alive-s N          ping / keep-alive after N silent seconds while streaming (default 10)
  --drain-timeout-s N       on SIGTERM: let requests finish this long, then abort them (default 30)
  --quiet                   no per-request log lines on stderr
  --kv-cache-gb N           KV cache budget (default: 30% of available memory, at most 8, shrunk so the
                            weights, cache and runtime fit what is available)
  --kv-cache-dtype T        f32, bf16 (default) or fp8 (bf16 latent + fp8 indexer keys): bf16 holds twice
                            the tokens of f32 in the same budget (README: memory per context length)
  --skip-memory-check       load even when the model will not fit (the memory line is still printed; the
                            check honours cgroup limits, and GLM5_MEMORY_LIMIT_BYTES overrides what is available)
  --block-size N            positions per cache block (default 32)
  --max-running N           requests batched at once (default 32)
  --max-step-tokens N       tokens per engine step, prefill chunks included (default 512)
  --prefill-itl-ratio R     while streams decode, size the chunks of prompts longer than --max-step-tokens so a
                            step takes at most R × a decode-only step (default 2; 0 = no pacing: chunks take
                            the whole step budget)
  --speculative K           MTP draft tokens per step (0 = off; default 1 when the checkpoint has an MTP layer);
                            up to 16 running requests draft, and only at batch sizes where drafting measures
                            faster than not (the speculation gate, docs/engine.md)
  --backend auto|native|ref, --quantize int8|int4

API keys: none configured = open to anyone who can reach the port (the server says so at start);
create one with \`glm5 keys create NAME\`. Usage and cost: \`glm5 usage\`.

${UPSTREAM_USAGE}`;

export const command: Command = {
  summary: 'serve the OpenAI and Anthropic APIs (chat, completions, responses, messages) over HTTP',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return;
    }
    const { values, positionals } = parse(
      argv,
      {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8000' },
        'served-model-name': { type: 'string', multiple: true },
        alias: { type: 'string', multiple: true },
        db: { type: 'string' },
        pricing: { type: 'string' },
        'max-body-mb': { type: 'string', default: '16' },
        'keep-alive-s': { type: 'string', default: '10' },
        'drain-timeout-s': { type: 'string', default: '30' },
        quiet: { type: 'boolean', default: false },
        ...ENGINE_FLAGS,
        ...MODEL_SOURCE_FLAGS,
        ...MEMORY_FLAGS,
        ...UPSTREAM_FLAGS,
      },
      USAGE,
    );
    if (positionals.length > 1)
      throw new UsageError(`expected at most one model folder or id\nusage: glm5 serve [DIR | ORG/NAME] [options] (glm5 serve --help)`);
    // --upstream: a front end over replicas (tokenizer, template and config only; no weights).
    const remote = values.upstream ? remoteEngineFromFlags(values, positionals[0], (line) => console.error(`glm5 serve: ${line}`)) : null;
    const { dir, name } = remote ?? (await resolveModelSource(positionals[0], { revision: values.revision }));
    const port = intArg(values.port, 'port');
    if (port < 0 || port > 65535) throw new UsageError('--port must be between 0 and 65535');
    const pricing = loadPricing(values.pricing);
    const served = values['served-model-name'] ?? ['glm-5', name];
    const models = new ModelNames([...new Set(served)], values.alias ?? ['claude-*', 'gpt-*'], pricing);

    // What the model will take, told (and refused when it cannot fit) before anything is read.
    const options = engineOptions(values);
    const kvCacheGb = remote
      ? 0
      : tellMemory(loadConfig(dir), { ...options, skip: values['skip-memory-check'], log: (l) => console.error(`glm5 serve: ${l}`) });
    if (remote) await remote.engine.start();
    else await warmCheckpoint(dir);
    const engine = remote ? remote.engine : servingEngine(loadEngine(dir, { ...options, kvCacheGb }));
    const server = await startServer({
      engine,
      models,
      host: values.host,
      port,
      dbPath: dbPath(values.db),
      pricing,
      maxBodyBytes: Math.round(positiveNumber(values['max-body-mb'], 'max-body-mb')! * 1024 * 1024),
      keepAliveMs: positiveNumber(values['keep-alive-s'], 'keep-alive-s')! * 1000,
      ...(values.quiet ? {} : { log: (line: string) => console.error(`glm5 serve: ${new Date().toISOString().slice(11, 19)} ${line}`) }),
      ...(remote ? { workers: remote.workers } : { render: warmed(new RenderPool(dir)) }),
    });
    const drainMs = Number(values['drain-timeout-s']) * 1000;
    console.error(`glm5 serve: ${models.served.join(', ')} from ${dir} (context ${engine.maxContext} tokens)`);
    if (remote)
      console.error(
        `glm5 serve: front end of ${remote.engine
          .listWorkers()
          .map((w) => `${w.url} (${w.kind}, ${w.status})`)
          .join(', ')}; /workers ${remote.workers.adminKey ? 'needs the admin key' : 'is off (no GLM5_ADMIN_KEY)'}`,
      );
    if (server.open)
      console.error('glm5 serve: no API keys configured: the server is open to anyone who can reach it (create one with `glm5 keys create NAME`)');
    console.error(`glm5 serve: ledger ${dbPath(values.db)}`);
    console.error(
      `glm5 serve: OpenAI at ${server.url}/v1 (chat/completions, completions, responses), Anthropic at ${server.url} (v1/messages); docs/server.md shows how to point Claude Code and Codex CLI here`,
    );
    console.error(`glm5 serve: listening on ${server.url}`);

    await new Promise<void>((done) => {
      let stopping = false;
      const stop = (sig: string): void => {
        if (stopping) {
          console.error(`glm5 serve: ${sig}: already draining`);
          return;
        }
        stopping = true;
        console.error(`glm5 serve: ${sig}: draining (new requests get 503; in-flight ones have ${drainMs / 1000}s)`);
        void server.shutdown(drainMs).then(({ finished, aborted }) => {
          console.error(`glm5 serve: stopped (${finished} finished, ${aborted} aborted)`);
          done();
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
  },
};
