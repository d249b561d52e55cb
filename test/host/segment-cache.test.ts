// SPDX-License-Identifier: GPL-2.0-or-later
// The compressed-segment cache (src/host/segment-cache.ts): a segment is compressed once, then read
// back; a changed byte is a new key; a bad entry is compressed again; no cache or an unwritable one
// gives the same bytes; the directory stays under its size budget, least recently used out first.
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress, decompress } from '../../src/archive/compress.ts';
import { cachedCompressor, cachedSegmentFinder, isWholeStream, pruneSegments, segmentCacheDir } from '../../src/host/segment-cache.ts';
import { tempDir } from '../temp-dirs.ts';

const tmp = () => tempDir('segcache');
const segment = (seed: number) => new Uint8Array(200_000).map((_, i) => ((i * seed) >> 5) & 0xff);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('cachedCompressor', () => {
  for (const alg of ['zstd', 'gzip'] as const) {
    test(`${alg}: written once, read back the same; a changed byte is another entry`, async () => {
      const dir = join(tmp(), 'segments');
      const data = segment(3);
      const plain = await compress(data, alg);
      expect(same(await cachedCompressor(alg, dir)(data), plain)).toBe(true);
      const [entry, ...others] = readdirSync(dir);
      expect(others).toEqual([]);
      // the entry now holds another segment's stream of the same length: served, so the cache was read
      const other = await compress(segment(5), alg);
      writeFileSync(join(dir, entry!), other);
      expect(same(await cachedCompressor(alg, dir)(data), other)).toBe(true);
      // one byte different: not that entry
      const changed = data.slice();
      changed[100_000]! ^= 1;
      expect(same(await decompress(await cachedCompressor(alg, dir)(changed)), changed)).toBe(true);
      expect(readdirSync(dir)).toHaveLength(2);
      rmSync(join(dir, '..'), { recursive: true, force: true });
    });
  }

  test('a cut or foreign entry is compressed again and replaced', async () => {
    const dir = join(tmp(), 'segments');
    const data = segment(7);
    const plain = await compress(data, 'zstd');
    await cachedCompressor('zstd', dir)(data);
    const entry = join(dir, readdirSync(dir)[0]!);
    for (const bad of [plain.subarray(0, plain.length - 3), new TextEncoder().encode('not zstd')]) {
      writeFileSync(entry, bad);
      expect(same(await cachedCompressor('zstd', dir)(data), plain)).toBe(true);
      expect(same(readFileSync(entry), plain)).toBe(true);
    }
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  test('without a cache, under a file, or for xz: the same bytes', async () => {
    const file = join(tmp(), 'f');
    writeFileSync(file, '');
    const data = segment(11);
    const plain = await compress(data, 'zstd');
    expect(same(await cachedCompressor('zstd', null)(data), plain)).toBe(true);
    expect(same(await cachedCompressor('zstd', join(file, 'c'))(data), plain)).toBe(true);
    const dir = join(tmp(), 'segments');
    await cachedCompressor('xz', dir)(data);
    expect(() => readdirSync(dir)).toThrow();
  });

  test('the finder: the entry the compressor wrote, found from the segment\'s chunks; a changed chunk, a cut entry, no cache or xz: none', async () => {
    const dir = join(tmp(), 'segments');
    const data = segment(17);
    const chunks = [data.subarray(0, 3), data.subarray(3, 150_000), data.subarray(150_000)];
    const find = cachedSegmentFinder('zstd', dir);
    expect(find(chunks)).toBeUndefined();
    const plain = await cachedCompressor('zstd', dir)(data);
    expect(same(find(chunks)!, plain)).toBe(true);
    const changed = [chunks[0]!, chunks[1]!.slice(), chunks[2]!];
    changed[1]![5]! ^= 1;
    expect(find(changed)).toBeUndefined();
    // a segment whose chunks join to the same bytes but one byte shorter is another key
    expect(find([chunks[0]!, chunks[1]!, chunks[2]!.subarray(1)])).toBeUndefined();
    writeFileSync(join(dir, readdirSync(dir)[0]!), plain.subarray(0, plain.length - 3));
    expect(find(chunks)).toBeUndefined();
    expect(cachedSegmentFinder('zstd', null)(chunks)).toBeUndefined();
    expect(cachedSegmentFinder('xz', dir)(chunks)).toBeUndefined();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  test('a gzip stream is whole only with its input length in the trailer', async () => {
    const gz = await compress(segment(13), 'gzip');
    expect(isWholeStream(gz, 'gzip', 200_000)).toBe(true);
    expect(isWholeStream(gz, 'gzip', 200_001)).toBe(false);
    expect(isWholeStream(gz, 'zstd', 200_000)).toBe(false);
  });

  test('the directory: beside kmod-xz in $XDG_CACHE_HOME/mkruckus', () => {
    expect(segmentCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/mkruckus/segments');
    expect(segmentCacheDir({})).toBeUndefined();
  });
});

describe('pruneSegments', () => {
  test('over budget: the least recently used go first; unused for 30 days: gone', () => {
    const dir = tmp();
    const now = Date.now();
    const put = (name: string, size: number, daysAgo: number) => {
      writeFileSync(join(dir, name), new Uint8Array(size));
      const t = (now - daysAgo * 86_400_000) / 1000;
      utimesSync(join(dir, name), t, t);
    };
    put('new', 400, 0);
    put('older', 400, 2);
    put('oldest', 400, 5);
    put('stale', 10, 31);
    pruneSegments(dir, now, 1000);
    expect(readdirSync(dir).sort()).toEqual(['new', 'older']);
    rmSync(dir, { recursive: true, force: true });
  });
});
