// `glm5 serve --upstream URL[,URL…]`: glm5 as the GLM front end of vLLM, SGLang, llama-server or glm5 replicas.
// Loads what a front end needs and nothing else — tokenizer, chat template, config.json (context, EOS ids) and
// generation_config.json (sampling defaults), no weights — from a folder or a Hugging Face id already in the local
// cache, and builds the remote engine (src/upstream) with the router's, health checks' and retries' settings.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { hubSettings } from './model-source.js';
import { resolveModelDir } from './default-model.js';
import { UsageError } from './command.js';
import { repoCacheDir, resolveRef, snapshotDir } from '../hub/cache.js';
import { parseHubId } from '../hub/repo-id.js';
import { ChatTemplate } from '../text/chat-template.js';
import { Tokenizer } from '../text/tokenizer.js';
import { RemoteEngine } from '../upstream/remote-engine.js';
import { POLICIES, type Policy } from '../upstream/router.js';
import { UPSTREAM_KINDS } from '../upstream/types.js';
import type { KindChoice } from '../upstream/detect.js';
import type { WorkersApiOptions } from '../server/workers-api.js';

export const UPSTREAM_FLAGS = {
  upstream: { type: 'string', multiple: true },
  'upstream-kind': { type: 'string', default: 'auto' },
  tokenizer: { type: 'string' },
  'router-policy': { type: 'string', default: 'cache_aware' },
  'cache-threshold': { type: 'string' },
  'balance-abs-threshold': { type: 'string' },
  'balance-rel-threshold': { type: 'string' },
  'health-interval-s': { type: 'string' },
  'load-interval-s': { type: 'string' },
  'max-retries': { type: 'string' },
  'admin-key-file': { type: 'string' },
} as const;

export const UPSTREAM_USAGE = `front end over upstream replicas (docs/scale-out.md):
  --upstream URL[,URL…]     serve through these replicas instead of loading weights (repeatable)
  --upstream-kind K         auto (default: asks each URL), vllm, sglang, llama-server or glm5
  --tokenizer DIR|ORG/NAME  where tokenizer, chat template and config come from (default: the model argument);
                            a Hugging Face id must be in the local cache (text files are enough)
  --router-policy P         cache_aware (default), round_robin or random
  --cache-threshold X       prefix match ratio that routes to the best-matching replica (default 0.3)
  --balance-abs-threshold N --balance-rel-threshold X   load spread that turns on least-load routing (64, 1.5)
  --health-interval-s N     seconds between health probes of each replica (default 5)
  --load-interval-s N       seconds between load reads (default 2)
  --max-retries N           attempts after the first on other replicas (default 5)
  --admin-key-file FILE     the /workers admin key (or GLM5_ADMIN_KEY); without one /workers is off`;

type Values = Record<string, string | boolean | string[] | undefined>;

const num = (v: unknown, name: string, ok: (n: number) => boolean): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || !ok(n)) throw new UsageError(`--${name}: invalid value '${String(v)}'`);
  return n;
};

/** A folder with the text files: the folder itself, or a cached Hub snapshot that has tokenizer.json. */
function textSource(arg: string | undefined): { dir: string; name: string } {
  if (arg === undefined || existsSync(arg)) {
    const dir = resolve(resolveModelDir(arg));
    return { dir, name: basename(dir) };
  }
  const repo = parseHubId(arg);
  if (!repo) throw new UsageError(`${arg}: no such folder (and not a Hugging Face id like zai-org/GLM-5)`);
  const repoDir = repoCacheDir(hubSettings().cacheDir, repo);
  const commit = resolveRef(repoDir, 'main');
  const dir = commit ? snapshotDir(repoDir, commit) : '';
  if (!dir || !existsSync(join(dir, 'tokenizer.json'))) {
    throw new UsageError(
      `${arg}: its tokenizer is not in the Hugging Face cache; fetch the text files only with\n` +
        `  huggingface-cli download ${arg} --include '*.json' '*.jinja'`,
    );
  }
  return { dir, name: repo.name };
}

const readJson = (path: string): Record<string, unknown> => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {});
const ids = (v: unknown): number[] => (typeof v === 'number' ? [v] : Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);

/** The remote engine for `glm5 serve --upstream …`, with the /workers API options. */
export function remoteEngineFromFlags(
  values: Values,
  positional: string | undefined,
  log: (line: string) => void,
): { engine: RemoteEngine; dir: string; name: string; workers: WorkersApiOptions } {
  const urls = (values.upstream as string[])
    .flatMap((u) => u.split(','))
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw new UsageError('--upstream needs at least one URL');
  const kind = values['upstream-kind'] as string;
  if (kind !== 'auto' && !UPSTREAM_KINDS.includes(kind as never)) throw new UsageError(`--upstream-kind must be auto or one of ${UPSTREAM_KINDS.join(', ')}`);
  const policy = values['router-policy'] as string;
  if (!POLICIES.includes(policy as Policy)) throw new UsageError(`--router-policy must be one of ${POLICIES.join(', ')}`);
  const { dir, name } = textSource((values.tokenizer as string | undefined) ?? positional);
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new UsageError(`${dir}: no tokenizer.json; the front end renders and tokenizes itself`);
  const config = readJson(join(dir, 'config.json'));
  const generationConfig = readJson(join(dir, 'generation_config.json'));
  const maxContext = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 202_752;
  const eosIds = [...new Set([...ids(config.eos_token_id), ...ids(generationConfig.eos_token_id)])];
  const router = {
    policy: policy as Policy,
    ...optional(
      'cacheThreshold',
      num(values['cache-threshold'], 'cache-threshold', (n) => n >= 0 && n <= 1),
    ),
    ...optional(
      'balanceAbsThreshold',
      num(values['balance-abs-threshold'], 'balance-abs-threshold', (n) => n >= 0),
    ),
    ...optional(
      'balanceRelThreshold',
      num(values['balance-rel-threshold'], 'balance-rel-threshold', (n) => n >= 1),
    ),
  };
  const healthS = num(values['health-interval-s'], 'health-interval-s', (n) => n > 0);
  const loadS = num(values['load-interval-s'], 'load-interval-s', (n) => n > 0);
  const retries = num(values['max-retries'], 'max-retries', (n) => Number.isInteger(n) && n >= 0);
  const engine = new RemoteEngine({
    tokenizer: Tokenizer.fromDir(dir),
    template: ChatTemplate.fromDir(dir),
    maxContext,
    eosIds,
    generationConfig,
    upstreams: urls,
    kind: kind as KindChoice,
    router,
    log,
    monitor: { ...optional('healthIntervalMs', healthS && healthS * 1000), ...optional('loadIntervalMs', loadS && loadS * 1000) },
    ...(retries !== undefined ? { retry: { maxRetries: retries } } : {}),
  });
  const keyFile = values['admin-key-file'] as string | undefined;
  const adminKey = keyFile ? readFileSync(keyFile, 'utf8').trim() : process.env.GLM5_ADMIN_KEY?.trim() || null;
  return { engine, dir, name, workers: { admin: engine, adminKey, kinds: ['auto', ...UPSTREAM_KINDS] } };
}

const optional = <K extends string>(k: K, v: number | undefined): { [P in K]?: number } => (v === undefined ? {} : ({ [k]: v } as { [P in K]: number }));
