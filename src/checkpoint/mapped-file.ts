// Maps a file into memory. Uses the native addon's mmap when it is built (no copy, pages shared with
// the OS cache); falls back to reading the whole file into one Buffer. releaseMapped drops a view's pages
// from the process once it has been read (load-time quantisation).

import { readFileSync } from 'node:fs';
import { nativeAddon } from '../kernels/native-addon.js';

export function mapFile(path: string): Uint8Array {
  const addon = nativeAddon();
  if (addon) return new Uint8Array(addon.mmapFile(path));
  const buf = readFileSync(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Drops the whole pages inside `bytes` from this process's memory when it is a view of a mapFile mapping (a
 * later read faults them in again from the file); anything else is left alone. Returns the bytes released.
 */
export function releaseMapped(bytes: Uint8Array): number {
  const release = nativeAddon()?.releasePages;
  return typeof release === 'function' ? (release as (b: Uint8Array) => number)(bytes) : 0;
}
