// GGUF writer and glm-dsa / deepseek2 (GLM-4.7-Flash) export: files are parsed back with a small reader written here from the format
// description (independent of src/gguf), then header, metadata, tensor offsets and data are checked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeGguf, gguf, type GgufValue } from '../src/gguf/writer.js';
import { exportGguf } from '../src/gguf/export.js';
import { splitKvB } from '../src/gguf/glm-dsa.js';
import { Checkpoint } from '../src/checkpoint/checkpoint.js';
import { presetConfig } from '../src/model/presets.js';
import { writeSyntheticCheckpoint, type SyntheticDType } from '../src/model/synthetic.js';
import { writePresetTextFiles } from '../src/text/preset.js';
import { loadConfig } from '../src/model/config.js';
import { linearFromTensor, tensorToF32 } from '../src/checkpoint/linear.js';
import { dequantize } from '../src/tensor/weight.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../src/tensor/dtype.js';
import { tinyFlashCheckpoint, tmpDir } from './helpers/tmp-model.js';

// ---- independent reader ----
interface Parsed {
  version: number;
  kv: Map<string, { type: number; value: unknown }>;
  tensors: { name: string; ne: number[]; type: number; offset: number }[];
  dataStart: number;
  buf: Buffer;
}

function parseGguf(path: string): Parsed {
  const buf = readFileSync(path);
  let p = 0;
  const u32 = () => {
    const v = buf.readUInt32LE(p);
    p += 4;
    return v;
  };
  const u64 = () => {
    const v = Number(buf.readBigUInt64LE(p));
    p += 8;
    return v;
  };
  const str = () => {
    const n = u64();
    const s = buf.toString('utf8', p, p + n);
    p += n;
    return s;
  };
  const scalar = (t: number): unknown => {
    switch (t) {
      case 0:
        return buf.readUInt8(p++);
      case 1:
        return buf.readInt8(p++);
      case 2: {
        const v = buf.readUInt16LE(p);
        p += 2;
        return v;
      }
      case 3: {
        const v = buf.readInt16LE(p);
        p += 2;
        return v;
      }
      case 4:
        return u32();
      case 5: {
        const v = buf.readInt32LE(p);
        p += 4;
        return v;
      }
      case 6: {
        const v = buf.readFloatLE(p);
        p += 4;
        return v;
      }
      case 7:
        return buf.readUInt8(p++) !== 0;
      case 8:
        return str();
      case 10:
        return u64();
      case 11: {
        const v = Number(buf.readBigInt64LE(p));
        p += 8;
        return v;
      }
      case 12: {
        const v = buf.readDoubleLE(p);
        p += 8;
        return v;
      }
      default:
        throw new Error(`bad value type ${t}`);
    }
  };
  assert.equal(buf.toString('latin1', 0, 4), 'GGUF');
  p = 4;
  const version = u32();
  const nT = u64(),
    nKv = u64();
  const kv = new Map<string, { type: number; value: unknown }>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = u32();
    if (type === 9) {
      const it = u32(),
        n = u64();
      kv.set(key, { type, value: Array.from({ length: n }, () => scalar(it)) });
    } else {
      kv.set(key, { type, value: scalar(type) });
    }
  }
  const tensors = [];
  for (let i = 0; i < nT; i++) {
    const name = str();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    tensors.push({ name, ne, type: u32(), offset: u64() });
  }
  const align = (kv.get('general.alignment')?.value as number | undefined) ?? 32;
  const dataStart = Math.ceil(p / align) * align;
  return { version, kv, tensors, dataStart, buf };
}

/** A tensor's elements as f32, by ggml type (0 F32, 1 F16, 30 BF16). */
function tensorValues(g: Parsed, name: string): { ne: number[]; v: Float32Array } {
  const t = g.tensors.find((x) => x.name === name);
  assert.ok(t, `tensor ${name} missing`);
  const n = t.ne.reduce((a, b) => a * b, 1);
  const at = g.dataStart + t.offset;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (t.type === 0) v[i] = g.buf.readFloatLE(at + 4 * i);
    else if (t.type === 1) v[i] = f16ToF32(g.buf.readUInt16LE(at + 2 * i));
    else if (t.type === 30) v[i] = bf16ToF32(g.buf.readUInt16LE(at + 2 * i));
    else throw new Error(`type ${t.type}`);
  }
  return { ne: t.ne, v };
}

const kvOf = (g: Parsed, k: string) => g.kv.get(k)?.value;

test('writer: header, typed KVs and arrays, tensor infos, 32-byte aligned data round trip', () => {
  const path = join(tmpDir(), 'a.gguf');
  const meta = new Map<string, GgufValue>([
    ['general.architecture', gguf.str('glm-dsa')],
    ['u8', { type: 'u8', value: 255 }],
    ['i8', { type: 'i8', value: -3 }],
    ['u16', { type: 'u16', value: 65535 }],
    ['i16', { type: 'i16', value: -300 }],
    ['u32', gguf.u32(4000000000)],
    ['i32', gguf.i32(-7)],
    ['f32', gguf.f32(0.25)],
    ['bool', gguf.bool(true)],
    ['u64', { type: 'u64', value: 2n ** 40n }],
    ['i64', { type: 'i64', value: -5 }],
    ['f64', { type: 'f64', value: 1e-300 }],
    ['unicode', gguf.str('ĠΔ<|user|>')],
    ['arr.s', gguf.arr('string', ['a', '', 'Ġthe'])],
    ['arr.i', gguf.arr('i32', [1, -2, 3])],
    ['arr.b', gguf.arr('bool', [true, false])],
    ['arr.empty', gguf.arr('u32', [])],
  ]);
  const a = new Float32Array([1, -2, 3.5, 7, 9, 11, 13]); // 28 bytes: the next tensor needs padding
  const b = Uint16Array.from([0.5, -1.25, 3, 1e-3, 2, 4], (x) => f32ToF16(x));
  const c = Uint16Array.from([1, 2, 3, -4, 5, 6, 7, 8, 9, 10, 11, 12], (x) => f32ToBf16(x));
  const layout = writeGguf(path, meta, [
    { name: 'a', type: 'F32', ne: [7], bytes: new Uint8Array(a.buffer) },
    { name: 'b', type: 'F16', ne: [3, 2], bytes: () => new Uint8Array(b.buffer) },
    { name: 'blk.0.c', type: 'BF16', ne: [2, 3, 2], bytes: new Uint8Array(c.buffer) },
  ]);
  const g = parseGguf(path);
  assert.equal(g.version, 3);
  assert.equal(g.kv.size, meta.size);
  assert.deepEqual([...g.kv.keys()], [...meta.keys()]);
  assert.equal(kvOf(g, 'u8'), 255);
  assert.equal(kvOf(g, 'i8'), -3);
  assert.equal(kvOf(g, 'u16'), 65535);
  assert.equal(kvOf(g, 'i16'), -300);
  assert.equal(kvOf(g, 'u32'), 4000000000);
  assert.equal(kvOf(g, 'i32'), -7);
  assert.equal(kvOf(g, 'f32'), 0.25);
  assert.equal(kvOf(g, 'bool'), true);
  assert.equal(kvOf(g, 'u64'), 2 ** 40);
  assert.equal(kvOf(g, 'i64'), -5);
  assert.equal(kvOf(g, 'f64'), 1e-300);
  assert.equal(kvOf(g, 'unicode'), 'ĠΔ<|user|>');
  assert.deepEqual(kvOf(g, 'arr.s'), ['a', '', 'Ġthe']);
  assert.deepEqual(kvOf(g, 'arr.i'), [1, -2, 3]);
  assert.equal(g.kv.get('arr.i')!.type, 9);
  assert.deepEqual(kvOf(g, 'arr.b'), [true, false]);
  assert.deepEqual(kvOf(g, 'arr.empty'), []);
  assert.deepEqual(
    g.tensors.map((t) => [t.name, t.ne, t.type]),
    [
      ['a', [7], 0],
      ['b', [3, 2], 1],
      ['blk.0.c', [2, 3, 2], 30],
    ],
  );
  assert.deepEqual(
    g.tensors.map((t) => t.offset),
    [0, 32, 64],
  );
  assert.deepEqual(layout.offsets, [0, 32, 64]);
  assert.equal(g.dataStart % 32, 0);
  assert.equal(g.dataStart, layout.dataStart);
  assert.equal(statSync(path).size, layout.fileSize);
  assert.equal(layout.fileSize, g.dataStart + 64 + 24 + 8); // last tensor padded to the alignment too
  assert.deepEqual(tensorValues(g, 'a').v, a);
  assert.deepEqual(Array.from(tensorValues(g, 'b').v), Array.from(b, f16ToF32));
  assert.deepEqual(Array.from(tensorValues(g, 'blk.0.c').v), [1, 2, 3, -4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

test('writer: custom general.alignment, and errors for bad input', () => {
  const path = join(tmpDir(), 'b.gguf');
  writeGguf(path, new Map([['general.alignment', gguf.u32(64)]]), [
    { name: 'x', type: 'F32', ne: [3], bytes: new Uint8Array(12) },
    { name: 'y', type: 'F32', ne: [1], bytes: new Uint8Array(4) },
  ]);
  const g = parseGguf(path);
  assert.equal(g.dataStart % 64, 0);
  assert.deepEqual(
    g.tensors.map((t) => t.offset),
    [0, 64],
  );
  assert.throws(() => writeGguf(path, new Map(), [{ name: 'x', type: 'F32', ne: [3], bytes: new Uint8Array(8) }]), /needs 12/);
  assert.throws(
    () =>
      writeGguf(path, new Map(), [
        { name: 'x', type: 'F32', ne: [1], bytes: new Uint8Array(4) },
        { name: 'x', type: 'F32', ne: [1], bytes: new Uint8Array(4) },
      ]),
    /duplicate/,
  );
  assert.throws(() => writeGguf(path, new Map([['k', gguf.u32(1.5)]]), []), /does not fit/);
});

test('splitKvB: k_b is W_UKᵀ per head, v_b is W_UV per head', () => {
  const H = 2,
    Dn = 3,
    Dv = 2,
    C = 4;
  const kv = Float32Array.from({ length: H * (Dn + Dv) * C }, (_, i) => i);
  const { kB, vB } = splitKvB(new Uint8Array(kv.buffer), 4, H, Dn, Dv, C);
  const k = new Float32Array(kB.buffer),
    v = new Float32Array(vB.buffer);
  for (let h = 0; h < H; h++) {
    for (let c = 0; c < C; c++) for (let j = 0; j < Dn; j++) assert.equal(k[(h * C + c) * Dn + j], kv[(h * (Dn + Dv) + j) * C + c]);
    for (let i = 0; i < Dv; i++) for (let c = 0; c < C; c++) assert.equal(v[(h * Dv + i) * C + c], kv[(h * (Dn + Dv) + Dn + i) * C + c]);
  }
});

function parityFolder(dtype: SyntheticDType, overrides: Record<string, unknown> = { index_head_dim: 64 }): string {
  const dir = tmpDir();
  const vocab = writePresetTextFiles(dir);
  writeSyntheticCheckpoint(dir, { ...presetConfig('tiny', vocab), ...overrides }, { seed: 3, dtype });
  return dir;
}

test('export: glm-dsa metadata, tokenizer keys, tensor names, shapes and layouts (bf16 checkpoint → bf16 GGUF is exact)', () => {
  const dir = parityFolder('bf16');
  const out = join(dir, 'm.gguf');
  exportGguf(dir, out, { dtype: 'bf16' });
  const g = parseGguf(out);
  const cfg = loadConfig(dir);
  const ck = Checkpoint.open(dir);
  assert.equal(kvOf(g, 'general.architecture'), 'glm-dsa');
  assert.equal(kvOf(g, 'general.file_type'), 32);
  const A = (k: string) => kvOf(g, `glm-dsa.${k}`);
  assert.equal(A('block_count'), 4);
  assert.equal(A('embedding_length'), 64);
  assert.equal(A('attention.head_count'), 4);
  assert.equal(A('attention.head_count_kv'), 1);
  assert.equal(A('attention.key_length'), 32 + 8);
  assert.equal(A('attention.value_length'), 32);
  assert.equal(A('attention.key_length_mla'), 24);
  assert.equal(A('attention.value_length_mla'), 24);
  assert.equal(A('rope.dimension_count'), 8);
  assert.equal(A('leading_dense_block_count'), 1);
  assert.equal(A('expert_group_count'), 4);
  assert.equal(A('expert_group_used_count'), 2);
  assert.equal(A('expert_gating_func'), 2);
  assert.equal(A('expert_weights_scale'), 2.5);
  assert.equal(A('expert_weights_norm'), true);
  assert.equal(A('attention.indexer.key_length'), 64);
  assert.equal(A('attention.indexer.top_k'), 16);
  assert.deepEqual(A('attention.indexer.types'), [true, true, true, true]);
  assert.ok(Math.abs((A('attention.layer_norm_rms_epsilon') as number) - 1e-5) < 1e-10);

  const tokens = kvOf(g, 'tokenizer.ggml.tokens') as string[];
  const types = kvOf(g, 'tokenizer.ggml.token_type') as number[];
  assert.equal(kvOf(g, 'tokenizer.ggml.model'), 'gpt2');
  assert.equal(kvOf(g, 'tokenizer.ggml.pre'), 'glm4');
  assert.equal(tokens.length, cfg.vocabSize);
  const gmask = tokens.indexOf('[gMASK]');
  assert.equal(kvOf(g, 'tokenizer.ggml.bos_token_id'), gmask);
  assert.equal(types[gmask], 3);
  assert.equal(tokens[kvOf(g, 'tokenizer.ggml.eos_token_id') as number], '<|endoftext|>');
  assert.equal(tokens[kvOf(g, 'tokenizer.ggml.eot_token_id') as number], '<|user|>');
  assert.equal(tokens[kvOf(g, 'tokenizer.ggml.eom_token_id') as number], '<|observation|>');
  assert.equal(types[0], 1);
  assert.ok((kvOf(g, 'tokenizer.ggml.merges') as string[]).every((m) => m.split(' ').length === 2));

  // 2-D: same row-major bytes, dims reversed.
  const embed = tensorValues(g, 'token_embd.weight');
  assert.deepEqual(embed.ne, [64, cfg.vocabSize]);
  assert.deepEqual(embed.v, tensorToF32(ck.get('model.embed_tokens.weight')));
  // Norms and the router stay F32.
  assert.equal(g.tensors.find((t) => t.name === 'blk.1.ffn_gate_inp.weight')!.type, 0);
  assert.equal(g.tensors.find((t) => t.name === 'blk.0.indexer.proj.weight')!.type, 0);
  assert.equal(g.tensors.find((t) => t.name === 'blk.2.exp_probs_b.bias')!.type, 0);
  // kv_b split: k_b ne {Dn, C, H}, v_b ne {C, Dv, H}.
  const kvb = tensorToF32(ck.get('model.layers.2.self_attn.kv_b_proj.weight'));
  const kb = tensorValues(g, 'blk.2.attn_k_b.weight'),
    vb = tensorValues(g, 'blk.2.attn_v_b.weight');
  assert.deepEqual(kb.ne, [16, 32, 4]);
  assert.deepEqual(vb.ne, [32, 24, 4]);
  for (let h = 0; h < 4; h++) {
    for (let c = 0; c < 32; c++) for (let j = 0; j < 16; j++) assert.equal(kb.v[(h * 32 + c) * 16 + j], kvb[(h * 40 + j) * 32 + c]);
    for (let i = 0; i < 24; i++) for (let c = 0; c < 32; c++) assert.equal(vb.v[(h * 24 + i) * 32 + c], kvb[(h * 40 + 16 + i) * 32 + c]);
  }
  // Experts stacked [E, out, in]: ne {in, out, E}.
  const down = tensorValues(g, 'blk.3.ffn_down_exps.weight');
  assert.deepEqual(down.ne, [32, 64, 16]);
  const e5 = tensorToF32(ck.get('model.layers.3.mlp.experts.5.down_proj.weight'));
  assert.deepEqual(down.v.subarray(5 * 64 * 32, 6 * 64 * 32), e5);
  assert.deepEqual(tensorValues(g, 'blk.3.ffn_gate_shexp.weight').ne, [64, 32]);
  assert.equal(g.tensors.length, 90);
});

test('export: FP8 checkpoints are dequantised (exact in F32, rounded once in BF16)', () => {
  const dir = parityFolder('fp8');
  const cfg = loadConfig(dir);
  const ck = Checkpoint.open(dir);
  const name = 'model.layers.1.self_attn.q_b_proj.weight';
  const exact = dequantize(linearFromTensor(ck.get(name), ck.get(name.replace('.weight', '.weight_scale_inv')), cfg.fp8BlockSize));
  exportGguf(dir, join(dir, 'f32.gguf'), { dtype: 'f32' });
  exportGguf(dir, join(dir, 'bf16.gguf'), { dtype: 'bf16' });
  const f = parseGguf(join(dir, 'f32.gguf')),
    b = parseGguf(join(dir, 'bf16.gguf'));
  assert.ok(![...f.tensors, ...b.tensors].some((t) => t.name.includes('scale')));
  assert.equal(kvOf(f, 'general.file_type'), 0);
  assert.deepEqual(tensorValues(f, 'blk.1.attn_q_b.weight').v, exact);
  assert.deepEqual(
    Array.from(tensorValues(b, 'blk.1.attn_q_b.weight').v),
    Array.from(exact, (x) => bf16ToF32(f32ToBf16(x))),
  );
});

test('export: refuses shapes llama.cpp aborts on unless forced', () => {
  const dir = parityFolder('bf16', {}); // tiny preset: index_head_dim 16
  assert.throws(() => exportGguf(dir, join(dir, 'x.gguf'), { dtype: 'bf16' }), /index_head_dim 16.*power of two/);
  exportGguf(dir, join(dir, 'x.gguf'), { dtype: 'bf16', force: true });
  assert.equal(kvOf(parseGguf(join(dir, 'x.gguf')), 'glm-dsa.attention.indexer.key_length'), 16);
});

test('export: glm4_moe_lite → llama.cpp deepseek2 (no indexer keys or tensors; sigmoid gating written; the MTP layer with its own embedding and head)', () => {
  const dir = tinyFlashCheckpoint({ seed: 4, dtype: 'bf16', textFiles: true, overrides: { num_nextn_predict_layers: 1 } });
  const out = join(dir, 'flash.gguf');
  exportGguf(dir, out, { dtype: 'bf16' });
  const g = parseGguf(out);
  const ck = Checkpoint.open(dir);
  assert.equal(kvOf(g, 'general.architecture'), 'deepseek2');
  const A = (k: string) => kvOf(g, `deepseek2.${k}`);
  assert.equal(A('block_count'), 5);
  assert.equal(A('nextn_predict_layers'), 1);
  assert.equal(A('leading_dense_block_count'), 1);
  assert.equal(A('expert_gating_func'), 2);
  assert.ok(Math.abs((A('expert_weights_scale') as number) - 2.5) < 1e-6);
  assert.equal(A('attention.key_length'), 32 + 8);
  assert.equal(A('attention.key_length_mla'), 24);
  assert.ok(![...g.kv.keys()].some((k) => k.includes('indexer') || k.startsWith('glm-dsa.')));
  assert.ok(!g.tensors.some((t) => t.name.includes('indexer')));
  assert.deepEqual(tensorValues(g, 'blk.4.nextn.shared_head_head.weight').v, tensorToF32(ck.get('model.layers.4.shared_head.head.weight')));
  assert.deepEqual(tensorValues(g, 'blk.4.nextn.embed_tokens.weight').ne, [64, loadConfig(dir).vocabSize]);
  assert.ok(g.tensors.some((t) => t.name === 'blk.4.attn_k_b.weight'));
});
