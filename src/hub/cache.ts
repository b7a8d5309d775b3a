// The local Hugging Face cache, in the layout Python's huggingface_hub writes (so a model fetched with
// `huggingface-cli download` / transformers is found here, and one fetched here is found there):
//   <cache>/models--<org>--<name>/refs/<revision>           the commit hash that revision pointed at
//   <cache>/models--<org>--<name>/blobs/<etag>              file contents, named by ETag (sha256 for LFS files)
//   <cache>/models--<org>--<name>/blobs/<etag>.incomplete   a download in progress (resumed from its length)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file> relative symlink to ../../blobs/<etag>
// The cache folder itself comes from the caller (the CLI reads HF_HUB_CACHE / HF_HOME).

import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { isCommitHash, type RepoId } from './repo-id.js';

/** Where a model repository lives in the cache. */
export function repoCacheDir(cacheDir: string, repo: RepoId): string {
  return join(cacheDir, `models--${repo.org}--${repo.name}`);
}

/** The commit a revision names: itself when it is a commit hash, else refs/<revision> (null when absent). */
export function resolveRef(repoDir: string, revision: string): string | null {
  if (isCommitHash(revision)) return revision;
  const ref = join(repoDir, 'refs', revision);
  if (!existsSync(ref)) return null;
  const commit = readFileSync(ref, 'utf8').trim();
  return isCommitHash(commit) ? commit : null;
}

export function writeRef(repoDir: string, revision: string, commit: string): void {
  if (isCommitHash(revision)) return;
  const ref = join(repoDir, 'refs', revision);
  mkdirSync(dirname(ref), { recursive: true });
  writeFileSync(ref, commit);
}

export function snapshotDir(repoDir: string, commit: string): string {
  return join(repoDir, 'snapshots', commit);
}

export function blobPath(repoDir: string, etag: string): string {
  return join(repoDir, 'blobs', etag);
}

/**
 * What a snapshot folder lacks to be loaded as a model (empty when complete): config.json, and every shard
 * the safetensors index names (or one model*.safetensors). A symlink to a missing blob counts as missing.
 */
export function missingModelFiles(dir: string): string[] {
  if (!existsSync(join(dir, 'config.json'))) return ['config.json'];
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    return [...new Set(Object.values(map))].filter((f) => !existsSync(join(dir, f)));
  }
  const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors') && existsSync(join(dir, f)));
  return shards.length > 0 ? [] : ['*.safetensors'];
}

/** A complete cached snapshot of the repo at `revision` (no network), or null. */
export function cachedModel(cacheDir: string, repo: RepoId, revision: string): { dir: string; commit: string } | null {
  const repoDir = repoCacheDir(cacheDir, repo);
  const commit = resolveRef(repoDir, revision);
  if (!commit) return null;
  const dir = snapshotDir(repoDir, commit);
  return existsSync(dir) && missingModelFiles(dir).length === 0 ? { dir, commit } : null;
}

/** snapshots/<commit>/<file> → ../../blobs/<etag> (a copy where the file system has no symlinks). */
export function linkSnapshotFile(repoDir: string, commit: string, file: string, etag: string): string {
  const target = join(snapshotDir(repoDir, commit), file);
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target) || isLink(target)) rmSync(target, { force: true });
  const blob = blobPath(repoDir, etag);
  try {
    symlinkSync(relative(dirname(target), blob), target);
  } catch {
    copyFileSync(blob, target);
  }
  return target;
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
