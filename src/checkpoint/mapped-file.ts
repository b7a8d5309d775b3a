// Maps a file into memory. Uses the native addon's mmap when it is built (no copy, pages shared with
// the OS cache); falls back to reading the whole file into one Buffer.

import { readFileSync } from 'node:fs';
import { nativeAddon } from '../kernels/native-addon.js';

export function mapFile(path: string): Uint8Array {
  const addon = nativeAddon();
  if (addon) return new Uint8Array(addon.mmapFile(path));
  const buf = readFileSync(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
