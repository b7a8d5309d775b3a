// safetensors reader/writer, sharded folders, and the one-line errors for broken checkpoints.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync, truncateSync, statSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../src/checkpoint/safetensors.js';
import { Checkpoint } from '../src/checkpoint/checkpoint.js';
import { GlmModel } from '../src/model/model.js';
import { refOps } from '../src/kernels/ref/index.js';
import { f32View } from '../src/tensor/weight.js';
import { E4M3_TABLE, bf16ToF32, f32ToBf16, f32ToE4m3, f16ToF32, f32ToF16 } from '../src/tensor/dtype.js';
import { tinyCheckpoint, tmpDir } from './helpers/tmp-model.js';
import { maxAbsDiff } from './helpers/golden.js';

const bytes = (a: Float32Array | Uint16Array | Int8Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

test('safetensors round trip for every dtype, data 8-byte aligned', () => {
  const dir = tmpDir();
  const p = join(dir, 'x.safetensors');
  const f = new Float32Array([1.5, -2, 3.25, 0]);
  writeSafetensors(
    p,
    [
      { name: 'a', dtype: 'F32', shape: [2, 2], bytes: bytes(f) },
      { name: 'b', dtype: 'BF16', shape: [3], bytes: bytes(new Uint16Array([f32ToBf16(1), f32ToBf16(-0.5), f32ToBf16(3)])) },
      { name: 'c', dtype: 'F8_E4M3', shape: [2], bytes: new Uint8Array([f32ToE4m3(448), f32ToE4m3(-0.015625)]) },
      { name: 'd', dtype: 'I8', shape: [2], bytes: bytes(new Int8Array([-127, 5])) },
      { name: 'e', dtype: 'U8', shape: [1], bytes: new Uint8Array([200]) },
      { name: 'g', dtype: 'F16', shape: [1], bytes: bytes(new Uint16Array([f32ToF16(0.333)])) },
    ],
    { note: 'hi' },
  );
  const r = SafetensorsFile.open(p);
  assert.equal(r.metadata.note, 'hi');
  assert.deepEqual([...f32View(r.tensors.get('a')!.bytes)], [1.5, -2, 3.25, 0]);
  const b = r.tensors.get('b')!;
  assert.deepEqual(
    [0, 1, 2].map((i) => bf16ToF32(b.bytes[2 * i]! | (b.bytes[2 * i + 1]! << 8))),
    [1, -0.5, 3],
  );
  assert.deepEqual(
    [...r.tensors.get('c')!.bytes].map((x) => E4M3_TABLE[x]),
    [448, -0.015625],
  );
  assert.equal(new Int8Array(r.tensors.get('d')!.bytes.slice().buffer)[0], -127);
  const g = r.tensors.get('g')!;
  assert.ok(Math.abs(f16ToF32(g.bytes[0]! | (g.bytes[1]! << 8)) - 0.333) < 1e-3);
  assert.equal(r.tensors.get('a')!.bytes.byteOffset % 8, 0);
});

test('e4m3 encoding: table, NaN, saturation, round-to-nearest-even', () => {
  assert.equal(E4M3_TABLE[0x7e], 448);
  assert.ok(Number.isNaN(E4M3_TABLE[0x7f]));
  assert.equal(E4M3_TABLE[0x01], 2 ** -9);
  assert.equal(f32ToE4m3(1e6), 0x7e);
  assert.equal(f32ToE4m3(-1e6), 0xfe);
  for (let b = 0; b < 0x7f; b++) assert.equal(f32ToE4m3(E4M3_TABLE[b]!), b);
  assert.equal(E4M3_TABLE[f32ToE4m3(1.0625)], 1); // halfway between 1 and 1.125 → even mantissa
});

test('sharded folder with index.json loads the same model as a single file', () => {
  const single = tinyCheckpoint({ seed: 3 });
  const sharded = tinyCheckpoint({ seed: 3, maxShardBytes: 100_000 });
  const shards = readdirSync(sharded).filter((f) => f.endsWith('.safetensors'));
  assert.ok(shards.length > 2, `expected several shards, got ${shards.length}`);
  const idx = JSON.parse(readFileSync(join(sharded, 'model.safetensors.index.json'), 'utf8'));
  assert.equal(Object.keys(idx.weight_map).length, Checkpoint.open(single).names().length);
  const ids = [5, 9, 2, 100, 7];
  const a = GlmModel.load(single, { ops: refOps });
  const b = GlmModel.load(sharded, { ops: refOps });
  assert.equal(maxAbsDiff(a.forward(ids, a.newCache()).logits, b.forward(ids, b.newCache()).logits), 0);
});

// Each corruption must produce one line naming the file (and the tensor when there is one).
function broken(mutate: (dir: string) => void): string {
  const dir = tinyCheckpoint({ seed: 2 });
  mutate(dir);
  try {
    GlmModel.load(dir, { ops: refOps });
  } catch (e) {
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `error is one line: ${msg}`);
    return msg;
  }
  assert.fail('expected the load to fail');
}

function rewriteHeader(dir: string, edit: (h: any) => void) {
  const p = join(dir, 'model.safetensors');
  const buf = readFileSync(p);
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString());
  edit(h);
  let json = JSON.stringify(h);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(p, Buffer.concat([len, Buffer.from(json), buf.subarray(8 + n)]));
}

test('truncated file', () => {
  const msg = broken((d) => truncateSync(join(d, 'model.safetensors'), statSync(join(d, 'model.safetensors')).size - 100));
  assert.match(msg, /^model\.safetensors: tensor '[^']+': truncated file/);
});

test('truncated inside the header', () => {
  const msg = broken((d) => truncateSync(join(d, 'model.safetensors'), 20));
  assert.match(msg, /^model\.safetensors: truncated file/);
});

test('bad header JSON', () => {
  const msg = broken((d) => {
    const p = join(d, 'model.safetensors');
    const buf = readFileSync(p);
    buf[9] = 0x7b; // '{{' is not JSON
    buf[8] = 0x7b;
    writeFileSync(p, buf);
  });
  assert.match(msg, /^model\.safetensors: bad header JSON/);
});

test('missing tensor', () => {
  const msg = broken((d) => rewriteHeader(d, (h) => delete h['model.layers.1.self_attn.o_proj.weight']));
  assert.equal(msg, "model.safetensors: tensor 'model.layers.1.self_attn.o_proj.weight': missing tensor");
});

test('unexpected shape', () => {
  const msg = broken((d) =>
    rewriteHeader(d, (h) => {
      const t = h['model.norm.weight'];
      t.shape = [32, 2];
    }),
  );
  assert.match(msg, /^model\.safetensors: tensor 'model\.norm\.weight': unexpected shape \[32, 2\], expected \[64\]/);
});

test('unsupported dtype', () => {
  const msg = broken((d) => rewriteHeader(d, (h) => (h['model.norm.weight'].dtype = 'C64')));
  assert.match(msg, /^model\.safetensors: tensor 'model\.norm\.weight': unsupported dtype C64/);
});

test('unknown tensor', () => {
  const msg = broken((d) =>
    rewriteHeader(d, (h) => {
      h['model.layers.0.self_attn.mystery.weight'] = { ...h['model.norm.weight'] };
    }),
  );
  assert.match(msg, /tensor 'model\.layers\.0\.self_attn\.mystery\.weight': unknown tensor/);
});

test('missing shard and missing config', () => {
  const dir = tinyCheckpoint({ seed: 3, maxShardBytes: 100_000 });
  const shard = readdirSync(dir).find((f) => f.startsWith('model-00002'))!;
  rmSync(join(dir, shard));
  assert.throws(() => GlmModel.load(dir, { ops: refOps }), new RegExp(`^CheckpointError: ${shard}: shard listed`));
  const d2 = tinyCheckpoint();
  rmSync(join(d2, 'config.json'));
  assert.throws(() => GlmModel.load(d2, { ops: refOps }), /config\.json: not found/);
  const d3 = tinyCheckpoint();
  copyFileSync(join(d3, 'config.json'), join(d3, 'c.bak'));
  writeFileSync(join(d3, 'config.json'), '{"vocab_size": "big"}');
  assert.throws(() => GlmModel.load(d3, { ops: refOps }), /config\.json: vocab_size/);
});

test('MTP layer tensors (layer num_hidden_layers) are recognised and kept, not an error', () => {
  const dir = tinyCheckpoint({ seed: 4, overrides: { num_nextn_predict_layers: 1 } });
  const names = Checkpoint.open(dir).names();
  assert.ok(names.includes('model.layers.4.eh_proj.weight'));
  assert.ok(names.includes('model.layers.4.self_attn.indexer.wk.weight'));
  const m = GlmModel.load(dir, { ops: refOps });
  assert.equal(m.weights.mtp.length, 1);
  assert.equal(m.weights.mtp[0]!.ehProj.cols, 128);
  assert.equal(m.weights.mtp[0]!.layer.mlp.kind, 'moe');
  assert.equal(m.forward([1, 2, 3], m.newCache()).rows, 3);
});
