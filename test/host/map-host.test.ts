// SPDX-License-Identifier: GPL-2.0-or-later
// mapHostRegular (src/host/base.ts): a file of the build's plan or a kernel module, mapped read-only
// from the page cache (seen in /proc/self/maps) when it is large enough, read when small or empty;
// the same bytes either way, and the same refusals as reading (a symlink, a directory).
import { expect, test } from 'bun:test';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BaseFs, mapHostRegular } from '../../src/host/base.ts';
import { tempDir } from '../temp-dirs.ts';

const dir = tempDir('map');
const mapped = (path: string) => readFileSync('/proc/self/maps', 'utf8').split('\n').some((l) => l.endsWith(` ${path}`));

test('a large file is mapped, a small or empty one read; the bytes are the file\'s', () => {
  const big = join(dir, 'big.ko.xz');
  const bytes = new Uint8Array(300_001).map((_, i) => (i * 7919) & 0xff);
  writeFileSync(big, bytes);
  const small = join(dir, 'small');
  writeFileSync(small, 'tiny');
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  expect(mapped(big)).toBe(false);
  const got = mapHostRegular(big);
  expect(mapped(big)).toBe(true);
  expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
  expect(new Bun.CryptoHasher('sha256').update(got).digest('hex')).toBe(new Bun.CryptoHasher('sha256').update(bytes).digest('hex'));
  expect(Buffer.from(mapHostRegular(small)).toString()).toBe('tiny');
  expect(mapped(small)).toBe(false);
  expect(mapHostRegular(empty).length).toBe(0);
});

test('through the base: resolved inside it; links and directories refused as readFile refuses them', () => {
  const base = join(dir, 'base');
  mkdirSync(join(base, 'usr/lib'), { recursive: true });
  symlinkSync('usr/lib', join(base, 'lib'));
  writeFileSync(join(base, 'usr/lib/m.ko'), new Uint8Array(100_000).fill(3));
  const fs = new BaseFs(base);
  expect(Buffer.from(fs.mapFile('/lib/m.ko')).equals(Buffer.from(fs.readFile('/lib/m.ko')))).toBe(true);
  symlinkSync('/etc/hostname', join(dir, 'link'));
  expect(() => mapHostRegular(join(dir, 'link'))).toThrow(/symbolic link/);
  expect(() => mapHostRegular(base)).toThrow(/not a regular file/);
  expect(() => fs.mapFile('/nope')).toThrow(/not found in base/);
});
