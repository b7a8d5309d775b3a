// The opt-in install of the real agent clients that `npm run test:clients` drives: pinned versions of Claude Code,
// Codex CLI and opencode in a cache folder outside the repository (about 1.2 GB), never part of `npm ci`.
//
// npm installs each client's platform binary as an optional dependency, but the clients' own install scripts (which
// would link those binaries) are not run (`--ignore-scripts`; they did not run here anyway), so the binaries are
// called by their paths below.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Exact versions tested (docs/clients.md records the results for these). */
export const CLIENT_VERSIONS = {
  '@anthropic-ai/claude-code': '2.1.332',
  '@openai/codex': '0.171.0',
  'opencode-ai': '1.18.33',
} as const;

export interface ClientBins {
  readonly dir: string;
  readonly claude: string;
  readonly codex: string;
  readonly opencode: string;
  /** `--version` output of each, as the binaries report it. */
  readonly versions: Readonly<Record<'claude' | 'codex' | 'opencode', string>>;
}

/** `$GLM5_CLIENTS_DIR`, else `$XDG_CACHE_HOME/glm5-clients`, else `~/.cache/glm5-clients`. */
export function clientsDir(): string {
  if (process.env.GLM5_CLIENTS_DIR) return process.env.GLM5_CLIENTS_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'glm5-clients');
}

const MANIFEST = {
  name: 'glm5-agent-clients',
  private: true,
  description: 'glm5: opt-in install of real agent clients for npm run test:clients',
  dependencies: CLIENT_VERSIONS,
};

/** Installs the pinned clients into `dir` unless that exact set is already there; returns the binaries. */
export function installClients(dir = clientsDir(), log: (s: string) => void = console.log): ClientBins {
  mkdirSync(dir, { recursive: true });
  const manifestPath = join(dir, 'package.json');
  const wanted = `${JSON.stringify(MANIFEST, null, 2)}\n`;
  const bins = binPaths(dir);
  const current = existsSync(manifestPath) ? readFileSync(manifestPath, 'utf8') : '';
  if (current !== wanted || !Object.values(bins).every((p) => existsSync(p))) {
    writeFileSync(manifestPath, wanted);
    log(
      `installing ${Object.entries(CLIENT_VERSIONS)
        .map(([n, v]) => `${n}@${v}`)
        .join(', ')} into ${dir} (about 1.2 GB, once)`,
    );
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm install in ${dir} failed (exit ${r.status})`);
    for (const [name, p] of Object.entries(bins))
      if (!existsSync(p)) throw new Error(`${name}: ${p} is missing after npm install (no binary for this platform?)`);
  }
  const version = (bin: string, args: string[] = ['--version']): string => {
    const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, HOME: dir } });
    if (r.status !== 0) throw new Error(`${bin} --version failed: ${r.stderr}`);
    return r.stdout.trim().split('\n').pop()!;
  };
  return { dir, ...bins, versions: { claude: version(bins.claude), codex: version(bins.codex), opencode: version(bins.opencode) } };
}

function binPaths(dir: string): { claude: string; codex: string; opencode: string } {
  const nm = join(dir, 'node_modules');
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  return {
    claude: join(nm, `@anthropic-ai/claude-code-linux-${arch}/claude`),
    // The launcher script picks the platform package's binary (codex-linux-x64/vendor/…/codex) itself.
    codex: join(nm, '.bin/codex'),
    opencode: join(nm, `opencode-linux-${arch}/bin/opencode`),
  };
}
