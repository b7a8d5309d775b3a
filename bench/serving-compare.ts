// The serving comparison against llama-server (issue 25's acceptance keys), shared by `npm run bench` and
// `--only serving`: the in-process engine's 16-stream throughput over llama-server's through HTTP
// (`llamaserver_batch16_ratio`), and `glm5 serve` against llama-server through the same HTTP harness, same
// token-id prompts, same GGUF-exported weights (`http_llamaserver_batch16_ratio`), with p90 inter-token gaps
// for both. glm5 runs twice over HTTP: with its defaults (prompt chunks paced against decode latency) and with
// --prefill-itl-ratio 0 (chunks take the whole step budget, as llama-server schedules).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchGlm5Serve, benchLlamaServer, type HttpServing } from './llamaserver.js';
import type { ServingResult } from './serving.js';

export interface ServingComparison {
  llamaserver_tok_s: Record<string, number> | null;
  llamaserver_itl_p90_ms: Record<string, number> | null;
  llamaserver_batch16_ratio: number | null;
  http_glm5_tok_s: Record<string, number>;
  http_glm5_itl_p90_ms: Record<string, number>;
  http_glm5_unpaced_tok_s: Record<string, number>;
  http_glm5_unpaced_itl_p90_ms: Record<string, number>;
  http_llamaserver_batch16_ratio: number | null;
  http_llamaserver_batch16_ratio_unpaced: number | null;
}

export async function compareServing(o: {
  serving: ServingResult;
  dir: string;
  gguf: string;
  exportGguf: () => Promise<void>;
  V: number;
  threads: number;
  log: (s: string) => void;
}): Promise<ServingComparison> {
  const { serving, log } = o;
  let ls: HttpServing | null = null;
  try {
    if (!existsSync(o.gguf) && existsSync(join(o.gguf, '..', '..', '.llama-server'))) await o.exportGguf();
    if (existsSync(o.gguf)) ls = await benchLlamaServer(o.gguf, o.V, o.threads, log);
  } catch (e) {
    log(`llama-server comparison unavailable: ${(e as Error).message}`);
  }
  const paced = await benchGlm5Serve(o.dir, o.V, log);
  const unpaced = await benchGlm5Serve(o.dir, o.V, log, ['--prefill-itl-ratio', '0'], 'glm5 serve --prefill-itl-ratio 0');
  const ratio = (a: number | undefined) => (ls && a ? a / ls.tok_s[16]! : null);
  const r: ServingComparison = {
    llamaserver_tok_s: ls?.tok_s ?? null,
    llamaserver_itl_p90_ms: ls?.itl_p90_ms ?? null,
    llamaserver_batch16_ratio: ratio(serving.throughput_tok_s[16]),
    http_glm5_tok_s: paced.tok_s,
    http_glm5_itl_p90_ms: paced.itl_p90_ms,
    http_glm5_unpaced_tok_s: unpaced.tok_s,
    http_glm5_unpaced_itl_p90_ms: unpaced.itl_p90_ms,
    http_llamaserver_batch16_ratio: ratio(paced.tok_s[16]),
    http_llamaserver_batch16_ratio_unpaced: ratio(unpaced.tok_s[16]),
  };
  if (ls)
    log(
      `  ours / llama-server at 16 streams: engine ${r.llamaserver_batch16_ratio!.toFixed(2)}×, HTTP ${r.http_llamaserver_batch16_ratio!.toFixed(2)}× (unpaced ${r.http_llamaserver_batch16_ratio_unpaced!.toFixed(2)}×); p90 inter-token ms ours ${paced.itl_p90_ms[16]!.toFixed(0)} (unpaced ${unpaced.itl_p90_ms[16]!.toFixed(0)}) vs llama-server ${ls.itl_p90_ms[16]!.toFixed(0)}`,
    );
  return r;
}
