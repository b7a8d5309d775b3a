// Prompt rendering off the event loop for large request bodies. A dialect's `prepare` stays synchronous and
// pure: it is run once against a model context whose template and tokenizer only record what they were asked
// to encode (and throw), the worker (render-worker.ts) encodes it, and `prepare` runs again against a
// context that answers with the worker's result. Small bodies are prepared directly (no thread hop).

import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ChatInputError } from '../text/chat-messages.js';
import type { ChatTemplate, EncodedChat } from '../text/chat-template.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { ModelContext } from './protocol/common.js';

/** Bodies at least this large are rendered on the worker (about 16K tokens of text). */
export const OFFLOAD_BYTES = 64 * 1024;

type ChatOptions = Parameters<ChatTemplate['encodeChat']>[0];
type Job = { kind: 'chat'; options: ChatOptions } | { kind: 'text'; text: string; special: boolean };
type Result = { prompt?: string; ids: Int32Array } | { error: { name: string; message: string } };

/** Thrown by the recording context: what `prepare` wanted encoded. */
class NeedsEncoding {
  constructor(readonly job: Job) {}
}

export class RenderPool {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, (r: Result) => void>();

  constructor(private readonly dir: string) {}

  /** Runs `prepare` with its template and tokenizer work done on the worker thread. */
  async prepare<P>(prepare: (ctx: ModelContext) => P, ctx: ModelContext): Promise<P> {
    const answers: { job: Job; result: Result }[] = [];
    for (;;) {
      try {
        return prepare(replaying(ctx, answers));
      } catch (e) {
        if (!(e instanceof NeedsEncoding)) throw e;
        answers.push({ job: e.job, result: await this.run(e.job) });
      }
    }
  }

  /** Starts the worker now (it loads the tokenizer), so the first large request does not wait for it. */
  warm(): void {
    this.start();
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private run(job: Job): Promise<Result> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise((res) => {
      this.pending.set(id, res);
      w.postMessage({ id, ...job });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // Built (dist/*.js), or run from source under tsx: a worker does not inherit the --import hook, so it
    // registers tsx itself before loading the TypeScript file.
    const js = new URL('./render-worker.js', import.meta.url);
    const workerData = { dir: this.dir };
    const w = existsSync(js)
      ? new Worker(js, { workerData })
      : new Worker(
          `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(new URL('./render-worker.ts', import.meta.url).href)}); });`,
          { eval: true, workerData },
        );
    w.unref();
    w.on('message', (m: { id: number } & Result) => {
      const res = this.pending.get(m.id);
      this.pending.delete(m.id);
      res?.(m);
    });
    w.on('error', (err) => {
      for (const res of this.pending.values()) res({ error: { name: 'Error', message: `render worker failed: ${err.message}` } });
      this.pending.clear();
      this.worker = undefined;
    });
    this.worker = w;
    return w;
  }
}

/**
 * A model context whose template and tokenizer answer from `answers` in the order they were asked, and throw
 * NeedsEncoding for the first question without an answer. Everything else is the real context.
 */
function replaying(ctx: ModelContext, answers: readonly { job: Job; result: Result }[]): ModelContext {
  let next = 0;
  const answer = (job: Job): { prompt?: string; ids: Int32Array } => {
    const a = answers[next++];
    if (!a) throw new NeedsEncoding(job);
    if ('error' in a.result) throw a.result.error.name === 'ChatInputError' ? new ChatInputError(a.result.error.message) : new Error(a.result.error.message);
    return a.result;
  };
  const template = Object.create(ctx.template) as ChatTemplate;
  template.encodeChat = (options: ChatOptions): EncodedChat => {
    const r = answer({ kind: 'chat', options }) as { prompt: string; ids: Int32Array };
    return { prompt: r.prompt, ids: Array.from(r.ids) };
  };
  const tokenizer = Object.create(ctx.tokenizer) as Tokenizer;
  tokenizer.encode = (text: string, opts?: { special?: boolean }): number[] => Array.from(answer({ kind: 'text', text, special: opts?.special ?? false }).ids);
  return { ...ctx, template, tokenizer };
}
