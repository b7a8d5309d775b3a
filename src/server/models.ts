// Model names a server answers to: its served names plus alias patterns (`claude-*` lets Claude Code's default
// model names through). The requested name is echoed back; the first served name prices the request.

export class ModelNames {
  private readonly patterns: RegExp[];

  constructor(readonly served: readonly string[], readonly aliases: readonly string[]) {
    if (served.length === 0) throw new Error('at least one served model name is needed');
    this.patterns = aliases.map((a) => new RegExp('^' + a.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$'));
  }

  get primary(): string {
    return this.served[0]!;
  }

  accepts(name: string): boolean {
    return this.served.includes(name) || this.patterns.some((p) => p.test(name));
  }

  /** `GET /v1/models`: the served names (alias patterns are not models). */
  list(created: number): unknown {
    return { object: 'list', data: this.served.map((id) => ({ id, object: 'model', created, owned_by: 'glm5' })) };
  }
}
