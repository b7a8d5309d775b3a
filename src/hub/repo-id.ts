// Hugging Face model ids ("org/name") and how a command-line model argument is told apart from a folder:
// an existing path always wins; otherwise `org/name` (one slash, Hub-legal characters, no leading `.`
// or `/`) is a Hub id; anything else is a missing folder. So `./org/name` or an absolute path never downloads.

export class HubError extends Error {
  override name = 'HubError';
}

/** `org/name` as the Hub spells it (letters, digits, `-`, `_`, `.`; neither part starting with `.` or `-`, no `--`). */
const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export interface RepoId {
  readonly org: string;
  readonly name: string;
}

/** The id as a RepoId, or null when it is not shaped like a Hub model id. */
export function parseHubId(s: string): RepoId | null {
  if (!HUB_ID.test(s) || s.includes('--') || s.includes('..') || s.endsWith('.git')) return null;
  const [org, name] = s.split('/') as [string, string];
  return { org, name };
}

export function repoString(r: RepoId): string {
  return `${r.org}/${r.name}`;
}

/** A 40-hex-digit git commit hash (a revision that names a snapshot directly). */
export function isCommitHash(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}
