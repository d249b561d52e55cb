// SPDX-License-Identifier: GPL-2.0-or-later
// The image as a run of complete cpio archives (newcSegments in src/archive/cpio.ts) and their
// compression (compressSegments in src/archive/compress.ts): what the kernel's unpacker needs of each
// part (a compressed stream ends at an archive's end; an uncompressed archive starts 4-byte aligned),
// and that the cut changes nothing else.
import { describe, expect, test } from 'bun:test';
import { compress, compressSegments } from '../../src/archive/compress.ts';
import { newcSegments, writeNewc, type CpioEntry, type NewcSegment } from '../../src/archive/cpio.ts';
import { readImage } from '../../src/archive/read.ts';
import { missing, testNeeding } from './need.ts';

const enc = new TextEncoder();
const noise = (n: number, seed: number) => new Uint8Array(n).map((_, i) => ((i + seed) * 2654435761) >>> 24);
const ENTRIES: CpioEntry[] = [
  { path: '/etc', type: 'dir', mode: 0o755 },
  { path: '/etc/a', type: 'file', mode: 0o644, data: enc.encode('a\n'.repeat(300)) },
  { path: '/etc/b', type: 'file', mode: 0o644, data: noise(3001, 1) },
  { path: '/usr', type: 'dir', mode: 0o755 },
  { path: '/usr/lib', type: 'dir', mode: 0o755 },
  { path: '/usr/lib/stage2.img', type: 'file', mode: 0o644, data: noise(5003, 2) },
  { path: '/usr/lib/z', type: 'file', mode: 0o600, data: noise(2500, 3) },
  { path: '/usr/lib/zz', type: 'symlink', mode: 0o777, target: 'z' },
];
const MTIME = 1700000000;
const TRAILER = writeNewc([], { mtime: MTIME });
const bytesOf = (s: NewcSegment): Uint8Array => new Uint8Array(Buffer.concat(s.chunks));
const isStage2 = (e: CpioEntry) => e.path === '/usr/lib/stage2.img';
const cut = (stored?: (e: CpioEntry) => boolean) => [...newcSegments(ENTRIES, { mtime: MTIME, segmentSize: 2000, stored })];

const isArchiveStart = (b: Uint8Array) => Buffer.from(b.subarray(0, 6)).toString() === '070701';
const endsArchive = (b: Uint8Array) => Buffer.from(b.subarray(b.length - TRAILER.length)).equals(TRAILER);

describe('newcSegments', () => {
  test("cut between entries: joined, the segments are writeNewc's archive byte for byte, one trailer at the end", () => {
    const segments = cut();
    expect(segments.length).toBeGreaterThan(2);
    for (const s of segments) {
      const b = bytesOf(s);
      expect(b.length).toBe(s.length);
      expect(s.length % 4).toBe(0);
      expect(isArchiveStart(b)).toBe(true);
    }
    expect(segments.map((s) => endsArchive(bytesOf(s)))).toEqual(segments.map((_, i) => i === segments.length - 1));
    expect(new Uint8Array(Buffer.concat(segments.map(bytesOf))) as Uint8Array).toEqual(writeNewc(ENTRIES, { mtime: MTIME }));
  });

  testNeeding(missing('cpio'), 'GNU cpio lists every entry of the joined segments (what lsinitramfs runs after zstd -dc)', () => {
    const joined = Buffer.concat(cut().map(bytesOf));
    const r = Bun.spawnSync(['cpio', '-it', '--quiet'], { stdin: joined });
    expect(r.stdout.toString().trim().split('\n')).toEqual(ENTRIES.map((e) => e.path.slice(1)).sort());
  });

  test('a segment ends once it holds segmentSize bytes; everything fits in one when it is large', () => {
    const segments = cut();
    for (const s of segments.slice(0, -1)) expect(s.length).toBeGreaterThanOrEqual(2000);
    expect([...newcSegments(ENTRIES, { mtime: MTIME, segmentSize: 1 << 20 })].map(bytesOf)).toEqual([writeNewc(ENTRIES, { mtime: MTIME })]);
    expect([...newcSegments([], { mtime: MTIME, segmentSize: 1 })].map(bytesOf)).toEqual([TRAILER]);
  });

  test('a stored entry is an archive of its own, where the sorted order puts it; the one before it ends there', async () => {
    const segments = cut(isStage2);
    const i = segments.findIndex((s) => s.stored);
    expect(segments.filter((s) => s.stored)).toHaveLength(1);
    expect(i).toBeGreaterThan(0);
    expect(i).toBeLessThan(segments.length - 1);
    expect(endsArchive(bytesOf(segments[i - 1]!))).toBe(true);
    const [alone] = await readImage(bytesOf(segments[i]!), { data: true });
    expect(alone!.entries.map((e) => [e.path, e.data])).toEqual([['/usr/lib/stage2.img', ENTRIES[5]!.data]]);
    expect(endsArchive(bytesOf(segments.at(-1)!))).toBe(true);
    // a stored entry last ends the image: no empty archive after it
    const last = [...newcSegments(ENTRIES, { mtime: MTIME, segmentSize: 2000, stored: (e) => e.path === '/usr/lib/zz' })];
    expect(last.at(-1)!.stored).toBe(true);
  });

  test('storedTail entries: one uncompressed archive after all the others, their directories made before it', async () => {
    const tail = (e: CpioEntry) => e.path === '/etc/b' || e.path === '/usr/lib/z';
    const segments = [...newcSegments(ENTRIES, { mtime: MTIME, segmentSize: 2000, stored: isStage2, storedTail: tail })];
    const last = segments.at(-1)!;
    expect(last.stored).toBe(true);
    for (const s of segments) expect(endsArchive(bytesOf(s)) || !s.stored).toBe(true);
    expect(endsArchive(bytesOf(segments.at(-2)!))).toBe(true);
    const [alone] = await readImage(bytesOf(last), { data: true });
    expect(alone!.entries.map((e) => [e.path, e.data])).toEqual([['/etc/b', ENTRIES[2]!.data], ['/usr/lib/z', ENTRIES[6]!.data]]);
    const before = (await readImage(new Uint8Array(Buffer.concat(segments.slice(0, -1).map(bytesOf))))).flatMap((r) => r.entries.map((e) => e.path));
    expect(before).toEqual(ENTRIES.map((e) => e.path).filter((p) => p !== '/etc/b' && p !== '/usr/lib/z').sort());
    // the whole image still holds every entry once, and the embedded stage kept its own archive
    expect(segments.filter((s) => s.stored)).toHaveLength(2);
  });
});

describe('compressSegments', () => {
  test('find answers for a segment from its chunks, before any copy; the others are packed', async () => {
    const segments = cut(isStage2);
    const packedOnes = segments.filter((s) => !s.stored);
    expect(packedOnes.length).toBeGreaterThan(1);
    const seen: Uint8Array[] = [];
    const marker = new Uint8Array([1, 2, 3]);
    const find = (chunks: readonly Uint8Array[]) => {
      const joined = new Uint8Array(Buffer.concat(chunks));
      seen.push(joined);
      return seen.length === 1 ? marker : undefined;
    };
    const parts = await compressSegments(segments, 'zstd', 0, undefined, find);
    expect(seen).toEqual(packedOnes.map(bytesOf));
    expect(parts[0]).toBe(marker);
    // a finder that knows the first segment's real stream: the image is the one made without it
    const plain = await compressSegments(segments, 'zstd');
    const known = await compress(bytesOf(packedOnes[0]!), 'zstd');
    const again = await compressSegments(segments, 'zstd', 0, undefined, (chunks) => (Buffer.compare(Buffer.concat(chunks), bytesOf(packedOnes[0]!)) === 0 ? known : undefined));
    expect(again[0]).toBe(known);
    expect(again.map((p) => Buffer.from(p))).toEqual(plain.map((p) => Buffer.from(p)));
  });

  test.each(['zstd', 'gzip'] as const)('%s: each compressed stream ends where an entry ends; the stored archive is 4-aligned after the microcode', async (alg) => {
    const segments = cut(isStage2);
    const ucode = 6; // an odd-sized --ucode file before the image
    const parts = await compressSegments(segments, alg, ucode);
    const image = new Uint8Array(Buffer.concat([new Uint8Array(ucode), ...parts]));
    const read = await readImage(image, { data: true });
    expect(read.flatMap((s) => s.entries.map((e) => e.path))).toEqual(ENTRIES.map((e) => e.path).sort());
    const stored = read.filter((s) => s.compression === 'none');
    expect(stored.map((s) => s.entries.map((e) => e.path))).toEqual([['/usr/lib/stage2.img']]);
    expect(stored[0]!.offset % 4).toBe(0);
    const decode = (p: Uint8Array) => (alg === 'zstd' ? Bun.zstdDecompressSync(p) : Bun.gunzipSync(p as Uint8Array<ArrayBuffer>));
    const packed = parts.filter((p) => p[0] === 0x28 || p[0] === 0x1f);
    expect(packed.map((p): Uint8Array => new Uint8Array(decode(p)))).toEqual(segments.filter((s) => !s.stored).map(bytesOf));
  });

  test('the same segments give the same bytes, however many run at once', async () => {
    const a = await compressSegments(cut(isStage2), 'zstd');
    const b = await compressSegments(cut(isStage2), 'zstd');
    expect(Buffer.concat(a).equals(Buffer.concat(b))).toBe(true);
  });

  test('none: the archives as they are, padded only where one would start unaligned', async () => {
    const segments = cut();
    expect(Buffer.concat(await compressSegments(segments, 'none'))).toEqual(Buffer.concat(segments.map(bytesOf)));
    const shifted = await compressSegments(segments, 'none', 2);
    expect(shifted[0]).toEqual(new Uint8Array(2));
  });
});
