// npm run eval [-- DIR] [--json]: evaluates the bundled default model (models/glm5-nano) with the project's own
// TypeScript model and text layer — held-out perplexity, sparse vs forced-dense perplexity beyond index_topk, DSA
// indexer recall, tool-call accuracy on held-out requests (demo tools, unseen tools), greedy answers to fixed
// prompts. Inputs are the committed files in eval/ (made by train/data/make_data.py); results go to
// eval/results.json. Greedy decoding runs through GlmModel.forward with a KV cache.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { GlmModel } from '../src/model/model.js';
import { selectOps } from '../src/kernels/select.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { ChatTemplate } from '../src/text/chat-template.js';
import { parseOutput } from '../src/text/output-parser.js';
import type { ChatMessage, ToolDefinition } from '../src/text/chat-messages.js';
import { indexerRecall } from './recall.js';
import { heldOut, nllOf, WINDOW } from './heldout.js';
import { FIXED_PROMPTS as PROMPTS } from './prompts.js';
import { Engine } from '../src/engine/engine.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const DIR = args.find((a) => !a.startsWith('--')) ?? join(HERE, '..', 'models', 'glm5-nano');
const JSON_OUT = args.includes('--json');

const model = GlmModel.load(DIR, { ops: selectOps('auto') });
const tok = Tokenizer.fromDir(DIR);
const tpl = ChatTemplate.fromDir(DIR);
const cfg = model.cfg;
const V = cfg.vocabSize;
const stops = new Set(cfg.eosTokenIds);
const log = (s: string) => {
  if (!JSON_OUT) console.log(s);
};

/** Σ −log p(ids[t+1] | ids[..t]) over t ≥ from, and the count. */
function nll(ids: number[], from: number, forceDense: boolean): { sum: number; n: number } {
  const r = model.forward(ids, model.newCache(ids.length), { logits: 'all', forceDense });
  return nllOf(r.logits, V, ids, from);
}

function greedy(prompt: number[], maxNew: number): { ids: number[]; text: string } {
  const cache = model.newCache(prompt.length + maxNew + 1);
  let r = model.forward(prompt, cache, { logits: 'last' });
  const out: number[] = [];
  for (let i = 0; i < maxNew; i++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (r.logits[v]! > r.logits[best]!) best = v;
    if (stops.has(best)) break;
    out.push(best);
    r = model.forward([best], cache, { logits: 'last' });
  }
  return { ids: out, text: out.length ? tok.decode(out) : '' };
}

const t0 = performance.now();
// 1. Held-out perplexity (prose windows of 512 tokens = the training length; chats: answer tokens only) and
// 2. sparse vs forced dense on the same prose windows (each longer than index_topk).
const held = heldOut(tok);
const windows = held.windows;
let sp = { sum: 0, n: 0 },
  de = { sum: 0, n: 0 };
for (const w of windows) {
  const a = nll(w, 0, false),
    b = nll(w, 0, true);
  sp = { sum: sp.sum + a.sum, n: sp.n + a.n };
  de = { sum: de.sum + b.sum, n: de.n + b.n };
}
const pplSparse = Math.exp(sp.sum / sp.n),
  pplDense = Math.exp(de.sum / de.n);
// the same comparison on the positions beyond index_topk only (where the two can differ)
let spT = { sum: 0, n: 0 },
  deT = { sum: 0, n: 0 };
for (const w of windows) {
  const a = nll(w, cfg.indexTopk, false),
    b = nll(w, cfg.indexTopk, true);
  spT = { sum: spT.sum + a.sum, n: spT.n + a.n };
  deT = { sum: deT.sum + b.sum, n: deT.n + b.n };
}
const pplSparseTail = Math.exp(spT.sum / spT.n),
  pplDenseTail = Math.exp(deT.sum / deT.n);
let ch = { sum: 0, n: 0 };
for (const c of held.chats) {
  const a = nll(c.ids, c.from, false);
  ch = { sum: ch.sum + a.sum, n: ch.n + a.n };
}
const pplChats = Math.exp(ch.sum / ch.n);
log(
  `held-out prose: ${windows.length} windows × ${WINDOW} tokens, perplexity sparse ${pplSparse.toFixed(3)} / dense ${pplDense.toFixed(3)} ` +
    `(sparse costs ${((pplSparse / pplDense - 1) * 100).toFixed(2)}%); positions ≥ index_topk ${cfg.indexTopk}: ` +
    `${pplSparseTail.toFixed(3)} / ${pplDenseTail.toFixed(3)} (${((pplSparseTail / pplDenseTail - 1) * 100).toFixed(2)}%)`,
);
log(`held-out chats (${held.chats.length}, unseen words and phrasings): answer-token perplexity ${pplChats.toFixed(3)}`);

// 3. Indexer recall on the prose windows.
const recall = indexerRecall(model, windows.slice(0, 4));
for (const r of recall.perLayer) {
  log(
    `indexer recall layer ${r.layer}: ${(r.recall * 100).toFixed(1)}% of attention mass in the indexer's top-${cfg.indexTopk} ` +
      `vs ${(r.best * 100).toFixed(1)}% in the best top-${cfg.indexTopk} (ratio ${((r.recall / r.best) * 100).toFixed(1)}%)`,
  );
}

// 4. Tool calls on held-out requests.
interface ToolReq {
  set: 'demo' | 'unseen';
  thinking: boolean;
  tools: ToolDefinition[];
  messages: ChatMessage[];
  expected: { name: string; arguments: Record<string, unknown> };
}
const reqs = JSON.parse(readFileSync(join(HERE, 'tool_requests.json'), 'utf8')) as ToolReq[];
const tally: Record<string, { right: number; rightName: number; n: number }> = {};
const failures: { set: string; request: string; expected: unknown; got: unknown }[] = [];
for (const q of reqs) {
  const enc = tpl.encodeChat({ messages: q.messages, tools: q.tools, thinking: q.thinking, addGenerationPrompt: true }, tok);
  const { text } = greedy(enc.ids, 160);
  const parsed = parseOutput(text, { thinking: q.thinking, tools: q.tools });
  const call = parsed.tool_calls[0];
  const t = (tally[q.set] ??= { right: 0, rightName: 0, n: 0 });
  t.n++;
  const nameOk = call?.name === q.expected.name;
  const ok = nameOk && parsed.tool_calls.length === 1 && isDeepStrictEqual(call!.arguments, q.expected.arguments);
  if (nameOk) t.rightName++;
  if (ok) t.right++;
  else if (failures.length < 12)
    failures.push({
      set: q.set,
      request: String(q.messages[0]!.content),
      expected: q.expected,
      got: call ? { name: call.name, arguments: call.arguments } : text.slice(0, 160),
    });
}
for (const [set, t] of Object.entries(tally)) {
  log(`tool calls, ${set} tools: ${t.right}/${t.n} = ${((t.right / t.n) * 100).toFixed(1)}% exact (right tool: ${((t.rightName / t.n) * 100).toFixed(1)}%)`);
}

// 5. Greedy answers to a fixed list of prompts (eval/prompts.ts).
const answers: { prompt: string; thinking: boolean; output: string }[] = [];
for (const p of PROMPTS) {
  const enc = tpl.encodeChat({ messages: [{ role: 'user', content: p.prompt }], thinking: p.thinking, addGenerationPrompt: true }, tok);
  const { text } = greedy(enc.ids, 80);
  answers.push({ ...p, output: (p.thinking ? '<think>' : '</think>') + text });
  log(`> ${p.prompt} (thinking ${p.thinking ? 'on' : 'off'})\n  ${(p.thinking ? '<think>' : '</think>') + text}`);
}

// 6. MTP acceptance per draft position, measured by the engine's speculative decoding (k = 3, greedy) on the
// fixed prompts; greedy output is the same with and without drafts (test/engine-speculative.test.ts).
let mtp: { k: number; acceptance: number; byPosition: number[]; tokensPerStep: number } | null = null;
if (model.weights.mtp.length > 0) {
  const engine = new Engine(model, { tokenizer: tok, speculative: 3, kvCacheGb: 0.25 });
  for (const p of PROMPTS) {
    const enc = tpl.encodeChat({ messages: [{ role: 'user', content: p.prompt }], thinking: p.thinking, addGenerationPrompt: true }, tok);
    await engine.submit({ prompt: enc.ids, sampling: { temperature: 0, maxTokens: 80 } }).result;
  }
  const s = engine.speculation();
  mtp = {
    k: s.k,
    acceptance: s.accepted / Math.max(1, s.drafted),
    byPosition: s.draftedAt.map((d, j) => (s.acceptedAt[j] ?? 0) / d),
    tokensPerStep: (s.accepted + s.steps) / Math.max(1, s.steps),
  };
  log(
    `MTP drafts (engine, k=${s.k}, greedy, fixed prompts): ${(mtp.acceptance * 100).toFixed(1)}% accepted; by position ${mtp.byPosition.map((a) => (a * 100).toFixed(1) + '%').join(' / ')}; ${mtp.tokensPerStep.toFixed(2)} tokens per verify step`,
  );
}

const seconds = (performance.now() - t0) / 1000;
const results = {
  mtpAcceptance: mtp,
  model: DIR,
  perplexity: {
    heldOutProseSparse: pplSparse,
    heldOutProseDense: pplDense,
    sparseCostPct: (pplSparse / pplDense - 1) * 100,
    beyondTopkSparse: pplSparseTail,
    beyondTopkDense: pplDenseTail,
    beyondTopkCostPct: (pplSparseTail / pplDenseTail - 1) * 100,
    windows: windows.length,
    windowTokens: WINDOW,
    heldOutChatsAnswerTokens: pplChats,
  },
  indexerRecall: recall,
  toolCalls: Object.fromEntries(Object.entries(tally).map(([k, t]) => [k, { accuracy: t.right / t.n, rightTool: t.rightName / t.n, n: t.n }])),
  toolCallFailures: failures,
  answers,
  seconds,
};
writeFileSync(join(HERE, 'results.json'), JSON.stringify(results, null, 1) + '\n');
if (JSON_OUT) console.log(JSON.stringify(results));
else log(`eval took ${seconds.toFixed(1)} s; results in eval/results.json`);
