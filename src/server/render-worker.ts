// The render worker: a thread of its own with the checkpoint's tokenizer and chat template, so a huge prompt
// (a 200K-token conversation) is rendered and tokenized without stalling the event loop that streams every
// other request's tokens. Messages: {id, kind: 'chat', options} | {id, kind: 'text', text, special}.

import { parentPort, workerData } from 'node:worker_threads';
import { ChatTemplate } from '../text/chat-template.js';
import { Tokenizer } from '../text/tokenizer.js';

const { dir } = workerData as { dir: string };
const tokenizer = Tokenizer.fromDir(dir);
const template = ChatTemplate.fromDir(dir);

parentPort!.on('message', (m: { id: number; kind: 'chat' | 'text'; options?: unknown; text?: string; special?: boolean }) => {
  try {
    if (m.kind === 'chat') {
      const r = template.encodeChat(m.options as Parameters<ChatTemplate['encodeChat']>[0], tokenizer);
      const ids = Int32Array.from(r.ids);
      parentPort!.postMessage({ id: m.id, prompt: r.prompt, ids }, [ids.buffer]);
    } else {
      const ids = Int32Array.from(tokenizer.encode(m.text!, { special: m.special ?? false }));
      parentPort!.postMessage({ id: m.id, ids }, [ids.buffer]);
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: { name: (e as Error).name, message: (e as Error).message } });
  }
});
