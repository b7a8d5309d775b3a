// Downloads a model repository's files into the local Hugging Face cache (cache.ts) with @huggingface/hub:
// the revision's commit and file list (modelInfo), each file's size and ETag (fileDownloadInfo), and the
// bytes over plain HTTP ranges (downloadFile with xet off). Only the files a glm5 model folder reads are
// fetched. A file is written to blobs/<etag>.incomplete and renamed when whole; an interrupted download
// keeps its .incomplete and the next pull asks for the rest (Range: bytes=<have>-), never starting again.

import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadFile, fileDownloadInfo, modelInfo } from '@huggingface/hub';
import { blobPath, linkSnapshotFile, repoCacheDir, snapshotDir, writeRef } from './cache.js';
import { HubError, repoString, type RepoId } from './repo-id.js';

/** Top-level files of a repo that glm5 reads: config, generation defaults, tokenizer, chat template, safetensors weights. */
const MODEL_FILES = new Set([
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'model.safetensors.index.json',
]);

export function neededFiles(repoFiles: readonly string[]): string[] {
  return repoFiles.filter((f) => !f.includes('/') && (MODEL_FILES.has(f) || f.endsWith('.safetensors'))).sort();
}

export interface HubAccess {
  /** The cache folder (huggingface_hub's HF_HUB_CACHE). */
  readonly cacheDir: string;
  /** Hub base URL (HF_ENDPOINT), e.g. https://huggingface.co. */
  readonly endpoint: string;
  /** An `hf_…` access token for gated or private repos. */
  readonly token?: string;
  readonly fetch?: typeof fetch;
}

/** Byte counts as a pull goes (the CLI draws them as a progress bar). */
export interface PullProgress {
  /** Once the file list is known: bytes of all needed files, how many of them are already on disk. */
  start(totalBytes: number, presentBytes: number, files: number): void;
  advance(bytes: number, file: string): void;
  stop(): void;
}

export interface PullResult {
  /** The snapshot folder: a model folder every glm5 command loads. */
  readonly dir: string;
  readonly commit: string;
  readonly files: readonly string[];
  /** Bytes fetched by this call (0 when everything was cached). */
  readonly downloadedBytes: number;
}

interface FileInfo {
  readonly path: string;
  readonly etag: string;
  readonly size: number;
  readonly info: Awaited<ReturnType<typeof fileDownloadInfo>> & object;
}

/** ETag header → blob name: huggingface_hub strips a weak-validator prefix and the quotes. */
export function blobName(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Network failures and Hub answers as one-line errors that say what to do. */
function explain(e: unknown, what: string, access: HubAccess, repo: RepoId): HubError {
  if (e instanceof HubError) return e;
  const err = e as Error & { statusCode?: number; cause?: { code?: string; message?: string } };
  const id = repoString(repo);
  if (err.statusCode === 401 || err.statusCode === 403) {
    return new HubError(
      `${id}: ${what}: access denied (HTTP ${err.statusCode}) — a gated or private repo needs HF_TOKEN (an hf_… token that has accepted its terms)`,
    );
  }
  if (err.statusCode === 404) return new HubError(`${id}: ${what}: not found on ${access.endpoint} (HTTP 404) — check the id and --revision`);
  const cause = err.cause?.code ?? err.cause?.message ?? err.message;
  return new HubError(
    `${id}: ${what}: cannot reach ${access.endpoint} (${cause}); it is not in the local cache ${access.cacheDir} either — ` +
      'download it where the network is reachable (glm5 pull, or huggingface-cli download) and copy the cache, or pass a local folder',
  );
}

/** A fetch that refuses a server answering a ranged request with the whole file (appending it would corrupt the blob). */
function rangeChecked(f: typeof fetch): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await f(input, init);
    const range = new Headers(init?.headers).get('range');
    if (range && !/^bytes=0-/.test(range) && res.status === 200) {
      await res.body?.cancel();
      throw new HubError(`${String(input)}: the server ignored Range (${range}); cannot resume`);
    }
    return res;
  }) as typeof fetch;
}

/**
 * Resolves `revision` on the Hub to a commit, fetches the needed files that are not already cached (resuming
 * partial ones) and points refs/<revision> at the commit. Returns the snapshot folder.
 */
export async function pullModel(repo: RepoId, revision: string, access: HubAccess, progress?: PullProgress): Promise<PullResult> {
  const id = repoString(repo);
  const common = { hubUrl: access.endpoint, fetch: rangeChecked(access.fetch ?? fetch), ...(access.token ? { accessToken: access.token } : {}) };
  let listing: { sha?: string; filePaths?: string[] };
  try {
    listing = await modelInfo({ name: id, revision, additionalFields: ['sha', 'filePaths'], ...common });
  } catch (e) {
    throw explain(e, `revision '${revision}'`, access, repo);
  }
  const commit = listing.sha;
  if (!commit) throw new HubError(`${id}: the Hub gave no commit for revision '${revision}'`);
  const files = neededFiles(listing.filePaths ?? []);
  if (!files.includes('config.json') || !files.some((f) => f.endsWith('.safetensors'))) {
    throw new HubError(
      `${id}@${revision}: no config.json + *.safetensors checkpoint (glm5 loads Hugging Face safetensors folders; GGUF repos are for llama.cpp)`,
    );
  }

  const repoDir = repoCacheDir(access.cacheDir, repo);
  const infos: FileInfo[] = [];
  for (const path of files) {
    let info;
    try {
      info = await fileDownloadInfo({ repo: id, path, revision: commit, ...common });
    } catch (e) {
      throw explain(e, path, access, repo);
    }
    if (!info) throw new HubError(`${id}: ${path} is listed at ${commit} but cannot be fetched`);
    infos.push({ path, etag: blobName(info.etag), size: info.size, info });
  }
  let total = 0,
    present = 0;
  for (const f of infos) {
    total += f.size;
    const blob = blobPath(repoDir, f.etag);
    present += existsSync(blob) ? f.size : existsSync(`${blob}.incomplete`) ? Math.min(statSync(`${blob}.incomplete`).size, f.size) : 0;
  }
  progress?.start(total, present, infos.length);
  let downloaded = 0;
  try {
    for (const f of infos) {
      const blob = blobPath(repoDir, f.etag);
      if (!existsSync(blob)) downloaded += await fetchBlob(f, blob, { id, commit, common, progress });
      linkSnapshotFile(repoDir, commit, f.path, f.etag);
    }
  } finally {
    progress?.stop();
  }
  writeRef(repoDir, revision, commit);
  return { dir: snapshotDir(repoDir, commit), commit, files, downloadedBytes: downloaded };
}

interface FetchContext {
  readonly id: string;
  readonly commit: string;
  readonly common: { hubUrl: string; fetch: typeof fetch; accessToken?: string };
  readonly progress?: PullProgress;
}

/** Downloads one file into blob (through blob.incomplete, resumed from its length). Returns the bytes fetched. */
async function fetchBlob(f: FileInfo, blob: string, ctx: FetchContext): Promise<number> {
  const partial = `${blob}.incomplete`;
  mkdirSync(dirname(blob), { recursive: true });
  let have = existsSync(partial) ? statSync(partial).size : 0;
  if (have > f.size) {
    rmSync(partial);
    have = 0;
  }
  let got = 0;
  if (have < f.size) {
    const whole = await downloadFile({ repo: ctx.id, path: f.path, revision: ctx.commit, downloadInfo: f.info, xet: false, ...ctx.common });
    if (!whole) throw new HubError(`${ctx.id}: ${f.path} disappeared from ${ctx.commit}`);
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        got += chunk.length;
        ctx.progress?.advance(chunk.length, f.path);
        done(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb((have > 0 ? whole.slice(have) : whole).stream() as import('node:stream/web').ReadableStream),
        count,
        createWriteStream(partial, { flags: 'a' }),
      );
    } catch (e) {
      throw new HubError(
        `${ctx.id}: download of ${f.path} interrupted at ${have + got} of ${f.size} bytes (${(e as Error).message}); run the same command again to resume`,
      );
    }
  }
  const size = statSync(partial).size;
  if (size !== f.size) {
    if (size > f.size) rmSync(partial);
    throw new HubError(
      `${ctx.id}: ${f.path}: got ${size} bytes, expected ${f.size}; run the same command again to ${size > f.size ? 'start it over' : 'resume'}`,
    );
  }
  renameSync(partial, blob);
  return got;
}
