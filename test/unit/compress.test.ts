// SPDX-License-Identifier: GPL-2.0-or-later
// Where a compressed stream ends and what a damaged one gives (src/archive/compress.ts), and the
// reader's handling of unusual cpio archives (src/archive/read.ts): streams made by the system tools,
// so the frame walkers are checked on layouts our own compressor never writes.
import { describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompressStream, detectCompression, ImageFormatError, type DetectedCompression } from '../../src/archive/compress.ts';
import { writeNewc, type CpioEntry } from '../../src/archive/cpio.ts';
import { readImage, readImageFile, type ImageEntryType } from '../../src/archive/read.ts';
import { UserError } from '../../src/log.ts';
import { tempDir } from '../temp-dirs.ts';

const enc = new TextEncoder();
const concat = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.concat(parts));
function run(cmd: string[], input: Uint8Array): Uint8Array {
  const r = Bun.spawnSync({ cmd, stdin: input });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}
/** Text that compresses well, and noise that does not (so blocks of both raw and compressed kinds occur). */
const TEXT = enc.encode('mkruckus initramfs '.repeat(1000));
const NOISE = new Uint8Array(20_000).map((_, i) => (i * 2654435761) >>> 24);
const DATA = concat(TEXT, NOISE, new Uint8Array(20_000));
/** Past zstd's 128 KiB block limit, so a frame holds several blocks. */
const LARGE = concat(NOISE, new Uint8Array(150_000), TEXT);

describe('detectCompression', () => {
  test.each([
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'], [[0x1f, 0x8b], 'gzip'], [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
    [[0x02, 0x21, 0x4c, 0x18], 'lz4'], [[0x5d, 0x00], 'lzma'], [[0x28, 0xb5, 0x2f], null], [[0x1f, 0x8c], null],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01], null], [[0x02, 0x21, 0x4c, 0x19], null], [[0x5d, 0x01], null], [[0x30, 0x37], null], [[], null],
  ] as [number[], DetectedCompression | null][])('%p at offset 3 is %p', (magic, want) => {
    expect(detectCompression(new Uint8Array([9, 9, 9, ...magic]), 3)).toBe(want);
    expect(detectCompression(new Uint8Array(magic))).toBe(want);
  });
});

describe('decompressStream: where a stream ends', () => {
  const tail = new Uint8Array([0, 0, 0, 0, 0x30, 0x37, 0x30, 0x37]);
  const cases: [string, () => Uint8Array][] = [
    ['zstd from Bun (content size, no checksum)', () => Bun.zstdCompressSync(DATA)],
    ['zstd, several blocks', () => Bun.zstdCompressSync(LARGE)],
    ['zstd from the tool, piped (no content size, checksum)', () => run(['zstd', '-q', '-c', '-3'], DATA)],
    ['zstd without checksum, fast', () => run(['zstd', '-q', '-c', '--no-check', '--fast=5'], DATA)],
    ['zstd of zeros (RLE blocks)', () => Bun.zstdCompressSync(new Uint8Array(400_000))],
    ['two zstd frames', () => concat(Bun.zstdCompressSync(TEXT), run(['zstd', '-q', '-c'], concat(NOISE, new Uint8Array(20_000))))],
    ['gzip', () => Bun.gzipSync(DATA)],
    ['two gzip members', () => concat(Bun.gzipSync(TEXT), Bun.gzipSync(concat(NOISE, new Uint8Array(20_000))))],
    ['xz crc32', () => run(['xz', '-c', '--check=crc32'], DATA)],
    ['xz crc64, several blocks', () => run(['xz', '-c', '--check=crc64', '--block-size=8000'], DATA)],
    ['xz sha256', () => run(['xz', '-c', '--check=sha256'], DATA)],
    ['lz4 legacy', () => run(['lz4', '-l', '-c'], DATA)],
  ];
  // An image's stored tail may follow a compressed segment with no padding (its length a multiple of 4).
  test.each(cases.filter(([n]) => n.includes('gzip')))('%s right before a stored cpio: consumed up to the stream end', async (_name, make) => {
    const packed = make();
    const got = await decompressStream(concat(packed, new Uint8Array([0x30, 0x37, 0x30, 0x37, 0x30, 0x31])), 0);
    expect(got.consumed).toBe(packed.length);
    expect(Buffer.from(got.data).equals(Buffer.from(DATA))).toBe(true);
  });
  test('gzip with a name and an extra field in its header; a wrong CRC32 is an error', async () => {
    const plain = Bun.gzipSync(DATA);
    // FEXTRA (2-byte length, 3 bytes) and FNAME ("x.cpio\0") put in after the fixed 10 bytes
    const named = concat(plain.subarray(0, 3), new Uint8Array([plain[3]! | 4 | 8]), plain.subarray(4, 10),
      new Uint8Array([3, 0, 1, 2, 3]), new TextEncoder().encode('x.cpio\0'), plain.subarray(10));
    const got = await decompressStream(named, 0);
    expect(got.consumed).toBe(named.length);
    expect(Buffer.from(got.data).equals(Buffer.from(DATA))).toBe(true);
    const bad = plain.slice();
    bad[bad.length - 8]! ^= 1;
    await expect(decompressStream(bad, 0)).rejects.toThrow(ImageFormatError);
  });
  test.each(cases)('%s: whole data back, consumed up to the stream end', async (_name, make) => {
    const packed = make();
    const got = await decompressStream(concat(new Uint8Array(8), packed, tail), 8);
    expect(got.consumed).toBe(packed.length);
    expect(got.exactEnd).toBe(true);
    const want = _name.startsWith('zstd of zeros') ? new Uint8Array(400_000) : _name.includes('several blocks') && _name.startsWith('zstd') ? LARGE : DATA;
    expect(Buffer.from(got.data).equals(Buffer.from(want))).toBe(true);
  });

  test('skippable zstd frames after a frame belong to the stream', async () => {
    const frame = Bun.zstdCompressSync(TEXT);
    const skippable = (magic: number): Uint8Array => concat(new Uint8Array([magic, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), enc.encode('hello'));
    const got = await decompressStream(concat(frame, skippable(0x5a), skippable(0x50), skippable(0x5f), new Uint8Array(8)), 0);
    expect(got.consumed).toBe(frame.length + 3 * 13);
    const notSkippable = concat(new Uint8Array([0x60, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), enc.encode('hello'));
    expect((await decompressStream(concat(frame, notSkippable), 0)).consumed).toBe(frame.length);
    expect(got.data).toEqual(TEXT);
  });

  test('two lz4 legacy streams, one after the other, are read as one', async () => {
    const a = run(['lz4', '-l', '-c'], TEXT);
    const b = run(['lz4', '-l', '-c'], NOISE);
    const got = await decompressStream(concat(a, b), 0);
    expect(got.consumed).toBe(a.length + b.length);
    expect(got.data).toEqual(concat(TEXT, NOISE));
  });

  test('lzma runs to the end of the input', async () => {
    const lzma = run(['xz', '--format=lzma', '-c'], TEXT);
    const got = await decompressStream(concat(lzma, new Uint8Array(8)), 0);
    expect([got.compression, got.consumed, got.exactEnd]).toEqual(['lzma', lzma.length + 8, false]);
    expect(got.data).toEqual(TEXT);
  });

  const bad: [string, () => Uint8Array, string | RegExp][] = [
    ['unknown data', () => enc.encode('\x01\x02\x03\x04\x05\x06\x07'), 'unknown data at offset 0: 01 02 03 04 05 06'],
    ['a truncated zstd frame', () => Bun.zstdCompressSync(DATA).subarray(0, 200), 'truncated zstd frame'],
    ['a zstd frame cut in its header', () => Bun.zstdCompressSync(DATA).subarray(0, 5), 'truncated zstd frame'],
    ['a reserved zstd block type', () => {
      const b = Bun.zstdCompressSync(TEXT);
      // the first block header follows the magic, the descriptor, the window byte, dictionary id and content size
      const desc = b[4]!;
      const fcs = [(desc >> 5) & 1, 2, 4, 8][desc >> 6]!;
      const header = 5 + (((desc >> 5) & 1) ? 0 : 1) + [0, 1, 2, 4][desc & 3]! + fcs;
      b[header] = b[header]! | 0b110; // block type 3
      return b;
    }, 'corrupt zstd frame (reserved block type)'],
    ['a truncated skippable frame', () => concat(Bun.zstdCompressSync(TEXT), new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 100, 0, 0, 0, 1])),
      'truncated zstd frame'],
    ['a skippable frame without its size', () => concat(Bun.zstdCompressSync(TEXT), new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 100, 0])),
      'truncated compressed data'],
    ['a truncated xz stream', () => run(['xz', '-c', '--check=crc32'], DATA).subarray(0, 400), 'truncated xz stream (no stream footer)'],
    ['an xz stream with a damaged footer CRC', () => {
      const x = run(['xz', '-c', '--check=crc32'], TEXT);
      x[x.length - 12] = x[x.length - 12]! ^ 0xff;
      return x;
    }, 'truncated xz stream (no stream footer)'],
    ['a truncated lz4 chunk', () => run(['lz4', '-l', '-c'], DATA).subarray(0, 300), 'truncated lz4 chunk'],
    ['corrupt gzip', () => {
      const g = Bun.gzipSync(DATA);
      g.fill(0x55, 20, 60);
      return g;
    }, /^gzip data at offset 0 is corrupt: /],
    ['corrupt xz', () => {
      const x = run(['xz', '-c', '--check=crc32'], DATA);
      x.fill(0x55, 40, 80);
      return x;
    }, /^xz data at offset 0 is corrupt: xz -dc exited with 1/],
  ];
  test.each(bad)('%s: ImageFormatError', async (_name, make, message) => {
    const attempt = decompressStream(make(), 0);
    await expect(attempt).rejects.toBeInstanceOf(ImageFormatError);
    await expect(attempt).rejects.toThrow(message);
  });
});

/** Our writer's bytes with one header field (index 0 = ino) of the entry at `at` replaced. */
function patchField(archive: Uint8Array, at: number, index: number, value: string): Uint8Array {
  const out = new Uint8Array(archive);
  out.set(enc.encode(value), at + 6 + index * 8);
  return out;
}

describe('readImage on unusual archives', () => {
  const one: CpioEntry[] = [{ path: '/x', type: 'file', mode: 0o644, data: enc.encode('abc') }];
  test.each([
    ['fifo', '00001124', 'fifo'], ['socket', '0000C124', 'socket'],
  ] as [string, string, ImageEntryType][])('a %s entry is listed as such', async (_name, mode, type) => {
    const [segment] = await readImage(patchField(writeNewc([{ path: '/p', type: 'dir', mode: 0o444 }], { mtime: 0 }), 0, 1, mode));
    expect(segment!.entries).toEqual([{ path: '/p', type, mode: 0o444, size: 0 }]);
  });
  test('unknown type bits are an ImageFormatError naming the entry', async () => {
    const bad = patchField(writeNewc(one, { mtime: 0 }), 0, 1, '0000F1A4');
    await expect(readImage(bad)).rejects.toThrow(new ImageFormatError('cpio entry x has unknown type bits (mode 170644)'));
  });
  test('a header field that is not hex is an ImageFormatError', async () => {
    const bad = patchField(writeNewc(one, { mtime: 0 }), 0, 6, '0000000G');
    await expect(readImage(bad)).rejects.toThrow(new ImageFormatError('bad cpio header at offset 0'));
  });
  test('an archive cut inside an entry names the entry', async () => {
    const a = writeNewc([{ path: '/big', type: 'file', mode: 0o644, data: new Uint8Array(1000) }], { mtime: 0 });
    await expect(readImage(a.subarray(0, 500))).rejects.toThrow(new ImageFormatError('truncated cpio archive (entry big)'));
    await expect(readImage(a.subarray(0, 1000 + 116 + 50))).rejects.toThrow(/^truncated cpio archive \(offset 1116\)$/);
  });
  test('GNU cpio archives: the crc format, "." and "./" names', async () => {
    const dir = tempDir('read');
    try {
      Bun.spawnSync(['mkdir', '-p', join(dir, 'sub')]);
      await Bun.write(join(dir, 'sub/f'), 'data');
      for (const format of ['crc', 'newc']) {
        const list = Bun.spawnSync(['sh', '-c', `cd ${dir} && printf '.\\n./sub\\n./sub/f\\n' | cpio -o --quiet -H ${format}`]);
        const [segment] = await readImage(new Uint8Array(list.stdout), { data: true });
        expect(segment!.entries.map((e) => [e.path, e.type])).toEqual([['/', 'dir'], ['/sub', 'dir'], ['/sub/f', 'file']]);
        expect(new TextDecoder().decode(segment!.entries[2]!.data)).toBe('data');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('a compressed segment holding something else after its archive', async () => {
    const packed = Bun.zstdCompressSync(concat(writeNewc(one, { mtime: 0 }), enc.encode('junk')));
    await expect(readImage(concat(new Uint8Array(4), packed))).rejects.toThrow(
      new ImageFormatError('zstd segment at offset 4 holds non-cpio data at 240'),
    );
  });
  test('zero padding inside a compressed segment, between archives, is skipped', async () => {
    const a = writeNewc(one, { mtime: 0 });
    const [segment, ...rest] = await readImage(Bun.gzipSync(concat(new Uint8Array(8), a, new Uint8Array(12), a, new Uint8Array(3))));
    expect(rest).toEqual([]);
    expect(segment).toMatchObject({ offset: 0, compression: 'gzip', uncompressedSize: 8 + 12 + 3 + 2 * a.length });
    expect(segment!.entries.map((e) => e.path)).toEqual(['/x', '/x']);
  });
  test('an uncompressed archive after zero padding starts where the zeros end', async () => {
    const a = writeNewc(one, { mtime: 0 });
    const segments = await readImage(concat(new Uint8Array(16), a, new Uint8Array(4), a));
    expect(segments.map((s) => [s.offset, s.compressedSize, s.uncompressedSize, s.compression])).toEqual([
      [16, a.length, a.length, 'none'], [16 + a.length + 4, a.length, a.length, 'none'],
    ]);
    expect(segments[0]!.entries[0]).toEqual({ path: '/x', type: 'file', mode: 0o644, size: 3 });
  });
  test('a directory given as the image is a UserError', async () => {
    await expect(readImageFile(tmpdir())).rejects.toThrow(new UserError(`cannot read image ${tmpdir()}: is a directory`));
  });
});
