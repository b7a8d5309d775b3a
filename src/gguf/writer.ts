// GGUF v3 file writer: header, typed key/value metadata (scalars and arrays), tensor infos, aligned data.
// Layout (all little-endian): "GGUF", u32 version 3, u64 tensor count, u64 KV count; each KV is a string key,
// a u32 value type and the value; each tensor info is a string name, u32 n_dims, u64 dims (ne0 first, i.e.
// the fastest-varying dimension first — the reverse of a row-major shape), u32 ggml type, u64 offset from the
// start of the data section. The data section starts at the next multiple of `general.alignment` (default 32)
// and every tensor's offset is a multiple of it. Strings are a u64 byte length plus UTF-8 bytes, no NUL.

import { closeSync, openSync, writeSync } from 'node:fs';

/** GGUF metadata value types (gguf spec numbering). */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, 'array'>;

export type GgufValue =
  | { readonly type: GgufScalarType; readonly value: number | bigint | boolean | string }
  | { readonly type: 'array'; readonly itemType: GgufScalarType; readonly values: readonly (number | bigint | boolean | string)[] };

/** Tensor element types this writer emits (ggml_type numbering). */
export const GGML_TYPE = { F32: 0, F16: 1, BF16: 30 } as const;
export type GgmlType = keyof typeof GGML_TYPE;
export const GGML_TYPE_BYTES: Record<GgmlType, number> = { F32: 4, F16: 2, BF16: 2 };

export interface GgufTensor {
  readonly name: string;
  readonly type: GgmlType;
  /** Dimensions in GGUF order: ne[0] is the contiguous (fastest) one. A row-major [rows, cols] is [cols, rows]. */
  readonly ne: readonly number[];
  /** Raw little-endian elements, or a function making them when the file is written (keeps memory flat). */
  readonly bytes: Uint8Array | (() => Uint8Array);
}

export const GGUF_DEFAULT_ALIGNMENT = 32;

export const gguf = {
  u32: (v: number): GgufValue => ({ type: 'u32', value: v }),
  i32: (v: number): GgufValue => ({ type: 'i32', value: v }),
  f32: (v: number): GgufValue => ({ type: 'f32', value: v }),
  bool: (v: boolean): GgufValue => ({ type: 'bool', value: v }),
  str: (v: string): GgufValue => ({ type: 'string', value: v }),
  arr: (itemType: GgufScalarType, values: readonly (number | bigint | boolean | string)[]): GgufValue => ({ type: 'array', itemType, values }),
};

/** Append-only little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.reserve(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeScalar(out: ByteSink, type: GgufScalarType, v: number | bigint | boolean | string, key: string): void {
  const bad = () => new Error(`gguf: key ${key}: value ${String(v)} does not fit type ${type}`);
  if (type === 'string') {
    if (typeof v !== 'string') throw bad();
    out.str(v);
    return;
  }
  if (type === 'bool') {
    if (typeof v !== 'boolean') throw bad();
    out.u8(v ? 1 : 0);
    return;
  }
  if (type === 'u64' || type === 'i64') {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw bad();
    if (type === 'u64') out.u64(v);
    else out.i64(v);
    return;
  }
  if (typeof v !== 'number') throw bad();
  if (type !== 'f32' && type !== 'f64' && !Number.isInteger(v)) throw bad();
  switch (type) {
    case 'u8':
      out.u8(v);
      break;
    case 'i8':
      out.i8(v);
      break;
    case 'u16':
      out.u16(v);
      break;
    case 'i16':
      out.i16(v);
      break;
    case 'u32':
      out.u32(v);
      break;
    case 'i32':
      out.i32(v);
      break;
    case 'f32':
      out.f32(v);
      break;
    case 'f64':
      out.f64(v);
      break;
  }
}

function tensorByteSize(t: GgufTensor): number {
  return t.ne.reduce((a, b) => a * b, 1) * GGML_TYPE_BYTES[t.type];
}

export interface GgufLayout {
  /** Byte offset of the data section in the file. */
  readonly dataStart: number;
  /** Per tensor, its offset inside the data section. */
  readonly offsets: readonly number[];
  readonly fileSize: number;
}

/**
 * Writes a GGUF v3 file. `metadata` is written in insertion order; `general.alignment` is honoured when present
 * (a u32), otherwise 32 is used and not written (the default). Returns where everything landed.
 */
export function writeGguf(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): GgufLayout {
  const alignKv = metadata.get('general.alignment');
  const alignment = alignKv && alignKv.type === 'u32' ? Number(alignKv.value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) throw new Error(`gguf: alignment ${alignment} must be a positive multiple of 8`);
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`gguf: duplicate tensor name ${t.name}`);
    names.add(t.name);
    if (Buffer.byteLength(t.name, 'utf8') > 63) throw new Error(`gguf: tensor name ${t.name} is longer than 63 bytes (ggml limit)`);
    if (t.ne.length < 1 || t.ne.length > 4 || t.ne.some((d) => !Number.isInteger(d) || d < 1))
      throw new Error(`gguf: tensor ${t.name} has bad dims [${t.ne.join(', ')}]`);
  }

  const h = new ByteSink();
  h.u8(0x47);
  h.u8(0x47);
  h.u8(0x55);
  h.u8(0x46); // "GGUF"
  h.u32(3);
  h.u64(tensors.length);
  h.u64(metadata.size);
  for (const [key, v] of metadata) {
    h.str(key);
    h.u32(GGUF_VALUE_TYPE[v.type]);
    if (v.type === 'array') {
      h.u32(GGUF_VALUE_TYPE[v.itemType]);
      h.u64(v.values.length);
      for (const x of v.values) writeScalar(h, v.itemType, x, key);
    } else {
      writeScalar(h, v.type, v.value, key);
    }
  }
  const offsets: number[] = [];
  let off = 0;
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.ne.length);
    for (const d of t.ne) h.u64(d);
    h.u32(GGML_TYPE[t.type]);
    h.u64(off);
    offsets.push(off);
    off += tensorByteSize(t);
    off += (alignment - (off % alignment)) % alignment;
  }
  h.pad(alignment);
  const dataStart = h.length;

  const fd = openSync(path, 'w');
  try {
    writeAll(fd, h.bytes());
    const zeros = new Uint8Array(alignment);
    let pos = 0;
    tensors.forEach((t, i) => {
      if (pos < offsets[i]!) {
        writeAll(fd, zeros.subarray(0, offsets[i]! - pos));
        pos = offsets[i]!;
      }
      const b = typeof t.bytes === 'function' ? t.bytes() : t.bytes;
      const want = tensorByteSize(t);
      if (b.byteLength !== want) throw new Error(`gguf: tensor ${t.name} has ${b.byteLength} bytes, ${t.type}[${t.ne.join(', ')}] needs ${want}`);
      writeAll(fd, b);
      pos += b.byteLength;
    });
    if (pos < off) writeAll(fd, zeros.subarray(0, off - pos));
  } finally {
    closeSync(fd);
  }
  return { dataStart, offsets, fileSize: dataStart + off };
}

function writeAll(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done);
}
