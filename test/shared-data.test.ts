// The ../shared access helper itself: a missing path skips with a printed reason outside CI and throws in CI;
// GLM5_SHARED_DIR moves the folder; a present path is returned as is.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCi, requireShared, sharedDir } from './helpers/shared-data.js';

/** Runs fn with CI and GLM5_SHARED_DIR set as given (undefined: unset), then restores them. */
function withEnv(env: { CI?: string; GLM5_SHARED_DIR?: string }, fn: () => void): void {
  const saved = { CI: process.env.CI, GLM5_SHARED_DIR: process.env.GLM5_SHARED_DIR };
  const set = (k: 'CI' | 'GLM5_SHARED_DIR', v: string | undefined) => {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  set('CI', env.CI);
  set('GLM5_SHARED_DIR', env.GLM5_SHARED_DIR);
  try {
    fn();
  } finally {
    set('CI', saved.CI);
    set('GLM5_SHARED_DIR', saved.GLM5_SHARED_DIR);
  }
}

test('shared data: present paths are returned, missing ones skip outside CI and throw in CI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glm5-shared-'));
  try {
    mkdirSync(join(dir, 'golden', 'tokenizer'), { recursive: true });
    withEnv({ GLM5_SHARED_DIR: dir }, () => {
      assert.equal(sharedDir(), dir);
      assert.deepEqual(requireShared('golden/tokenizer'), { path: join(dir, 'golden', 'tokenizer'), skip: false });
      const missing = requireShared('golden/glm5-tiny');
      assert.equal(missing.path, join(dir, 'golden', 'glm5-tiny'));
      assert.ok(missing.skip, 'skipped outside CI');
      assert.match(missing.skip, /shared test data missing: .*golden\/glm5-tiny/);
    });
    for (const CI of ['true', '1', 'yes']) {
      withEnv({ CI, GLM5_SHARED_DIR: dir }, () => {
        assert.equal(requireShared('golden/tokenizer').skip, false, 'present data is fine in CI');
        assert.throws(() => requireShared('golden/glm5-tiny'), /shared test data missing: .*golden\/glm5-tiny/);
      });
    }
    for (const CI of ['', '0', 'false', 'FALSE']) {
      withEnv({ CI, GLM5_SHARED_DIR: dir }, () => assert.ok(requireShared('golden/glm5-tiny').skip, `CI=${JSON.stringify(CI)} is not CI`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shared data: the default folder is shared/ beside the repository', () => {
  withEnv({}, () => {
    assert.equal(inCi(), false);
    assert.equal(sharedDir(), join(new URL('../..', import.meta.url).pathname, 'shared'));
  });
});
