// Which replica takes a request. SGLang's cache-aware policy over token ids, with a sticky session key that wins
// over both of its rules:
//
// 1. Session: a request with a routing key (x-session-id, Codex's prompt_cache_key, Anthropic metadata.user_id)
//    goes where that key went last, while that replica is available.
// 2. Balance: the load (max of in flight and engine-reported) is imbalanced when max − min > balanceAbsThreshold AND
//    max > min × balanceRelThreshold over the available replicas; then the least loaded replica takes it.
// 3. Cache: otherwise the replica whose approximate prefix tree matches the most leading prompt tokens takes it if
//    matched / prompt length > cacheThreshold; below the threshold, the replica holding the fewest tokens does (the
//    most room, as SGLang does).
// The chosen replica's tree then holds the prompt (and, when the request ends, its output too: the replica's
// cache holds it, and the next turn of a conversation starts with it). round_robin and random ignore all this.

import { concatIds } from './ids.js';
import { PrefixTree } from './prefix-tree.js';
import type { Replica } from './replicas.js';

export type Policy = 'cache_aware' | 'round_robin' | 'random';
export const POLICIES: readonly Policy[] = ['cache_aware', 'round_robin', 'random'];

export interface RouterOptions {
  readonly policy: Policy;
  /** Prefix match ratio above which the best-matching replica wins (SGLang router default 0.3). */
  readonly cacheThreshold: number;
  /** Load spread (max − min) that, with the relative one, means imbalanced (SGLang router default 64). */
  readonly balanceAbsThreshold: number;
  /** Load ratio (max / min) that, with the absolute one, means imbalanced (SGLang router default 1.5). */
  readonly balanceRelThreshold: number;
  /** Tokens the tree keeps per replica before evicting its least recently used branches (default 2^22). */
  readonly maxTreeTokens: number;
  /** A sticky session unused this long is forgotten (default 1 h); at most maxSessions are kept (100 000). */
  readonly sessionTtlMs: number;
  readonly maxSessions: number;
}

export const ROUTER_DEFAULTS: RouterOptions = {
  policy: 'cache_aware',
  cacheThreshold: 0.3,
  balanceAbsThreshold: 64,
  balanceRelThreshold: 1.5,
  maxTreeTokens: 1 << 22,
  sessionTtlMs: 3_600_000,
  maxSessions: 100_000,
};

/** Why a replica was chosen (counted in /workers and the logs). */
export type Reason = 'session' | 'balance' | 'cache_hit' | 'cache_miss' | 'round_robin' | 'random';

export class Router {
  readonly tree = new PrefixTree();
  readonly decisions: Record<Reason, number> = { session: 0, balance: 0, cache_hit: 0, cache_miss: 0, round_robin: 0, random: 0 };
  /** key → replica id; a Map keeps insertion order, so the first entry is the least recently used. */
  private readonly sessions = new Map<string, { id: string; at: number }>();
  private next = 0;

  constructor(
    readonly o: RouterOptions = ROUTER_DEFAULTS,
    private readonly random: () => number = Math.random,
  ) {}

  /** The replica for a request among the candidates (available, not excluded), or null when there are none. */
  pick(candidates: readonly Replica[], prompt: readonly number[], key: string | undefined, now: number): Replica | null {
    if (candidates.length === 0) return null;
    const sticky = key !== undefined ? this.session(key, now) : undefined;
    let chosen = sticky !== undefined ? candidates.find((r) => r.id === sticky) : undefined;
    let reason: Reason = 'session';
    if (!chosen) [chosen, reason] = this.choose(candidates, prompt);
    this.decisions[reason]++;
    if (this.o.policy === 'cache_aware') this.tree.insert(prompt, chosen.id, now);
    if (key !== undefined) this.bind(key, chosen.id, now);
    return chosen;
  }

  /** A request ended on a replica: its cache now holds prompt ‖ output. */
  completed(replica: Replica, prompt: readonly number[], output: readonly number[], now: number): void {
    if (this.o.policy === 'cache_aware' && output.length > 0) this.tree.insert(concatIds(prompt, output), replica.id, now);
  }

  forget(replica: Replica): void {
    this.tree.removeTenant(replica.id);
  }

  private choose(c: readonly Replica[], prompt: readonly number[]): [Replica, Reason] {
    if (this.o.policy === 'round_robin') return [c[this.next++ % c.length]!, 'round_robin'];
    if (this.o.policy === 'random') return [c[Math.floor(this.random() * c.length)]!, 'random'];
    let max = -Infinity,
      min = Infinity;
    for (const r of c) {
      max = Math.max(max, r.load);
      min = Math.min(min, r.load);
    }
    if (max - min > this.o.balanceAbsThreshold && max > min * this.o.balanceRelThreshold) {
      return [this.best(c, (a, b) => a.load - b.load || this.tree.size(a.id) - this.tree.size(b.id)), 'balance'];
    }
    const matched = this.tree.match(prompt);
    const m = (r: Replica): number => matched.get(r.id) ?? 0;
    const top = this.best(c, (a, b) => m(b) - m(a) || a.load - b.load);
    if (prompt.length > 0 && m(top) / prompt.length > this.o.cacheThreshold) return [top, 'cache_hit'];
    return [this.best(c, (a, b) => this.tree.size(a.id) - this.tree.size(b.id) || a.load - b.load), 'cache_miss'];
  }

  /** The first replica that no other beats under cmp (ties keep list order: stable across calls). */
  private best(c: readonly Replica[], cmp: (a: Replica, b: Replica) => number): Replica {
    let b = c[0]!;
    for (const r of c) if (cmp(r, b) < 0) b = r;
    return b;
  }

  private session(key: string, now: number): string | undefined {
    const s = this.sessions.get(key);
    if (!s) return undefined;
    if (now - s.at > this.o.sessionTtlMs) {
      this.sessions.delete(key);
      return undefined;
    }
    return s.id;
  }

  private bind(key: string, id: string, now: number): void {
    this.sessions.delete(key);
    this.sessions.set(key, { id, at: now });
    while (this.sessions.size > this.o.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}
