// The one way tests reach ../shared (Hugging Face golden outputs, template fixtures) and what a missing path does:
// in CI (`CI` set, not "0"/"false") it throws, naming the path, so the run fails loudly; elsewhere the tests that
// need it skip with the reason printed by the test reporter.
// GLM5_SHARED_DIR points at another folder (used by test/shared-data.test.ts to check both behaviours).

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SharedPath {
  /** Absolute path of the file or folder (where it would be, when missing). */
  readonly path: string;
  /** node:test's `skip` option for the tests that read it: false when present, else the reason the reporter prints. */
  readonly skip: string | false;
}

/** The shared folder: $GLM5_SHARED_DIR, else `shared/` beside the repository. */
export function sharedDir(): string {
  return resolve(process.env.GLM5_SHARED_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared'));
}

export function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && !/^(0|false)$/i.test(ci);
}

/**
 * `rel` (e.g. 'golden/tokenizer') under the shared folder. Call it at the top of a test file and pass `.skip` to
 * every test that reads `.path`; load its data only when `.skip` is false.
 * @throws Error in CI when the path is missing.
 */
export function requireShared(rel: string): SharedPath {
  const path = join(sharedDir(), rel);
  if (existsSync(path)) return { path, skip: false };
  if (inCi()) {
    throw new Error(
      `shared test data missing: ${path} (CI is set, so this fails instead of skipping; ` +
        'put the shared folder beside the repository or set GLM5_SHARED_DIR)',
    );
  }
  return { path, skip: `shared test data missing: ${path} (fails when CI=true; set GLM5_SHARED_DIR to point elsewhere)` };
}
