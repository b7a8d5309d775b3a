// Models by Hugging Face id: a hand-built cache in huggingface_hub's layout is found with no network; a model
// downloads through a local stand-in for the Hub (HF_ENDPOINT) with a progress bar, fetching only the files
// glm5 reads; a download dropped halfway resumes from where it stopped (the next Range starts there).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHubId } from '../src/hub/repo-id.js';
import { missingModelFiles } from '../src/hub/cache.js';
import { neededFiles } from '../src/hub/download.js';
import { hubSettings, resolveModelSource } from '../src/cli/model-source.js';
import { tinyFlashCheckpoint, tmpDir } from './helpers/tmp-model.js';
import { startFakeHub } from './helpers/hub-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPO = 'zai-org/GLM-4.7-Flash';
const model = tinyFlashCheckpoint({ seed: 8, dtype: 'bf16', textFiles: true });
const WEIGHTS = readdirSync(model).find((f) => f.endsWith('.safetensors'))!;

/** glm5 as a child process (async: the fake Hub answers from this process meanwhile). */
function glm5(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** What Python's huggingface_hub leaves after `huggingface-cli download`: blobs by sha256, a snapshot of relative symlinks, refs/main. */
function handBuiltCache(hfHome: string, commit: string): string {
  const repoDir = join(hfHome, 'hub', 'models--zai-org--GLM-4.7-Flash');
  const snap = join(repoDir, 'snapshots', commit);
  mkdirSync(snap, { recursive: true });
  mkdirSync(join(repoDir, 'blobs'), { recursive: true });
  mkdirSync(join(repoDir, 'refs'), { recursive: true });
  for (const f of readdirSync(model)) {
    const etag = createHash('sha256')
      .update(readFileSync(join(model, f)))
      .digest('hex');
    copyFileSync(join(model, f), join(repoDir, 'blobs', etag));
    symlinkSync(join('..', '..', 'blobs', etag), join(snap, f));
  }
  writeFileSync(join(repoDir, 'refs', 'main'), commit);
  return snap;
}

test('a Hub id vs a path: existing paths win, org/name is an id, anything else is a missing folder', async () => {
  assert.deepEqual(parseHubId(REPO), { org: 'zai-org', name: 'GLM-4.7-Flash' });
  for (const bad of ['./zai-org/GLM-4.7-Flash', '/abs/path', 'a/b/c', 'noslash', 'a--b/c', '../x/y', 'a/.hidden']) assert.equal(parseHubId(bad), null, bad);
  assert.deepEqual(
    neededFiles([
      'README.md',
      '.gitattributes',
      'config.json',
      'model-00001-of-00002.safetensors',
      'model.safetensors.index.json',
      'tokenizer.json',
      'original/x.safetensors',
      'model.gguf',
      'chat_template.jinja',
    ]),
    ['chat_template.jinja', 'config.json', 'model-00001-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json'],
  );
  const local = await resolveModelSource(model, { env: {} });
  assert.equal(local.dir, model);
  await assert.rejects(resolveModelSource('./nope/missing', { env: {} }), /no such model folder/);
  await assert.rejects(resolveModelSource(model, { revision: 'v1', env: {} }), /--revision applies to a Hugging Face id/);
  const s = hubSettings({ HF_HOME: '/h', HF_ENDPOINT: 'http://e/', HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: '1' });
  assert.deepEqual(s, { cacheDir: '/h/hub', endpoint: 'http://e', token: 'hf_x', offline: true });
  assert.equal(hubSettings({ HF_HOME: '/h', HF_HUB_CACHE: '/c' }).cacheDir, '/c');
});

test('a Hub id resolves from a hand-built huggingface_hub cache with no network (glm5 generate runs on it)', async () => {
  const home = tmpDir('glm5-hf-');
  const commit = 'a'.repeat(40);
  const snap = handBuiltCache(home, commit);
  const env = { HF_HOME: home, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '1' }; // port 9: nothing listens
  assert.deepEqual(await resolveModelSource(REPO, { env }), { dir: snap, name: 'GLM-4.7-Flash' });
  assert.equal((await resolveModelSource(REPO, { env: { ...env, HF_HUB_OFFLINE: '' } })).dir, snap, 'cached: no Hub contact even when online');
  assert.equal((await resolveModelSource(REPO, { revision: commit, env })).dir, snap, 'a commit hash names the snapshot directly');
  const r = await glm5(['generate', REPO, '--tokens', '5,6,7', '-n', '3', '--temperature', '0', '--ignore-eos', '--json'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).ids.length, 3);
  // Offline and not cached (another revision, or a blob gone): a clear error, no download attempt.
  await assert.rejects(resolveModelSource(REPO, { revision: 'v2', env }), /is not in the Hugging Face cache .* HF_HUB_OFFLINE is set/);
  const online = await glm5(['generate', 'zai-org/Other-Model', '--tokens', '1'], { HF_HOME: home, HF_ENDPOINT: 'http://127.0.0.1:9' });
  assert.equal(online.status, 1);
  assert.match(online.stderr, /cannot reach http:\/\/127\.0\.0\.1:9 .*not in the local cache/);
});

test('glm5 pull downloads through HF_ENDPOINT with a progress bar, only the model files, into the shared cache layout', async () => {
  const hub = await startFakeHub(REPO, model, { 'README.md': '# card\n', 'pytorch_model.bin': 'x'.repeat(5000) });
  try {
    const home = tmpDir('glm5-hf-');
    const env = { HF_HOME: home, HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_test' };
    const r = await glm5(['pull', REPO], env);
    assert.equal(r.status, 0, r.stderr);
    const repoDir = join(home, 'hub', 'models--zai-org--GLM-4.7-Flash');
    const snap = join(repoDir, 'snapshots', hub.commit);
    assert.equal(r.stdout.trim(), snap);
    assert.match(r.stderr, /downloading zai-org\/GLM-4\.7-Flash .*100%/);
    assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), hub.commit);
    assert.deepEqual(readdirSync(snap).sort(), readdirSync(model).sort());
    assert.ok(!hub.requests.some((q) => q.path.endsWith('README.md') || q.path.endsWith('.bin')), 'files glm5 does not read are not fetched');
    assert.equal(readlinkSync(join(snap, WEIGHTS)), join('..', '..', 'blobs', hub.sha256(WEIGHTS)));
    assert.ok(lstatSync(join(snap, 'config.json')).isSymbolicLink());
    assert.deepEqual(missingModelFiles(snap), []);
    // The id now loads from the cache without the Hub.
    await hub.close();
    assert.equal((await resolveModelSource(REPO, { env: { ...env, HF_HUB_OFFLINE: '1' } })).dir, snap);
  } finally {
    await hub.close().catch(() => {});
  }
});

test('a download dropped halfway resumes where it stopped and does not start again', async () => {
  const hub = await startFakeHub(REPO, model);
  try {
    const home = tmpDir('glm5-hf-');
    const env = { HF_HOME: home, HF_ENDPOINT: hub.url };
    const size = statSync(join(model, WEIGHTS)).size;
    hub.dropAfter(WEIGHTS, Math.floor(size / 2));
    const first = await glm5(['pull', REPO], env);
    assert.equal(first.status, 1);
    assert.match(first.stderr, /interrupted .*run the same command again to resume/);
    const partial = join(home, 'hub', 'models--zai-org--GLM-4.7-Flash', 'blobs', `${hub.sha256(WEIGHTS)}.incomplete`);
    const have = statSync(partial).size;
    assert.ok(have > 0 && have < size, `partial blob holds ${have} of ${size} bytes`);

    const before = hub.requests.length;
    const second = await glm5(['pull', REPO], env);
    assert.equal(second.status, 0, second.stderr);
    const reads = hub.requests.slice(before).filter((q) => q.path.endsWith(`/${WEIGHTS}`) && q.range !== 'bytes=0-0');
    assert.deepEqual(
      reads.map((q) => q.range),
      [`bytes=${have}-${size - 1}`],
      'one ranged read, from where the first run stopped',
    );
    assert.ok(!existsSync(partial));
    const blob = join(home, 'hub', 'models--zai-org--GLM-4.7-Flash', 'blobs', hub.sha256(WEIGHTS));
    assert.equal(createHash('sha256').update(readFileSync(blob)).digest('hex'), hub.sha256(WEIGHTS), 'resumed file is byte-identical');
  } finally {
    await hub.close();
  }
});
