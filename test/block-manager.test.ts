// BlockManager on its own, no model (in the spirit of vLLM's tests/v1/core/test_prefix_caching.py): allocation
// under the budget, free vs cached on release, LRU eviction of cached prefix blocks, adoption taking references,
// chained hashes, and every counter back to its start once everyone has released.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockManager } from '../src/engine/block-manager.js';

const B = 4;
/** Tokens 0..n-1 shifted by `base`, so two prompts differ only where asked. */
const seq = (n: number, base = 0): number[] => Array.from({ length: n }, (_, i) => base + i);

/** Fills blocks for `tokens` the way the scheduler does: allocate one per full block, then name it. */
function fill(bm: BlockManager, tokens: readonly number[], parent = ''): { blocks: number[]; hashes: string[] } {
  const hashes = bm.blockHashes(tokens, 0, parent);
  const blocks = hashes.map((h) => {
    const b = bm.allocate();
    assert.notEqual(b, -1, 'pool exhausted while filling');
    bm.register(b, h);
    return b;
  });
  return { blocks, hashes };
}

function counters(bm: BlockManager): { used: number; cached: number; available: number } {
  return { used: bm.used, cached: bm.cached, available: bm.available };
}

test('allocation hands out every block once, then returns -1', () => {
  const bm = new BlockManager(5, B);
  const got = Array.from({ length: 5 }, () => bm.allocate());
  assert.deepEqual(
    [...got].sort((a, b) => a - b),
    [0, 1, 2, 3, 4],
  );
  assert.equal(bm.allocate(), -1);
  assert.deepEqual(counters(bm), { used: 5, cached: 0, available: 0 });
  bm.release(got[2]!);
  assert.equal(bm.allocate(), got[2], 'a released block is reused');
  assert.equal(bm.allocate(), -1);
});

test('release: an unnamed block goes back to free, a named one is kept as cached', () => {
  const bm = new BlockManager(4, B);
  const plain = bm.allocate();
  const {
    blocks: [named],
  } = fill(bm, seq(B));
  assert.deepEqual(counters(bm), { used: 2, cached: 0, available: 2 });
  bm.release(plain);
  assert.deepEqual(counters(bm), { used: 1, cached: 0, available: 3 });
  bm.release(named!);
  assert.deepEqual(counters(bm), { used: 0, cached: 1, available: 4 });
  // The cached block still answers its hash: a later request adopts it instead of recomputing.
  assert.deepEqual(bm.adoptPrefix(bm.blockHashes(seq(B))), [named]);
});

test('release of a block nobody holds throws', () => {
  const bm = new BlockManager(2, B);
  assert.throws(() => bm.release(0), /release of block 0, which nobody holds/);
  const b = bm.allocate();
  bm.release(b);
  assert.throws(() => bm.release(b), /nobody holds/);
  const {
    blocks: [named],
  } = fill(bm, seq(B));
  bm.release(named!);
  assert.throws(() => bm.release(named!), /nobody holds/, 'a cached block is held by nobody too');
  assert.throws(() => bm.release(7), /nobody holds/, 'a block outside the pool');
  assert.deepEqual(counters(bm), { used: 0, cached: 1, available: 2 });
});

test('eviction: free blocks go first, then cached blocks least recently released first', () => {
  const bm = new BlockManager(4, B);
  const a = fill(bm, seq(B, 100)),
    b = fill(bm, seq(B, 200)),
    c = fill(bm, seq(B, 300));
  const spare = bm.allocate();
  // Release order c, a, b: c is the least recently used.
  bm.release(c.blocks[0]!);
  bm.release(a.blocks[0]!);
  bm.release(b.blocks[0]!);
  bm.release(spare);
  assert.deepEqual(counters(bm), { used: 0, cached: 3, available: 4 });
  assert.equal(bm.allocate(), spare, 'the free block before any cached one');
  assert.equal(bm.allocate(), c.blocks[0], 'then the least recently released');
  assert.deepEqual(bm.adoptPrefix(c.hashes), [], 'an evicted block loses its name');
  assert.deepEqual(bm.adoptPrefix(a.hashes), a.blocks, 'the others keep theirs');
  assert.deepEqual(bm.adoptPrefix(b.hashes), b.blocks);
});

test('a block adopted and released again becomes the most recently used', () => {
  const bm = new BlockManager(3, B);
  const a = fill(bm, seq(B, 100)),
    b = fill(bm, seq(B, 200)),
    c = fill(bm, seq(B, 300));
  for (const x of [a, b, c]) bm.release(x.blocks[0]!);
  // LRU order is a, b, c; touching a moves it behind c.
  assert.deepEqual(bm.adoptPrefix(a.hashes), a.blocks);
  bm.release(a.blocks[0]!);
  assert.equal(bm.allocate(), b.blocks[0]);
  assert.equal(bm.allocate(), c.blocks[0]);
  assert.equal(bm.allocate(), a.blocks[0]);
  assert.equal(bm.allocate(), -1);
});

test('adoptPrefix takes a reference and removes the block from the evictable set', () => {
  const bm = new BlockManager(3, B);
  const p = fill(bm, seq(3 * B));
  for (const b of p.blocks) bm.release(b);
  assert.deepEqual(counters(bm), { used: 0, cached: 3, available: 3 });
  const got = bm.adoptPrefix(p.hashes.slice(0, 2));
  assert.deepEqual(got, p.blocks.slice(0, 2));
  assert.deepEqual(counters(bm), { used: 2, cached: 1, available: 1 });
  // Adopted blocks are held: allocation can only take the remaining cached one.
  assert.equal(bm.allocate(), p.blocks[2]);
  assert.equal(bm.allocate(), -1);
  // A second request shares the held blocks: two references each, so one release keeps them in use.
  assert.deepEqual(bm.adoptPrefix(p.hashes.slice(0, 2)), got);
  for (const b of got) bm.release(b);
  assert.deepEqual(counters(bm), { used: 3, cached: 0, available: 0 });
  for (const b of got) bm.release(b);
  assert.deepEqual(counters(bm), { used: 1, cached: 2, available: 2 });
});

test('adoptPrefix stops at the first hash that is not cached', () => {
  const bm = new BlockManager(4, B);
  const p = fill(bm, seq(3 * B));
  // Release the middle block first, so it is the least recently used, then evict it.
  for (const i of [1, 0, 2]) bm.release(p.blocks[i]!);
  const spare = bm.allocate();
  assert.ok(!p.blocks.includes(spare), 'the free block goes first');
  assert.equal(bm.allocate(), p.blocks[1], 'then the least recently released');
  const got = bm.adoptPrefix(p.hashes);
  assert.deepEqual(got, [p.blocks[0]], 'the chain stops at the evicted block, although the third is still named');
  assert.deepEqual(counters(bm), { used: 3, cached: 1, available: 1 });
  bm.release(got[0]!);
  assert.deepEqual(bm.adoptPrefix([p.hashes[2]!]), [p.blocks[2]], 'a later block alone is still named');
});

test('chained hashes: the same tokens under another salt never share; an earlier difference breaks the chain', () => {
  const bm = new BlockManager(8, B);
  const t = seq(3 * B);
  const h = bm.blockHashes(t);
  assert.equal(h.length, 3);
  assert.equal(new Set(h).size, 3);
  assert.deepEqual(bm.blockHashes(t), h, 'deterministic');
  assert.deepEqual(bm.blockHashes(seq(3 * B + 2)), h, 'the last partial block has no hash');
  assert.deepEqual(bm.blockHashes(seq(B - 1)), []);
  // The caller's salt (kind of content) and the manager's salt (the weights) both change every hash.
  const other = bm.blockHashes(t, 0, 'mtp');
  for (let i = 0; i < 3; i++) assert.notEqual(other[i], h[i]);
  const otherWeights = new BlockManager(8, B, 'weights-2').blockHashes(t);
  for (let i = 0; i < 3; i++) assert.notEqual(otherWeights[i], h[i]);
  // A differing first block changes every later hash, though blocks 1 and 2 hold the same tokens.
  const t2 = [...t];
  t2[0] = 999;
  const h2 = bm.blockHashes(t2);
  for (let i = 0; i < 3; i++) assert.notEqual(h2[i], h[i]);
  // A differing last block keeps the earlier ones.
  const t3 = [...t];
  t3[3 * B - 1] = 999;
  const h3 = bm.blockHashes(t3);
  assert.deepEqual(h3.slice(0, 2), h.slice(0, 2));
  assert.notEqual(h3[2], h[2]);
  // Hashing on from a block index with the previous hash as parent continues the same chain.
  assert.deepEqual([...bm.blockHashes(t.slice(0, B)), ...bm.blockHashes(t, 1, h[0])], h);
});

test('prefix sharing through the manager: a salted or diverging prompt adopts only what it may', () => {
  const bm = new BlockManager(8, B);
  const p = fill(bm, seq(3 * B), 'text');
  for (const b of p.blocks) bm.release(b);
  assert.deepEqual(bm.adoptPrefix(bm.blockHashes(seq(3 * B), 0, 'image')), [], 'other salt');
  const diverging = seq(3 * B);
  diverging[B + 1] = 999; // second block differs
  const got = bm.adoptPrefix(bm.blockHashes(diverging, 0, 'text'));
  assert.deepEqual(got, [p.blocks[0]]);
  bm.release(got[0]!);
  assert.deepEqual(counters(bm), { used: 0, cached: 3, available: 8 });
});

test('register keeps the first name: a duplicate block stays unnamed and is freed on release', () => {
  const bm = new BlockManager(4, B);
  const [h] = bm.blockHashes(seq(B));
  const first = bm.allocate(),
    dup = bm.allocate();
  bm.register(first, h!);
  bm.register(dup, h!); // same content computed twice: the hash still points at the first
  bm.register(first, 'another-name'); // a named block keeps its name
  assert.deepEqual(bm.adoptPrefix([h!]), [first]);
  assert.deepEqual(bm.adoptPrefix(['another-name']), []);
  bm.release(first);
  bm.release(dup);
  assert.deepEqual(counters(bm), { used: 1, cached: 0, available: 3 }, 'dup went to free');
  bm.release(first);
  assert.deepEqual(counters(bm), { used: 0, cached: 1, available: 4 });
});

test('reference counts return to zero once every sharer releases', () => {
  const bm = new BlockManager(6, B);
  const prompt = seq(2 * B);
  // Request 1 computes the prefix and one private block; requests 2 and 3 adopt the prefix.
  const r1 = fill(bm, prompt, 's');
  const own1 = bm.allocate();
  const r2 = bm.adoptPrefix(r1.hashes);
  const r3 = bm.adoptPrefix(r1.hashes);
  assert.deepEqual(r2, r1.blocks);
  assert.deepEqual(r3, r1.blocks);
  const own3 = bm.allocate();
  assert.deepEqual(counters(bm), { used: 4, cached: 0, available: 2 });
  // Release in an order unrelated to acquisition.
  for (const b of r2) bm.release(b);
  bm.release(own1);
  for (const b of r1.blocks) bm.release(b);
  assert.deepEqual(counters(bm), { used: 3, cached: 0, available: 3 }, 'request 3 still holds the prefix');
  for (const b of [...r3, own3]) bm.release(b);
  assert.deepEqual(counters(bm), { used: 0, cached: 2, available: 6 });
  assert.equal(bm.used, 0);
  assert.equal(bm.available, bm.numBlocks);
  for (const b of [...r1.blocks, own1, own3]) assert.throws(() => bm.release(b), /nobody holds/);
});

test('clearCache frees every cached block and forgets its name; held blocks keep theirs', () => {
  const bm = new BlockManager(4, B);
  const a = fill(bm, seq(B, 100)),
    held = fill(bm, seq(B, 200));
  bm.release(a.blocks[0]!);
  assert.deepEqual(counters(bm), { used: 1, cached: 1, available: 3 });
  bm.clearCache();
  assert.deepEqual(counters(bm), { used: 1, cached: 0, available: 3 });
  assert.deepEqual(bm.adoptPrefix(a.hashes), []);
  const again = bm.adoptPrefix(held.hashes);
  assert.deepEqual(again, held.blocks, 'a held block is not cleared');
  bm.release(again[0]!);
  bm.release(held.blocks[0]!);
  assert.deepEqual(counters(bm), { used: 0, cached: 1, available: 4 });
  bm.clearCache();
  assert.deepEqual(counters(bm), { used: 0, cached: 0, available: 4 });
  // Everything is allocatable again, with no stale name left behind.
  const all = Array.from({ length: 4 }, () => bm.allocate());
  assert.ok(all.every((b) => b >= 0));
  assert.equal(bm.allocate(), -1);
  assert.deepEqual(bm.adoptPrefix(held.hashes), []);
});
