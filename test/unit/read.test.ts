// SPDX-License-Identifier: GPL-2.0-or-later
// Compressors against the system tools the kernel's decoders mirror, and the segment reader on
// concatenated images (early-microcode style) and on the host's own initramfs when there is one.
import { describe, expect, test } from 'bun:test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewc, type CpioEntry } from '../../src/archive/cpio.ts';
import { compress, decompress, type Compression } from '../../src/archive/compress.ts';
import { ImageFormatError, readImage, readImageFile } from '../../src/archive/read.ts';
import { renderInspect } from '../../src/cli/inspect.ts';
import { UserError } from '../../src/log.ts';
import { tempDir } from '../temp-dirs.ts';

const enc = new TextEncoder();

const MAIN: CpioEntry[] = [
  { path: '/init', type: 'file', mode: 0o755, data: enc.encode('#!/bin/sh\n'.repeat(500)) },
  { path: '/lib', type: 'dir', mode: 0o755 },
  { path: '/lib/modules', type: 'dir', mode: 0o755 },
  { path: '/lib/modules/6.1.0', type: 'dir', mode: 0o755 },
  { path: '/lib/modules/6.1.0/virtio_blk.ko', type: 'file', mode: 0o644, data: enc.encode('\x7fELF module') },
  { path: '/lib/modules/6.1.0/modules.dep', type: 'file', mode: 0o644, data: enc.encode('virtio_blk.ko:\n') },
  { path: '/lib/ruckusrd', type: 'dir', mode: 0o755 },
  { path: '/lib/ruckusrd/hooks', type: 'dir', mode: 0o755 },
  { path: '/lib/ruckusrd/hooks/mount', type: 'dir', mode: 0o755 },
  { path: '/lib/ruckusrd/hooks/mount/40-overlay-assemble.sh', type: 'file', mode: 0o755, data: enc.encode('#!/bin/sh\n') },
  { path: '/sbin', type: 'symlink', mode: 0o777, target: 'bin' },
];
const UCODE: CpioEntry[] = [
  { path: '/kernel', type: 'dir', mode: 0o755 },
  { path: '/kernel/x86', type: 'dir', mode: 0o755 },
  { path: '/kernel/x86/microcode', type: 'dir', mode: 0o755 },
  { path: '/kernel/x86/microcode/GenuineIntel.bin', type: 'file', mode: 0o644, data: new Uint8Array(1001).fill(7) },
];
const mainCpio = writeNewc(MAIN, { mtime: 0 });
// Early-microcode archives are conventionally padded to 512, like GNU cpio's output.
const ucodeCpio = writeNewc(UCODE, { mtime: 0, blockSize: 512 });

const ALGS: Exclude<Compression, 'none'>[] = ['zstd', 'gzip', 'xz', 'lz4'];
const TOOL: Record<Exclude<Compression, 'none'>, string[]> = {
  zstd: ['zstd', '-dc'],
  gzip: ['gzip', '-dc'],
  xz: ['xz', '-dc'],
  lz4: ['lz4', '-dc'],
};
const MAGIC: Record<Exclude<Compression, 'none'>, number[]> = {
  zstd: [0x28, 0xb5, 0x2f, 0xfd],
  gzip: [0x1f, 0x8b],
  xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
  lz4: [0x02, 0x21, 0x4c, 0x18], // the legacy format: the only lz4 the kernel reads
};

function run(cmd: string[], input?: Uint8Array): Uint8Array {
  const r = Bun.spawnSync({ cmd, stdin: input ?? 'ignore' });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const paths = (entries: { path: string }[]): string[] => entries.map((e) => e.path);

describe('compress', () => {
  test.each(ALGS)('%s: system tool round trip, magic, deterministic', async (alg) => {
    const packed = await compress(mainCpio, alg);
    expect([...packed.subarray(0, MAGIC[alg].length)]).toEqual(MAGIC[alg]);
    expect(run(TOOL[alg], packed)).toEqual(mainCpio);
    expect(await decompress(packed)).toEqual(mainCpio);
    expect(await compress(mainCpio, alg)).toEqual(packed);
  });

  test('xz uses the CRC32 check the kernel requires', async () => {
    const dir = tempDir('xz');
    try {
      writeFileSync(join(dir, 'i.xz'), await compress(mainCpio, 'xz'));
      const listing = new TextDecoder().decode(run(['xz', '--robot', '--list', join(dir, 'i.xz')]));
      expect(listing).toMatch(/^file\t.*\tCRC32\t/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('gzip header carries no mtime and no file name', async () => {
    const gz = await compress(mainCpio, 'gzip');
    expect(gz[3]).toBe(0); // FLG: no FNAME, FCOMMENT, FEXTRA
    expect([...gz.subarray(4, 8)]).toEqual([0, 0, 0, 0]); // MTIME
  });

  test('none is the identity', async () => {
    expect(await compress(mainCpio, 'none')).toBe(mainCpio);
  });
});

describe('readImage', () => {
  test.each(ALGS)('uncompressed microcode cpio, then a %s cpio: both segments parse', async (alg) => {
    const packed = await compress(mainCpio, alg);
    const segments = await readImage(concat(ucodeCpio, packed));
    expect(segments.map((s) => [s.offset, s.compression])).toEqual([[0, 'none'], [ucodeCpio.length, alg]]);
    expect(paths(segments[0]!.entries)).toEqual(UCODE.map((e) => e.path));
    expect(paths(segments[1]!.entries)).toEqual(paths(MAIN).sort());
    expect(segments[1]).toMatchObject({ compressedSize: packed.length, uncompressedSize: mainCpio.length, exactEnd: true });
  });

  test.each(ALGS)('%s segment followed by zero padding and another cpio: the end is found', async (alg) => {
    const packed = await compress(mainCpio, alg);
    const gap = new Uint8Array((4 - (packed.length % 4)) % 4 + 8);
    const segments = await readImage(concat(packed, gap, ucodeCpio));
    expect(segments.map((s) => [s.offset, s.compression, s.compressedSize])).toEqual([
      [0, alg, packed.length],
      [packed.length + gap.length, 'none', writeNewc(UCODE, { mtime: 0 }).length],
    ]);
  });

  test('lzma (legacy, never written by us) is read, running to the end of the image', async () => {
    const lzma = run(['xz', '--format=lzma', '-c'], mainCpio);
    const [segment] = await readImage(concat(lzma, new Uint8Array(16)));
    expect(segment).toMatchObject({ compression: 'lzma', exactEnd: false, uncompressedSize: mainCpio.length });
  });

  test('two archives inside one compressed stream are both read', async () => {
    const packed = await compress(concat(ucodeCpio, mainCpio), 'zstd');
    const [segment, ...rest] = await readImage(packed);
    expect(rest).toEqual([]);
    expect(segment!.entries).toHaveLength(UCODE.length + MAIN.length);
  });

  const bad: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['all zeros', new Uint8Array(1024)],
    ['not an image', enc.encode('hello, world')],
    ['truncated cpio', mainCpio.subarray(0, 300)],
    ['truncated zstd', Bun.zstdCompressSync(mainCpio).subarray(0, 50)],
    ['misaligned cpio', concat(new Uint8Array(2), mainCpio)],
  ];
  test.each(bad)('%s: ImageFormatError', async (_name, bytes) => {
    await expect(readImage(bytes)).rejects.toBeInstanceOf(ImageFormatError);
  });
});

describe('readImageFile', () => {
  test('missing file and non-image give one-line UserErrors', async () => {
    const dir = tempDir('read');
    try {
      writeFileSync(join(dir, 'junk'), 'not an initramfs');
      await expect(readImageFile(join(dir, 'nope'))).rejects.toThrow(new UserError(`cannot read image ${join(dir, 'nope')}: no such file`));
      await expect(readImageFile(join(dir, 'junk'))).rejects.toThrow(/junk is not a valid initramfs: unknown data at offset 0/);
      await expect(readImageFile(dir)).rejects.toBeInstanceOf(UserError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderInspect', () => {
  test('segments, entries, kernel modules and hooks; JSON mirrors it', async () => {
    const segments = await readImage(concat(ucodeCpio, await compress(mainCpio, 'zstd')), { data: true });
    const text = renderInspect(segments);
    expect(text).toContain('segment 1 at offset 0: uncompressed cpio, 1.6 KiB (1652 bytes), 4 entries\n');
    expect(text).toMatch(new RegExp(`^segment 2 at offset ${ucodeCpio.length}: zstd, .* compressed, .* uncompressed, 11 entries$`, 'm'));
    expect(text).toContain('  l 0777          3 /sbin -> bin\n');
    expect(text).toContain('  - 0755       5000 /init\n');
    expect(text).toContain('kernel modules (1):\n  /lib/modules/6.1.0/virtio_blk.ko\n');
    expect(text).toContain('hooks (1):\n  /lib/ruckusrd/hooks/mount/40-overlay-assemble.sh\n');
    const json = JSON.parse(renderInspect(segments, { json: true }));
    expect(json.kernelModules).toEqual(['/lib/modules/6.1.0/virtio_blk.ko']);
    expect(json.segments[1].entries.find((e: { path: string }) => e.path === '/init')).toEqual({
      path: '/init', type: 'file', mode: 0o755, size: 5000,
    });
  });

  test('device nodes show major, minor', () => {
    const text = renderInspect([{
      offset: 0, compressedSize: 0, uncompressedSize: 0, compression: 'none', exactEnd: true,
      entries: [{ path: '/dev/console', type: 'char', mode: 0o600, size: 0, major: 5, minor: 1 }],
    }]);
    expect(text).toContain('  c 0600       5, 1 /dev/console\n');
  });
});
