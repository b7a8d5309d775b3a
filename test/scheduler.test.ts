// Scheduler + BlockManager driven directly, with a scripted stand-in for the model (in the spirit of vLLM's
// tests/v1/core/test_scheduler.py): the "model" computes whatever the plan grants and emits a token that is a
// pure function of the request's known tokens, so runs are exact and fast. Covers admission under the running
// cap and the token budget, chunked prefill, preemption and resume (same tokens), prefix adoption and LRU
// eviction, reference counts back to zero, draft grants travelling in the plan, and fairness under long prompts
// (decoders first, shortest prefill first, the caller's prefill cap).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockManager } from '../src/engine/block-manager.js';
import { Request } from '../src/engine/request.js';
import { Rng } from '../src/engine/sampler.js';
import { resolveSampling, samplingDefaults } from '../src/engine/sampling-params.js';
import { Scheduler, type StepPlan } from '../src/engine/scheduler.js';
import { StopStringMatcher } from '../src/engine/stop-strings.js';
import { parseConfig } from '../src/model/config.js';
import { PagedKvPool } from '../src/model/paged-cache.js';
import { presetConfig } from '../src/model/presets.js';

const B = 4;
const V = 50;
const cfg = parseConfig(presetConfig('tiny', { vocabSize: V, eosTokenIds: [], padTokenId: 0 }));

interface Rig {
  readonly bm: BlockManager;
  readonly sched: Scheduler;
  readonly pool: PagedKvPool;
}

function rig(blocks: number, opts: { maxRunning?: number; maxStepTokens?: number; prefixCache?: boolean } = {}): Rig {
  const pool = new PagedKvPool(cfg, { numBlocks: blocks, blockSize: B });
  const bm = new BlockManager(blocks, B);
  const sched = new Scheduler(bm, { maxRunning: opts.maxRunning ?? 8, maxStepTokens: opts.maxStepTokens ?? 64, prefixCache: opts.prefixCache ?? true });
  return { bm, sched, pool };
}

let ids = 0;
function request(r: Rig, prompt: number[], maxTokens: number, mtp = false): Request {
  const seq = r.pool.view();
  const params = resolveSampling(samplingDefaults({}), { temperature: 0, maxTokens });
  return new Request({
    id: `r${++ids}`,
    prompt,
    resumed: [],
    params,
    seq,
    mtp: mtp ? seq.sibling() : null,
    rng: new Rng(1),
    stopIds: new Set(),
    stopper: new StopStringMatcher([]),
    decoder: null,
    maxTotal: prompt.length + maxTokens,
    vocab: { size: V, piece: () => '' },
  });
}

/** The scripted model: the next token is a hash of every known token, so it depends on nothing but the sequence. */
function nextToken(tokens: readonly number[]): number {
  let h = 17;
  for (const t of tokens) h = (h * 31 + t) % 1_000_003;
  return 1 + (h % (V - 1));
}

/** Runs one planned step the way the engine does: compute what was granted, sample where asked, register full blocks. */
function execute(r: Rig, plan: StepPlan): void {
  for (const e of plan.entries) {
    const q = e.req;
    // The cache must hold every position the model writes this step.
    assert.ok(q.seq.capacity >= q.numComputed + e.n + e.drafts, `${q.id}: blocks for ${q.numComputed + e.n + e.drafts} positions`);
    q.seq.commit(e.n);
    q.numComputed += e.n;
    if (e.sample) q.appendToken(nextToken(q.tokens), new Float32Array(V));
    if (q.done) r.sched.remove(q);
    else r.sched.registerFullBlocks(q);
  }
}

function runAll(r: Rig, maxSteps = 10_000): StepPlan[] {
  const plans: StepPlan[] = [];
  while (!r.sched.idle) {
    const plan = r.sched.schedule();
    plans.push(plan);
    execute(r, plan);
    assert.ok(plans.length < maxSteps, 'the scheduler made no progress');
  }
  return plans;
}

/** What the scripted model generates for a prompt alone. */
function expected(prompt: readonly number[], n: number): number[] {
  const t = [...prompt];
  for (let i = 0; i < n; i++) t.push(nextToken(t));
  return t.slice(prompt.length);
}

const prompt = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => 1 + ((base + i * 7) % (V - 1)));
const output = (q: Request): number[] => q.tokens.slice(q.startLen);

test('admission: FIFO under the running cap and the step budget; prompts longer than the budget are chunked', () => {
  const r = rig(64, { maxRunning: 2, maxStepTokens: 10 });
  const qs = [request(r, prompt(7, 1), 3), request(r, prompt(12, 2), 3), request(r, prompt(5, 3), 3)];
  for (const q of qs) r.sched.add(q);
  const first = r.sched.schedule();
  // r1's 7 tokens fit; r2 gets the 3 left of the budget (a chunk, no sampling); r3 waits for the running cap.
  assert.deepEqual(
    first.entries.map((e) => [e.req.id, e.n, e.sample]),
    [
      [qs[0]!.id, 7, true],
      [qs[1]!.id, 3, false],
    ],
  );
  assert.deepEqual(r.sched.waiting, [qs[2]]);
  for (const e of first.entries) assert.equal(e.drafts, 0);
  execute(r, first);
  const plans = runAll(r);
  for (const p of plans) assert.ok(p.entries.reduce((a, e) => a + e.n, 0) <= 10, 'a step stays within the token budget');
  for (const q of qs) {
    assert.deepEqual(output(q), expected(q.tokens.slice(0, q.startLen), 3));
    assert.equal(q.done?.finishReason, 'length');
  }
  assert.equal(r.bm.used, 0, 'every block is released at the end');
});

test('preemption under a tight cache: the newest request yields, resumes, and produces the same tokens', () => {
  // 6 blocks of 4 = 24 positions; three requests each reaching 6 + 10 = 16 positions cannot all fit.
  const r = rig(6, { maxStepTokens: 64, prefixCache: false });
  const qs = [request(r, prompt(6, 10), 10), request(r, prompt(6, 20), 10), request(r, prompt(6, 30), 10)];
  for (const q of qs) r.sched.add(q);
  const plans = runAll(r);
  assert.ok(r.sched.preemptions > 0, 'the cache was tight enough to preempt');
  assert.ok(plans.some((p) => p.preempted.length > 0));
  for (const q of qs) assert.deepEqual(output(q), expected(q.tokens.slice(0, q.startLen), 10), `${q.id} after preemption`);
  assert.equal(r.bm.used, 0);
  assert.equal(r.bm.available, 6);
});

test('prefix cache: a repeated prompt adopts the full blocks, computes only the rest, and shares references', () => {
  const r = rig(32);
  const p = prompt(14, 5); // 3 full blocks + 2 tokens
  const a = request(r, p, 4);
  r.sched.add(a);
  runAll(r);
  assert.equal(a.cachedTokens, 0);
  assert.ok(r.bm.cached >= 3, 'the finished request left its full blocks cached');
  // Two concurrent requests with the same prompt: both adopt the same three blocks (reference count 2).
  const b = request(r, p, 4),
    c = request(r, p, 4);
  r.sched.add(b);
  r.sched.add(c);
  const plan = r.sched.schedule();
  assert.deepEqual(
    plan.entries.map((e) => e.n),
    [2, 2],
    'only the tokens past the cached blocks are computed',
  );
  assert.deepEqual(Array.from(b.seq.table.subarray(0, 3)), Array.from(c.seq.table.subarray(0, 3)));
  execute(r, plan);
  runAll(r);
  assert.equal(b.cachedTokens, 12);
  assert.deepEqual(output(b), output(a));
  assert.deepEqual(output(c), output(a));
  assert.equal(r.bm.used, 0, 'shared blocks are released by both holders');
});

test('LRU eviction: with the pool full of cached prefixes, the least recently released goes first', () => {
  const r = rig(8, { prefixCache: true });
  const old = request(r, prompt(8, 100), 2),
    recent = request(r, prompt(8, 200), 2);
  r.sched.add(old);
  runAll(r);
  r.sched.add(recent);
  runAll(r);
  // Each left its 2 full prompt blocks cached (a request registers blocks after steps it survives).
  const cachedBefore = r.bm.cached;
  assert.ok(cachedBefore >= 4, `cached ${cachedBefore}`);
  // A new 20-token prompt needs the 4 free blocks plus one eviction: the oldest prefix's first block goes.
  const big = request(r, prompt(20, 300), 1);
  r.sched.add(big);
  runAll(r);
  const again = request(r, prompt(8, 200), 1),
    gone = request(r, prompt(8, 100), 1);
  r.sched.add(again);
  runAll(r);
  r.sched.add(gone);
  runAll(r);
  assert.equal(
    again.cachedTokens,
    4,
    `the recently released prefix survived eviction (cached ${r.bm.cached}, again ${again.cachedTokens}, gone ${gone.cachedTokens})`,
  );
  assert.equal(gone.cachedTokens, 0, 'the least recently released prefix was evicted');
  assert.equal(r.bm.used, 0);
});

test('a request that can never fit the whole cache is refused by the scheduler, not left waiting', () => {
  const r = rig(2);
  const q = request(r, prompt(20, 1), 1);
  r.sched.add(q);
  assert.throws(() => r.sched.schedule(), /does not fit the whole cache/);
});

test('abort (remove) of running and waiting requests frees blocks at once; remove twice is a no-op', () => {
  const r = rig(16, { maxRunning: 1 });
  const a = request(r, prompt(10, 1), 50),
    b = request(r, prompt(10, 2), 50);
  r.sched.add(a);
  r.sched.add(b);
  execute(r, r.sched.schedule());
  assert.ok(r.bm.used > 0);
  assert.equal(r.sched.remove(a), true);
  assert.equal(r.sched.remove(b), true);
  assert.equal(r.sched.remove(a), false);
  assert.equal(r.bm.used, 0);
  assert.ok(r.sched.idle);
});

test('draft grants travel in the plan: only for whole decode tokens, within budget, with blocks reserved', () => {
  const r = rig(32, { maxStepTokens: 6 });
  const a = request(r, prompt(5, 1), 20),
    b = request(r, prompt(5, 2), 20);
  r.sched.add(a);
  execute(r, r.sched.schedule());
  r.sched.add(b);
  // a decodes (1 token) and wishes 3 drafts; b's 5-token prompt then gets what is left of the budget of 6.
  const plan = r.sched.schedule({ drafts: (q) => (q === a ? 3 : 0) });
  const ea = plan.entries.find((e) => e.req === a)!,
    eb = plan.entries.find((e) => e.req === b)!;
  assert.deepEqual([ea.n, ea.drafts], [1, 3]);
  assert.equal(eb.n, 2, 'the drafts took budget from the admission');
  assert.ok(a.seq.capacity >= a.numComputed + 1 + 3);
  // The wish is capped by the remaining budget.
  const r2 = rig(32, { maxStepTokens: 3 });
  const c = request(r2, prompt(3, 1), 20);
  r2.sched.add(c);
  execute(r2, r2.sched.schedule());
  const p2 = r2.sched.schedule({ drafts: () => 10 });
  assert.deepEqual([p2.entries[0]!.n, p2.entries[0]!.drafts], [1, 2]);
});

test('prefix blocks of speculating requests (MTP rows) are never adopted by plain ones, and vice versa', () => {
  const r = rig(32);
  const p = prompt(9, 40);
  const spec = request(r, p, 2, true);
  r.sched.add(spec);
  // The scripted model writes no MTP rows: mark them complete as the engine's catch-up would.
  while (!r.sched.idle) {
    const plan = r.sched.schedule();
    for (const e of plan.entries) e.req.mtp?.seq.extendTo(e.req.numComputed + e.n);
    execute(r, plan);
  }
  const plain = request(r, p, 2);
  r.sched.add(plain);
  runAll(r);
  assert.equal(plain.cachedTokens, 0, 'blocks named with the MTP salt are not adopted without it');
  const spec2 = request(r, p, 2, true);
  r.sched.add(spec2);
  const plan = r.sched.schedule();
  assert.equal(spec2.cachedTokens, 8);
  assert.equal(spec2.mtp!.seq.length, 8, 'adopted MTP rows count as complete');
  assert.equal(plan.entries[0]!.n, 1);
});

test('fairness: decoders are served before a long prefill that was admitted first, within the budget', () => {
  const r = rig(256, { maxStepTokens: 16 });
  const long = request(r, prompt(100, 1), 2),
    d1 = request(r, prompt(3, 2), 50),
    d2 = request(r, prompt(3, 3), 50);
  r.sched.add(long);
  execute(r, r.sched.schedule()); // the long prompt is admitted and takes the whole first budget
  r.sched.add(d1);
  r.sched.add(d2);
  execute(r, r.sched.schedule()); // the short prompts jump ahead of the long one's next chunk
  for (let step = 0; step < 5; step++) {
    const plan = r.sched.schedule();
    const byId = new Map(plan.entries.map((e) => [e.req, e]));
    assert.equal(byId.get(d1)?.n, 1, `step ${step}: stream 1 decodes`);
    assert.equal(byId.get(d2)?.n, 1, `step ${step}: stream 2 decodes`);
    assert.equal(byId.get(long)?.n, 14, 'the long prompt gets the rest of the budget');
    assert.deepEqual(
      plan.entries.slice(0, 2).map((e) => e.req),
      [d1, d2],
      'decoders come first in the plan',
    );
    execute(r, plan);
  }
});

test('fairness: a short request arriving behind a long prefill starts at once; the prefill cap holds', () => {
  const r = rig(256, { maxStepTokens: 64 });
  const long = request(r, prompt(500, 1), 1);
  r.sched.add(long);
  execute(r, r.sched.schedule());
  const short = request(r, prompt(10, 5), 3);
  r.sched.add(short);
  const plan = r.sched.schedule({ prefillCap: (q) => (q === long ? 8 : Infinity) });
  assert.deepEqual(
    plan.entries.map((e) => [e.req, e.n]),
    [
      [short, 10],
      [long, 8],
    ],
    'shortest remaining prompt first, the long chunk capped',
  );
  execute(r, plan);
  runAll(r);
  assert.deepEqual(output(short), expected(short.tokens.slice(0, short.startLen), 3));
  assert.deepEqual(output(long), expected(long.tokens.slice(0, long.startLen), 1));
  assert.equal(r.bm.used, 0);
});
