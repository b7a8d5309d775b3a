// Which engine is behind a URL, and a client for it. `auto` asks, in order: GET /server_info (glm5 says
// `engine: "glm5"`; SGLang lists its server args such as `tp_size`), GET /v1/models (`owned_by`: vllm, llamacpp,
// sglang) and GET /props (llama-server). The model name and context limit come from the same answers.

import { LlamaServerClient } from './llama-server.js';
import { SglangClient } from './sglang.js';
import type { EngineClient, UpstreamInfo, UpstreamKind } from './types.js';
import { VllmClient } from './vllm.js';
import { baseUrl, getJson } from './wire.js';

export type KindChoice = UpstreamKind | 'auto';

interface ModelsList {
  data?: { id?: string; owned_by?: string; max_model_len?: number }[];
}
interface Props {
  default_generation_settings?: { n_ctx?: number };
  n_ctx?: number;
}

/** The engine at url, or null when it does not answer (yet). */
export async function detectKind(url: string, timeoutMs: number): Promise<UpstreamInfo | null> {
  const u = baseUrl(url);
  const info = (await getJson(`${u}/server_info`, timeoutMs)) as Record<string, unknown> | null;
  if (info && typeof info === 'object') {
    if (info.engine === 'glm5') return { kind: 'glm5' };
    if ('tp_size' in info || 'model_path' in info) return { kind: 'sglang' };
  }
  const models = (await getJson(`${u}/v1/models`, timeoutMs)) as ModelsList | null;
  const first = models?.data?.[0];
  if (first?.owned_by === 'vllm') return vllmInfo(first);
  if (first?.owned_by === 'sglang') return { kind: 'sglang' };
  const props = (await getJson(`${u}/props`, timeoutMs)) as Props | null;
  if (props && typeof props === 'object' && ('default_generation_settings' in props || first?.owned_by === 'llamacpp')) return llamaInfo(props);
  return null;
}

const vllmInfo = (m: NonNullable<ModelsList['data']>[number]): UpstreamInfo => ({
  kind: 'vllm',
  ...(m.id ? { model: m.id } : {}),
  ...(m.max_model_len ? { maxContext: m.max_model_len } : {}),
});

const llamaInfo = (p: Props): UpstreamInfo => {
  const n = p.default_generation_settings?.n_ctx ?? p.n_ctx;
  return { kind: 'llama-server', ...(n ? { maxContext: n } : {}) };
};

/** What a known kind reports about itself (best effort: a missing answer leaves the field out). */
async function infoFor(url: string, kind: UpstreamKind, timeoutMs: number): Promise<UpstreamInfo | null> {
  const u = baseUrl(url);
  if (kind === 'vllm') {
    const models = (await getJson(`${u}/v1/models`, timeoutMs)) as ModelsList | null;
    return models?.data?.[0] ? vllmInfo(models.data[0]) : null;
  }
  if (kind === 'llama-server') {
    const props = (await getJson(`${u}/props`, timeoutMs)) as Props | null;
    return props ? llamaInfo(props) : null;
  }
  return { kind };
}

/** A client for the engine at url, or null while it cannot be reached (auto) or described (vLLM, llama-server). */
export async function connect(url: string, choice: KindChoice, timeoutMs: number): Promise<{ client: EngineClient; info: UpstreamInfo } | null> {
  const info = choice === 'auto' ? await detectKind(url, timeoutMs) : await infoFor(url, choice, timeoutMs);
  if (!info) return null;
  return { client: clientFor(url, info), info };
}

export function clientFor(url: string, info: UpstreamInfo): EngineClient {
  switch (info.kind) {
    case 'vllm':
      return new VllmClient(url, info.model, info.maxContext);
    case 'llama-server':
      return new LlamaServerClient(url, info.maxContext);
    case 'sglang':
      return new SglangClient(url, 'sglang');
    case 'glm5':
      return new SglangClient(url, 'glm5');
  }
}
