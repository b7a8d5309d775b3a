// safetensors reader (views into a mapped file, no copies) and writer.
// Format: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?},
// then the raw little-endian data; offsets are relative to the end of the header.

import { closeSync, openSync, writeSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { DTYPE_BYTES, isDType, type DType } from '../tensor/dtype.js';
import { CheckpointError } from './errors.js';
import { mapFile } from './mapped-file.js';

export interface TensorView {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Raw little-endian bytes, a view into the mapped file. */
  readonly bytes: Uint8Array;
  /** File the tensor came from, for error messages. */
  readonly file: string;
}

export class SafetensorsFile {
  readonly tensors = new Map<string, TensorView>();
  readonly metadata: Record<string, string> = {};

  private constructor(readonly path: string) {}

  static open(path: string): SafetensorsFile {
    const f = new SafetensorsFile(path);
    const name = basename(path);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new CheckpointError(name, 'cannot open file');
    }
    if (size < 8) throw new CheckpointError(name, `truncated file (${size} bytes, no header)`);
    const data = mapFile(path);
    const headerLen = Number(new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true));
    if (8 + headerLen > size) {
      throw new CheckpointError(name, `truncated file: header says ${headerLen} header bytes, file has ${size}`);
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(data.buffer, data.byteOffset + 8, headerLen).toString('utf8'));
      if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('not an object');
    } catch (e) {
      throw new CheckpointError(name, `bad header JSON (${(e as Error).message})`);
    }
    const base = 8 + headerLen;
    const dataSize = size - base;
    for (const [tname, raw] of Object.entries(header)) {
      if (tname === '__metadata__') {
        Object.assign(f.metadata, raw as Record<string, string>);
        continue;
      }
      const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof info.dtype !== 'string') throw new CheckpointError(name, 'header entry has no dtype', tname);
      if (!isDType(info.dtype)) throw new CheckpointError(name, `unsupported dtype ${info.dtype}`, tname);
      const shape = info.shape;
      const offs = info.data_offsets;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new CheckpointError(name, 'bad shape in header', tname);
      }
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new CheckpointError(name, 'bad data_offsets in header', tname);
      }
      const [begin, end] = offs as [number, number];
      const n = (shape as number[]).reduce((a, b) => a * b, 1);
      if (end - begin !== n * DTYPE_BYTES[info.dtype]) {
        throw new CheckpointError(
          name,
          `data_offsets span ${end - begin} bytes but ${info.dtype}${JSON.stringify(shape)} needs ${n * DTYPE_BYTES[info.dtype]}`,
          tname,
        );
      }
      if (end > dataSize) {
        throw new CheckpointError(name, `truncated file: data ends at byte ${base + end}, file has ${size}`, tname);
      }
      f.tensors.set(tname, {
        name: tname,
        dtype: info.dtype,
        shape: shape as number[],
        bytes: new Uint8Array(data.buffer, data.byteOffset + base + begin, end - begin),
        file: name,
      });
    }
    return f;
  }
}

export interface TensorToWrite {
  name: string;
  dtype: DType;
  shape: readonly number[];
  /** The data, or a function producing it when the file is written (keeps large checkpoints streaming). */
  bytes: Uint8Array | (() => Uint8Array);
}

/** Writes one safetensors file; the header is padded with spaces so the data starts 8-byte aligned. */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    const n = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, hb);
    for (const t of tensors) {
      const b = typeof t.bytes === 'function' ? t.bytes() : t.bytes;
      if (b.byteLength !== tensorBytes(t)) throw new Error(`writeSafetensors: ${t.name} has ${b.byteLength} bytes, shape needs ${tensorBytes(t)}`);
      writeSync(fd, b);
    }
  } finally {
    closeSync(fd);
  }
}

export function tensorBytes(t: { dtype: DType; shape: readonly number[] }): number {
  return t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
}
