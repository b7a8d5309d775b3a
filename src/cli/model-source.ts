// The model argument of serve / chat / generate / pull: a folder, or a Hugging Face id (`org/name`).
// An existing path always wins; an id is looked up in the local Hugging Face cache first (no network when a
// complete snapshot is there, so `huggingface-cli download` users are served offline) and downloaded into
// that cache otherwise. This is the one place the HF_* environment variables are read.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { cachedModel } from '../hub/cache.js';
import { pullModel, type HubAccess, type PullProgress, type PullResult } from '../hub/download.js';
import { HubError, parseHubId, repoString, type RepoId } from '../hub/repo-id.js';
import { UsageError } from './command.js';
import { resolveModelDir } from './default-model.js';

export const MODEL_SOURCE_FLAGS = {
  revision: { type: 'string' },
} as const;

export interface HubSettings extends HubAccess {
  /** HF_HUB_OFFLINE: never contact the Hub. */
  readonly offline: boolean;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|on|yes|true)$/i.test(v.trim());

/** huggingface_hub's environment: HF_HUB_CACHE / HF_HOME (XDG_CACHE_HOME), HF_ENDPOINT, HF_TOKEN (or the saved login), HF_HUB_OFFLINE. */
export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  const cacheDir = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(home, 'hub');
  const tokenFile = env.HF_TOKEN_PATH || join(home, 'token');
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '') || undefined;
  const endpoint = (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  return { cacheDir, endpoint, ...(token ? { token } : {}), offline: truthy(env.HF_HUB_OFFLINE) };
}

/** A progress bar on stderr (redrawn in a terminal, a line every few seconds and at the end otherwise). */
export function progressBar(label: string): PullProgress {
  const tty = process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {percentage}% | {value}/{total} MB | {file}`,
      stream: process.stderr,
      hideCursor: tty,
      noTTYOutput: !tty,
      notTTYSchedule: 3000,
      etaBuffer: 64,
    },
    cliProgress.Presets.shades_classic,
  );
  const mb = (b: number) => Math.round(b / 1e5) / 10;
  let done = 0;
  return {
    start(total, present, files) {
      done = present;
      bar.start(mb(total), mb(present), { file: `${files} files` });
    },
    advance(bytes, file) {
      done += bytes;
      bar.update(mb(done), { file });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Downloads (or completes) a Hub model in the cache with a progress bar. */
export async function pullHubModel(repo: RepoId, revision: string, hub: HubSettings): Promise<PullResult> {
  if (hub.offline) throw new HubError(`${repoString(repo)}: HF_HUB_OFFLINE is set, so nothing is downloaded`);
  return pullModel(repo, revision, hub, progressBar(`downloading ${repoString(repo)}`));
}

export interface ModelSource {
  /** Absolute folder to load. */
  readonly dir: string;
  /** A short name for it: the folder's, or the Hub repo's (a snapshot folder is named by its commit). */
  readonly name: string;
}

/**
 * The folder to load for a command's model argument: the bundled default (none given), the folder (it exists),
 * or the cached / downloaded snapshot of a Hub id.
 */
export async function resolveModelSource(arg: string | undefined, opts: { revision?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ModelSource> {
  if (arg === undefined || existsSync(arg)) {
    if (opts.revision !== undefined) throw new UsageError('--revision applies to a Hugging Face id (org/name), not to a folder');
    const dir = resolve(resolveModelDir(arg));
    return { dir, name: basename(dir) };
  }
  const repo = parseHubId(arg);
  if (!repo) throw new UsageError(`${arg}: no such model folder (and not a Hugging Face id like zai-org/GLM-4.7-Flash)`);
  const hub = hubSettings(opts.env);
  const revision = opts.revision ?? 'main';
  const cached = cachedModel(hub.cacheDir, repo, revision);
  if (cached) return { dir: cached.dir, name: repo.name };
  if (hub.offline) {
    throw new HubError(
      `${arg}@${revision} is not in the Hugging Face cache ${hub.cacheDir} and HF_HUB_OFFLINE is set; ` +
        'download it first (glm5 pull, or huggingface-cli download), or pass a local folder',
    );
  }
  console.error(`glm5: ${arg}@${revision} is not in the Hugging Face cache (${hub.cacheDir}); downloading from ${hub.endpoint}`);
  return { dir: (await pullHubModel(repo, revision, hub)).dir, name: repo.name };
}
