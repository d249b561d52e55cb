// SPDX-License-Identifier: GPL-2.0-or-later
// The newc writer, checked against readers that are not ours: GNU cpio and cpio-stream (via readImage).
import { describe, expect, test } from 'bun:test';
import { lstatSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { comparePathComponents, newcChunks, sortCpioEntries, validateCpioEntries, writeNewc, type CpioEntry, type NewcOptions } from '../../src/archive/cpio.ts';
import { readImage } from '../../src/archive/read.ts';
import { tempDir } from '../temp-dirs.ts';

const enc = new TextEncoder();
const MTIME = 1700000000;

/** Deterministic filler so sizes can be odd without a fixture file. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const FIXTURE: CpioEntry[] = [
  { path: '/bin', type: 'symlink', mode: 0o777, target: 'usr/bin' },
  { path: '/dev', type: 'dir', mode: 0o755 },
  { path: '/dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 },
  { path: '/dev/null', type: 'char', mode: 0o666, major: 1, minor: 3 },
  { path: '/dev/vda', type: 'block', mode: 0o660, major: 253, minor: 0 },
  { path: '/etc', type: 'dir', mode: 0o755 },
  { path: '/etc/empty', type: 'file', mode: 0o644 },
  { path: '/etc/hostname', type: 'file', mode: 0o644, data: enc.encode('ruckus\n') },
  { path: '/init', type: 'file', mode: 0o755, data: enc.encode('#!/bin/sh\nexec /sbin/init\n') },
  { path: '/usr', type: 'dir', mode: 0o755 },
  { path: '/usr/bin', type: 'dir', mode: 0o755 },
  { path: '/usr/bin/sh', type: 'symlink', mode: 0o777, target: 'busybox' },
  { path: '/usr/bin/busybox', type: 'file', mode: 0o4755, data: bytes(1021, 1) },
  { path: '/usr/lib', type: 'dir', mode: 0o700 },
  { path: '/usr/lib/one', type: 'file', mode: 0o600, data: bytes(1, 2) },
  { path: '/usr/lib/big', type: 'file', mode: 0o640, data: bytes(65539, 3) },
];

const FIXTURE_NAMES = FIXTURE.filter((e) => e.type === 'file' || e.type === 'symlink');
const NODE_NAMES = FIXTURE.filter((e) => e.type === 'char' || e.type === 'block').map((e) => e.path.slice(1));

function run(cmd: string[], input: Uint8Array, cwd?: string): string {
  const r = Bun.spawnSync({ cmd, stdin: input, cwd, env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

interface Listed {
  mode: string;
  nlink: number;
  size: string;
  name: string;
  target?: string;
}

/** Parses `cpio -itv` lines: mode, links, owner, group, size or "major, minor", date (3 words), name. */
function parseListing(text: string): Listed[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(\S+)\s+(\d+)\s+root\s+root\s+(\d+,\s+\d+|\d+)\s+\w{3}\s+\d+\s+\d{4}\s+(.+)$/.exec(line);
      if (!m) throw new Error(`unexpected cpio -itv line: ${line}`);
      const [name, target] = m[4]!.split(' -> ');
      return { mode: m[1]!, nlink: Number(m[2]), size: m[3]!.replace(/\s+/g, ' '), name: name!, target };
    });
}

describe('writeNewc read back by GNU cpio', () => {
  const archive = writeNewc(FIXTURE, { mtime: MTIME });

  test('cpio -itv: names in order, types, modes, sizes, links, device numbers', () => {
    const listed = parseListing(run(['cpio', '-itv', '--quiet'], archive));
    expect(listed.map((l) => l.name)).toEqual([
      'bin', 'dev', 'dev/console', 'dev/null', 'dev/vda', 'etc', 'etc/empty', 'etc/hostname', 'init',
      'usr', 'usr/bin', 'usr/bin/busybox', 'usr/bin/sh', 'usr/lib', 'usr/lib/big', 'usr/lib/one',
    ]);
    const byName = new Map(listed.map((l) => [l.name, l]));
    expect(byName.get('bin')).toEqual({ mode: 'lrwxrwxrwx', nlink: 1, size: '7', name: 'bin', target: 'usr/bin' });
    expect(byName.get('dev')).toMatchObject({ mode: 'drwxr-xr-x', nlink: 2, size: '0' });
    expect(byName.get('dev/console')).toMatchObject({ mode: 'crw-------', size: '5, 1' });
    expect(byName.get('dev/null')).toMatchObject({ mode: 'crw-rw-rw-', size: '1, 3' });
    expect(byName.get('dev/vda')).toMatchObject({ mode: 'brw-rw----', size: '253, 0' });
    expect(byName.get('usr/bin/busybox')).toMatchObject({ mode: '-rwsr-xr-x', size: '1021' });
    expect(byName.get('usr/bin/sh')).toMatchObject({ target: 'busybox' });
    expect(byName.get('usr/lib')).toMatchObject({ mode: 'drwx------' });
  });

  test('cpio -id extracts identical contents, modes and symlinks', () => {
    const dir = tempDir('cpio');
    try {
      // Device nodes are left out (mknod needs root); cpio -itv above checks their numbers.
      run(['cpio', '-id', '--quiet', '--no-absolute-filenames', '-f', ...NODE_NAMES], archive, dir);
      for (const entry of FIXTURE_NAMES) {
        const host = join(dir, entry.path);
        if (entry.type === 'symlink') expect(readlinkSync(host)).toBe(entry.target!);
        else {
          const content: Uint8Array = new Uint8Array(readFileSync(host));
          expect(content).toEqual(entry.data ?? new Uint8Array(0));
          expect(lstatSync(host).mode & 0o7777).toBe(entry.mode);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('blockSize pads the total to 512 and GNU cpio still reads it', () => {
    const padded = writeNewc(FIXTURE, { mtime: MTIME, blockSize: 512 });
    expect(padded.length % 512).toBe(0);
    expect(padded.subarray(0, archive.length)).toEqual(archive);
    expect(parseListing(run(['cpio', '-itv', '--quiet'], padded))).toHaveLength(FIXTURE.length);
    expect(archive.length % 4).toBe(0);
  });
});

describe('writeNewc read back by cpio-stream', () => {
  test('every entry comes back with its type, mode, data, target and device numbers', async () => {
    const [segment, ...rest] = await readImage(writeNewc(FIXTURE, { mtime: MTIME }), { data: true });
    expect(rest).toEqual([]);
    const got = new Map(segment!.entries.map((e) => [e.path, e]));
    expect(got.size).toBe(FIXTURE.length);
    for (const want of FIXTURE) {
      const e = got.get(want.path)!;
      expect({ type: e.type, mode: e.mode, target: e.target, major: e.major, minor: e.minor }).toEqual({
        type: want.type,
        mode: want.mode,
        target: want.target,
        major: want.major,
        minor: want.minor,
      });
      if (want.type === 'file') expect(e.data).toEqual(want.data ?? new Uint8Array(0));
    }
  });
});

describe('determinism and order', () => {
  test('same input, same bytes; input order does not matter; chunks equal the whole', () => {
    const a = writeNewc(FIXTURE, { mtime: MTIME });
    const shuffled = [...FIXTURE].reverse();
    shuffled.push(shuffled.shift()!);
    expect(writeNewc(FIXTURE, { mtime: MTIME })).toEqual(a);
    expect(writeNewc(shuffled, { mtime: MTIME })).toEqual(a);
    expect(Buffer.concat([...newcChunks(FIXTURE, { mtime: MTIME })])).toEqual(Buffer.from(a));
  });

  test('a directory comes before its contents, even when a sibling sorts between bytewise', () => {
    const entries: CpioEntry[] = [
      { path: '/a-b', type: 'file', mode: 0o644 },
      { path: '/a/c', type: 'file', mode: 0o644 },
      { path: '/a', type: 'dir', mode: 0o755 },
      { path: '/A', type: 'file', mode: 0o644 },
    ];
    const names = run(['cpio', '-it', '--quiet'], writeNewc(entries, { mtime: 0 })).trim().split('\n');
    expect(names).toEqual(['A', 'a', 'a/c', 'a-b']);
  });
});

describe('golden bytes', () => {
  test('one small file, then the trailer', () => {
    const out = writeNewc([{ path: '/a', type: 'file', mode: 0o644, data: enc.encode('hi') }], { mtime: 0x12345678 });
    const header = (fields: string[]): string => '070701' + fields.join('');
    const expected =
      // ino, mode 0100644, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
      header(['00000001', '000081A4', '00000000', '00000000', '00000001', '12345678', '00000002',
        '00000000', '00000000', '00000000', '00000000', '00000002', '00000000']) +
      'a\0' + // 110 + 2 = 112: already aligned
      'hi\0\0' + // data padded to 4
      header(['00000000', '00000000', '00000000', '00000000', '00000001', '00000000', '00000000',
        '00000000', '00000000', '00000000', '00000000', '0000000B', '00000000']) +
      'TRAILER!!!\0' + '\0\0\0'; // 110 + 11 = 121, padded to 124
    expect(Buffer.from(out).toString('latin1')).toBe(expected);
    expect(out.length).toBe(240);
  });
});

describe('golden bytes of a multi-entry archive', () => {
  // Given out of order: the archive must sort them, number inodes 1.. in that order, and own them by root.
  const entries: CpioEntry[] = [
    { path: '/usr/bin/sh', type: 'symlink', mode: 0o777, target: 'busybox' },
    { path: '/etc', type: 'dir', mode: 0o755 },
    { path: '/usr', type: 'dir', mode: 0o755 },
    { path: '/etc/hostname', type: 'file', mode: 0o644, data: enc.encode('ruckus\n') },
    { path: '/usr/bin', type: 'dir', mode: 0o700 },
    { path: '/bin', type: 'symlink', mode: 0o777, target: 'usr/bin' },
    { path: '/dev', type: 'dir', mode: 0o755 },
    { path: '/dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 },
  ];
  const archive = writeNewc(entries, { mtime: MTIME });
  const T = '6553F100'; // MTIME in hex
  // magic, then ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  const h = (ino: string, mode: string, nlink: string, mtime: string, size: string, rmaj: string, rmin: string, namesize: string): string =>
    `070701${ino}${mode}0000000000000000${nlink}${mtime}${size}0000000000000000${rmaj}${rmin}${namesize}00000000`;
  const expected = [
    h('00000001', '0000A1FF', '00000001', T, '00000007', '00000000', '00000000', '00000004') + 'bin\0' + '\0\0' + 'usr/bin' + '\0',
    h('00000002', '000041ED', '00000002', T, '00000000', '00000000', '00000000', '00000004') + 'dev\0' + '\0\0',
    h('00000003', '00002180', '00000001', T, '00000000', '00000005', '00000001', '0000000C') + 'dev/console\0' + '\0\0',
    h('00000004', '000041ED', '00000002', T, '00000000', '00000000', '00000000', '00000004') + 'etc\0' + '\0\0',
    h('00000005', '000081A4', '00000001', T, '00000007', '00000000', '00000000', '0000000D') + 'etc/hostname\0' + '\0' + 'ruckus\n' + '\0',
    h('00000006', '000041ED', '00000002', T, '00000000', '00000000', '00000000', '00000004') + 'usr\0' + '\0\0',
    h('00000007', '000041C0', '00000002', T, '00000000', '00000000', '00000000', '00000008') + 'usr/bin\0' + '\0\0',
    h('00000008', '0000A1FF', '00000001', T, '00000007', '00000000', '00000000', '0000000B') + 'usr/bin/sh\0' + '\0\0\0' + 'busybox' + '\0',
    h('00000000', '00000000', '00000001', '00000000', '00000000', '00000000', '00000000', '0000000B') + 'TRAILER!!!\0' + '\0\0\0',
  ].join('');

  test('every header field, name and padding, byte for byte', () => {
    expect(Buffer.from(archive).toString('latin1')).toBe(expected);
    expect(archive.length).toBe(expected.length);
  });

  test('headers walked one by one: ino ascending in path order, root-owned, one mtime, no device of origin', () => {
    const fields = (at: number): number[] =>
      Array.from({ length: 13 }, (_, i) => parseInt(Buffer.from(archive.subarray(at + 6 + i * 8, at + 14 + i * 8)).toString(), 16));
    const seen: { name: string; f: number[] }[] = [];
    for (let at = 0; ; ) {
      expect(Buffer.from(archive.subarray(at, at + 6)).toString()).toBe('070701');
      const f = fields(at);
      const name = Buffer.from(archive.subarray(at + 110, at + 110 + f[11]! - 1)).toString();
      seen.push({ name, f });
      at = Math.ceil((Math.ceil((at + 110 + f[11]!) / 4) * 4 + f[6]!) / 4) * 4;
      if (name === 'TRAILER!!!') {
        expect(at).toBe(archive.length);
        break;
      }
    }
    const trailer = seen.pop()!;
    expect(trailer.f).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0]);
    expect(seen.map((e) => e.name)).toEqual(['bin', 'dev', 'dev/console', 'etc', 'etc/hostname', 'usr', 'usr/bin', 'usr/bin/sh']);
    expect(seen.map((e) => e.f[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const { name, f } of seen) {
      const entry = entries.find((e) => e.path === `/${name}`)!;
      const [, mode, uid, gid, nlink, mtime, size, devmajor, devminor, rdevmajor, rdevminor, namesize, check] = f;
      expect({ name, mode: mode! & 0o7777, uid, gid, nlink, mtime, devmajor, devminor, check }).toEqual({
        name, mode: entry.mode, uid: 0, gid: 0, nlink: entry.type === 'dir' ? 2 : 1, mtime: MTIME, devmajor: 0, devminor: 0, check: 0,
      });
      expect([rdevmajor, rdevminor]).toEqual([entry.major ?? 0, entry.minor ?? 0]);
      expect(namesize).toBe(name.length + 1);
      expect(size).toBe(entry.type === 'file' ? entry.data!.length : entry.type === 'symlink' ? entry.target!.length : 0);
    }
  });

  test('GNU cpio -itv lists the same: order, types, modes, root owner, links, device numbers, date', () => {
    const listing = run(['cpio', '-itv', '--quiet', '--numeric-uid-gid'], archive).trim().split('\n');
    const rows = listing.map((line) => line.replace(/\s+/g, ' '));
    expect(rows).toEqual([
      'lrwxrwxrwx 1 0 0 7 Nov 14 2023 bin -> usr/bin',
      'drwxr-xr-x 2 0 0 0 Nov 14 2023 dev',
      'crw------- 1 0 0 5, 1 Nov 14 2023 dev/console',
      'drwxr-xr-x 2 0 0 0 Nov 14 2023 etc',
      '-rw-r--r-- 1 0 0 7 Nov 14 2023 etc/hostname',
      'drwxr-xr-x 2 0 0 0 Nov 14 2023 usr',
      'drwx------ 2 0 0 0 Nov 14 2023 usr/bin',
      'lrwxrwxrwx 1 0 0 7 Nov 14 2023 usr/bin/sh -> busybox',
    ]);
  });

  test('GNU cpio -idm restores the exact mtime', () => {
    const dir = tempDir('cpio');
    try {
      run(['cpio', '-idm', '--quiet', '--no-absolute-filenames', 'etc', 'etc/hostname'], archive, dir);
      expect(lstatSync(join(dir, 'etc/hostname')).mtimeMs).toBe(MTIME * 1000);
      expect(readFileSync(join(dir, 'etc/hostname'), 'utf8')).toBe('ruckus\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('validation', () => {
  const file = (path: string): CpioEntry => ({ path, type: 'file', mode: 0o644 });
  const dir = (path: string): CpioEntry => ({ path, type: 'dir', mode: 0o755 });
  const node = (major?: number, minor?: number): CpioEntry => ({ path: '/c', type: 'char', mode: 0o600, major, minor });
  const cases: [string, CpioEntry[], string][] = [
    ['duplicate path', [file('/x'), file('/x')], 'cpio: duplicate path /x'],
    ['duplicate directory', [dir('/x'), dir('/x')], 'cpio: duplicate path /x'],
    ['missing parent', [file('/etc/x')], 'cpio: parent directory /etc of /etc/x is not a directory in the archive'],
    ['missing grandparent', [dir('/a'), file('/a/b/c')], 'cpio: parent directory /a/b of /a/b/c is not'],
    ['parent is a file', [file('/etc'), file('/etc/x')], 'cpio: parent directory /etc of /etc/x'],
    ['parent is a symlink', [{ path: '/etc', type: 'symlink', mode: 0o777, target: 'x' }, file('/etc/x')], 'cpio: parent directory /etc of'],
    ['relative path', [file('x')], "cpio: not an absolute, non-root path: 'x'"],
    ['empty path', [file('')], "cpio: not an absolute, non-root path: ''"],
    ['root entry', [dir('/')], "cpio: not an absolute, non-root path: '/'"],
    ['trailing slash', [file('/x/')], "cpio: path is not normalised: '/x/'"],
    ['double slash', [dir('/x'), file('/x//y')], "cpio: path is not normalised: '/x//y'"],
    ['dot component', [dir('/x'), file('/x/./y')], "cpio: path is not normalised: '/x/./y'"],
    ['dot-dot component', [dir('/x'), file('/x/../y')], "cpio: path is not normalised: '/x/../y'"],
    ['NUL in a name', [file('/x\0y')], 'cpio: path is not normalised'],
    ['type bits in mode', [{ path: '/x', type: 'file', mode: 0o100644 }], 'cpio: /x: mode must be permission bits (0..0o7777), got 33188'],
    ['mode one past the bits', [{ path: '/x', type: 'file', mode: 0o10000 }], 'cpio: /x: mode must be permission bits'],
    ['negative mode', [{ path: '/x', type: 'file', mode: -1 }], 'cpio: /x: mode must be permission bits'],
    ['fractional mode', [{ path: '/x', type: 'file', mode: 0.5 }], 'cpio: /x: mode must be permission bits'],
    ['node without numbers', [node()], 'cpio: /c: device node needs integer major and minor'],
    ['node without minor', [node(5)], 'cpio: /c: device node needs integer major and minor'],
    ['node without major', [node(undefined, 1)], 'cpio: /c: device node needs integer major and minor'],
    ['negative major', [node(-1, 1)], 'cpio: /c: device node needs'],
    ['negative minor', [node(1, -1)], 'cpio: /c: device node needs'],
    ['fractional minor', [node(1, 1.5)], 'cpio: /c: device node needs'],
    ['minor past 32 bits', [node(1, 2 ** 32)], 'cpio: /c: device node needs'],
    ['block node without numbers', [{ path: '/b', type: 'block', mode: 0o600 }], 'cpio: /b: device node needs'],
    ['symlink without target', [{ path: '/l', type: 'symlink', mode: 0o777 }], 'cpio: /l: symlink without target'],
    ['symlink with empty target', [{ path: '/l', type: 'symlink', mode: 0o777, target: '' }], 'cpio: /l: symlink without target'],
    // a stand-in for 4 GiB of data: only the length is read before the check
    ['file past 4 GiB', [{ path: '/big', type: 'file', mode: 0o644, data: { length: 2 ** 32 } as Uint8Array }],
      'cpio: /big: larger than 4 GiB, newc cannot store it'],
  ];
  test.each(cases)('%s throws', (_name, entries, message) => {
    expect(() => writeNewc(entries, { mtime: 0 })).toThrow(message);
  });
  test.each([
    ['node numbers at the 32-bit limit', [{ path: '/c', type: 'char', mode: 0o600, major: 0, minor: 2 ** 32 - 1 }]],
    ['all permission bits', [{ path: '/x', type: 'file', mode: 0o7777 }, { path: '/y', type: 'dir', mode: 0 }]],
    ['a file whose name extends its sibling directory', [dir('/a'), file('/a/b'), file('/ab')]],
    ['names that only look like dots', [file('/...'), file('/.x'), dir('/..y'), file('/..y/z.')]],
  ] as [string, CpioEntry[]][])('%s is accepted', (_name, entries) => {
    expect(() => writeNewc(entries, { mtime: 0 })).not.toThrow();
  });
  test.each([
    [{ mtime: -1 }, 'cpio: mtime must be an integer 0..2^32-1, got -1'],
    [{ mtime: 1.5 }, 'cpio: mtime must be an integer 0..2^32-1, got 1.5'],
    [{ mtime: 2 ** 32 }, 'cpio: mtime must be an integer 0..2^32-1, got 4294967296'],
    [{ mtime: Number.NaN }, 'cpio: mtime must be an integer'],
    [{ mtime: 0, blockSize: 511 }, 'cpio: blockSize must be a non-negative multiple of 4, got 511'],
    [{ mtime: 0, blockSize: -4 }, 'cpio: blockSize must be a non-negative multiple of 4, got -4'],
    [{ mtime: 0, blockSize: 4.5 }, 'cpio: blockSize must be'],
    [{ mtime: 0, blockSize: 2 }, 'cpio: blockSize must be'],
  ] as [NewcOptions, string][])('options %o throw', (opts, message) => {
    expect(() => writeNewc([], opts)).toThrow(message);
    expect(() => newcChunks([], opts).next()).toThrow(message);
  });
  test('the widest mtime and a zero blockSize are accepted', () => {
    const out = writeNewc([], { mtime: 2 ** 32 - 1, blockSize: 0 });
    expect(out.length).toBe(124); // the trailer alone, unpadded
    expect(Buffer.from(writeNewc([file('/x')], { mtime: 2 ** 32 - 1 }).subarray(6 + 5 * 8, 6 + 6 * 8)).toString()).toBe('FFFFFFFF');
  });
});

describe('padding and streaming', () => {
  test.each([
    // name "x\0": 110 + 2 = 112, aligned; data 0..5 bytes padded to 4
    [0, 112 + 0], [1, 112 + 4], [2, 112 + 4], [3, 112 + 4], [4, 112 + 4], [5, 112 + 8],
  ])('a %d-byte file takes %d bytes before the trailer', (size, length) => {
    const out = writeNewc([{ path: '/x', type: 'file', mode: 0o644, data: new Uint8Array(size).fill(0x61) }], { mtime: 0 });
    expect(out.length).toBe(length + 124);
    expect(Buffer.from(out.subarray(length, length + 6)).toString()).toBe('070701');
    expect([...out.subarray(112 + size, length)].every((b) => b === 0)).toBe(true);
  });
  test.each([
    // 110 + name length + NUL, padded to 4
    ['a', 112], ['ab', 116], ['abc', 116], ['abcd', 116], ['abcde', 116], ['abcdef', 120],
  ])('the header of /%s with its name takes %d bytes', (name, length) => {
    const out = writeNewc([{ path: `/${name}`, type: 'dir', mode: 0o755 }], { mtime: 0 });
    expect(out.length).toBe(length + 124);
    expect(Buffer.from(out.subarray(length, length + 6)).toString()).toBe('070701');
  });
  test('chunks: header+name, then the data itself (not a copy), then its padding; no empty chunks', () => {
    const data = enc.encode('hello');
    const chunks = [...newcChunks([{ path: '/f', type: 'file', mode: 0o644, data }, { path: '/d', type: 'dir', mode: 0o755 }], { mtime: 0, blockSize: 512 })];
    expect(chunks.map((c) => c.length)).toEqual([112, 112, 5, 3, 124, 512 - ((112 + 112 + 8 + 124) % 512)]);
    expect(chunks[2]).toBe(data);
    expect(chunks.every((c) => c.length > 0)).toBe(true);
  });
  test('blockSize: no padding chunk when the archive already fills whole blocks', () => {
    const exact = writeNewc([], { mtime: 0 }).length; // 124
    expect([...newcChunks([], { mtime: 0, blockSize: 4 })].map((c) => c.length)).toEqual([exact]);
    expect(writeNewc([], { mtime: 0, blockSize: 124 * 2 }).length).toBe(248);
  });
});

describe('sortCpioEntries', () => {
  const d = (path: string): CpioEntry => ({ path, type: 'dir', mode: 0o755 });
  test('component-wise and bytewise, parents first, input untouched', () => {
    const input = ['/b', '/a-b', '/a/c', '/a', '/B', '/a/b/c', '/a/b', '/\u00e9', '/z'].map(d);
    const copy = [...input];
    expect(sortCpioEntries(input).map((e) => e.path)).toEqual(['/B', '/a', '/a/b', '/a/b/c', '/a/c', '/a-b', '/b', '/z', '/\u00e9']);
    expect(input).toEqual(copy);
  });
});

describe('comparePathComponents', () => {
  /** The reference: component lists, each component's UTF-8 bytes compared. */
  const reference = (a: string, b: string): number => {
    const pa = a.split('/').map((c) => Buffer.from(c));
    const pb = b.split('/').map((c) => Buffer.from(c));
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const c = Buffer.compare(pa[i]!, pb[i]!);
      if (c !== 0) return c;
    }
    return pa.length - pb.length;
  };
  test('agrees with comparing encoded components on random paths (/, characters below and above it, beyond the BMP)', () => {
    const alphabet = ['/', '/', 'a', 'b', '-', '.', ' ', '\u00e9', '\ue000', '\ufffd', '\u{1f600}'];
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const path = () => '/' + Array.from({ length: 1 + rand(6) }, () => alphabet[rand(alphabet.length)]).join('');
    for (let k = 0; k < 3000; k++) {
      const a = path();
      const b = rand(4) ? path() : a + alphabet[rand(alphabet.length)];
      expect([a, b, Math.sign(comparePathComponents(a, b))]).toEqual([a, b, Math.sign(reference(a, b))]);
    }
  });
});

test('a file of exactly 2^32-1 bytes passes validation (a stand-in: only its length is read)', () => {
  expect(() => validateCpioEntries([{ path: '/big', type: 'file', mode: 0o644, data: { length: 2 ** 32 - 1 } as Uint8Array }])).not.toThrow();
});

describe('no empty chunks', () => {
  test('data already 4-aligned and no blockSize: no padding chunks at all', () => {
    const data = enc.encode('four');
    const chunks = [...newcChunks([{ path: '/f', type: 'file', mode: 0o644, data }], { mtime: 0 })];
    expect(chunks.map((c) => c.length)).toEqual([112, 4, 124]);
    expect([...newcChunks([{ path: '/f', type: 'file', mode: 0o644, data }], { mtime: 0, blockSize: 0 })].map((c) => c.length)).toEqual([112, 4, 124]);
  });
});
