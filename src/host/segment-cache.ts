// SPDX-License-Identifier: GPL-2.0-or-later
// The image's compressed segments kept between builds, beside the module caches (src/host/kmod-cache.ts):
// a rebuild whose files did not change (a kernel-install hook run again, a config change that does not
// touch the image, a second image for the same kernel) finds its segments there and pays one sha256 per
// segment instead of compressing it (zstd -3 of a generic image's ~20 MB is ~0.2 s of CPU; gzip -9 more).
// Keyed by the sha256 of the segment's bytes, the compressor, its settings and the Bun build whose zstd
// and zlib make the output, so the image is the same byte for byte with or without the cache. Entries are
// written atomically and used only if they are one whole stream of the right length; any cache failure
// only costs the compression. Unlike the module caches, whose size is bounded by the kernels installed,
// every new image adds entries: the directory is kept under MAX_BYTES, least recently used first out.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compress, detectCompression, GZIP_LEVEL, u32le, zstdFramesEnd, ZSTD_LEVEL, type Compression } from '../archive/compress.ts';
import { debug } from '../log.ts';
import { cacheDir } from './cache-dir.ts';
import { readEntry, writeEntry } from './kmod-cache.ts';

const MAX_BYTES = 256 << 20;
const MAX_DAYS = 30;

/** What names the output besides the input; xz and lz4 (external tools) are not cached. */
const SETTINGS: Partial<Record<Compression, string>> = {
  zstd: `zstd-${ZSTD_LEVEL}-bun-${Bun.revision}`,
  gzip: `gzip-${GZIP_LEVEL}-bun-${Bun.revision}`,
};

/** $XDG_CACHE_HOME/mkruckus/segments (beside kmod-xz); undefined when there is no cache home. */
export function segmentCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return cacheDir('segments', env);
}

/** compressSegments' `pack` for `alg`: through the cache in `dir`, or plain compress() without one. */
export function cachedCompressor(alg: Compression, dir: string | null = segmentCacheDir() ?? null): (data: Uint8Array) => Promise<Uint8Array> {
  const settings = SETTINGS[alg];
  if (!dir || !settings) return (data) => compress(data, alg);
  let pruned = false;
  return async (data) => {
    // hashed before any await: the caller reuses the buffer once this promise settles
    const key = `${new Bun.CryptoHasher('sha256').update(data).digest('hex')}-${settings}`;
    const hit = readEntry(dir, key, (c) => isWholeStream(c, alg, data.length));
    if (hit) return hit;
    const out = await compress(data, alg);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeEntry(dir, key, out);
      if (!pruned) pruneSegments(dir);
      pruned = true;
    } catch (e) {
      debug(`segment cache ${dir} not written: ${(e as Error).message}`);
    }
    return out;
  };
}

/**
 * compressSegments' `find` for `alg`: the cached stream of a segment given as its chunks (hashed as
 * they are, the same key as the joined bytes), or undefined (no cache, not cached, or not valid).
 */
export function cachedSegmentFinder(alg: Compression, dir: string | null = segmentCacheDir() ?? null): (chunks: readonly Uint8Array[]) => Uint8Array | undefined {
  const settings = SETTINGS[alg];
  return (chunks) => {
    if (!dir || !settings) return undefined;
    const h = new Bun.CryptoHasher('sha256');
    let length = 0;
    for (const c of chunks) {
      h.update(c);
      length += c.length;
    }
    return readEntry(dir, `${h.digest('hex')}-${settings}`, (c) => isWholeStream(c, alg, length));
  };
}

/** One whole stream of the expected length: a stray, foreign or cut file is a miss. */
export function isWholeStream(c: Uint8Array, alg: Compression, length: number): boolean {
  try {
    if (alg === 'zstd') return detectCompression(c) === 'zstd' && zstdFramesEnd(c) === c.length;
    // gzip's trailer ends with the input's length (mod 2^32)
    return alg === 'gzip' && detectCompression(c) === 'gzip' && c.length >= 18 && u32le(c, c.length - 4) === length >>> 0;
  } catch {
    return false;
  }
}

/** Entries unused for MAX_DAYS go, then the least recently used (atime, kept by relatime, or mtime) until under MAX_BYTES. */
export function pruneSegments(dir: string, now = Date.now(), maxBytes = MAX_BYTES): void {
  const entries = readdirSync(dir).flatMap((name) => {
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    return st?.isFile() ? [{ name, size: st.size, used: Math.max(st.atimeMs, st.mtimeMs) }] : [];
  });
  entries.sort((a, b) => b.used - a.used || (a.name < b.name ? -1 : 1));
  let total = 0;
  for (const e of entries) {
    total += e.size;
    // (a build running meanwhile whose temp file goes here only loses that entry)
    if (total > maxBytes || e.used < now - MAX_DAYS * 86_400_000) rmSync(join(dir, e.name), { force: true });
  }
}
