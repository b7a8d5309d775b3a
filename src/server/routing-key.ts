// The sticky-session key of a request, for engines that spread requests over replicas (`glm5 serve --upstream`):
// the first of the `x-session-id` header (any client can set it), the body's `prompt_cache_key` (Codex sends its
// conversation id there; OpenAI defines it on Chat and Responses) and Anthropic's `metadata.user_id` (Claude Code puts
// its session id in it). OpenAI's `user` is not used: apps often send one value for all their traffic.

const MAX_KEY = 256;

export function routingKey(headers: Headers, body: unknown): string | undefined {
  const h = headers.get('x-session-id');
  if (h) return h.slice(0, MAX_KEY);
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { prompt_cache_key?: unknown; metadata?: { user_id?: unknown } | null };
  if (typeof b.prompt_cache_key === 'string' && b.prompt_cache_key !== '') return b.prompt_cache_key.slice(0, MAX_KEY);
  const user = b.metadata && typeof b.metadata === 'object' ? b.metadata.user_id : undefined;
  if (typeof user === 'string' && user !== '') return user.slice(0, MAX_KEY);
  return undefined;
}
