// SPDX-License-Identifier: GPL-2.0-or-later
// The busybox applet reader against the reference: `busybox --list-full` of the host's busybox
// (run here, by the test, never by the builder), plus tables made by hand.
import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { busyboxVersion, findAppletNames, findInstallDirs, parseBusyboxApplets, runsOfSmallNibbles } from '../../src/core/busybox.ts';
import { missing, testNeeding } from './need.ts';

testNeeding(missing('/usr/bin/busybox'), 'the applets and their directories equal busybox --list-full', () => {
  const bin = readFileSync('/usr/bin/busybox');
  const want = Bun.spawnSync(['/usr/bin/busybox', '--list-full']).stdout.toString().split('\n')
    .filter((l) => l && l !== 'linuxrc').map((l) => `/${l}`);
  expect(parseBusyboxApplets(bin)).toEqual(want);
  expect(busyboxVersion(bin)).toMatch(/^1\.[0-9]+\.[0-9]+$/);
});

const enc = (s: string) => new TextEncoder().encode(s);
const NAMES = ['[', '[[', 'ash', 'cat', 'ls', 'modprobe', 'sh', 'switch_root', 'zcat'];
// /usr/bin [ [[ ; /bin ash cat ls ; /sbin modprobe ; /bin sh ; /sbin switch_root ; /bin zcat
const DIRS = [3, 3, 1, 1, 1, 2, 1, 2, 1];
const loc = (dirs: number[]) => dirs.reduce<number[]>((out, d, k) => (k % 2 ? (out[out.length - 1]! |= d << 4, out) : [...out, d]), []);

test('a names table and one install table: each applet in its directory', () => {
  const bin = new Uint8Array([...enc('\x7fELF junk'), 0xff, ...loc(DIRS), 0xff, ...enc(`xx\0${NAMES.join('\0')}\0\0more`)]);
  expect(findAppletNames(bin)).toEqual(NAMES);
  expect(findInstallDirs(bin, NAMES)).toEqual(DIRS);
  expect(parseBusyboxApplets(bin)).toContain('/sbin/switch_root');
  expect(parseBusyboxApplets(bin)).toContain('/usr/bin/[');
});

test('two candidate install tables: the fallback table places the applets, never a guess', () => {
  const bin = new Uint8Array([0xff, ...loc(DIRS), 0xff, ...loc(DIRS), 0xff, ...enc(`\0${NAMES.join('\0')}\0\0`)]);
  expect(findInstallDirs(bin, NAMES)).toBeUndefined();
  expect(parseBusyboxApplets(bin)).toEqual(['/bin/[', '/bin/[[', '/bin/ash', '/bin/cat', '/bin/ls', '/sbin/modprobe', '/bin/sh', '/sbin/switch_root', '/bin/zcat']);
});

test('no names table, or names out of order: undefined (the build then fails, never an empty list)', () => {
  expect(parseBusyboxApplets(enc('#!/bin/sh\necho BusyBox v1.36.1\n'))).toBeUndefined();
  expect(findAppletNames(enc(`\0[\0[[\0zz\0aa\0bb\0cc\0dd\0ee\0ff\0\0`))).toBeUndefined();
});

/** Every maximal run of small-nibble bytes at least `len` long, found byte by byte. */
function bruteRuns(bin: Uint8Array, len: number): [number, number][] {
  const out: [number, number][] = [];
  let from = -1;
  for (let i = 0; i <= bin.length; i++) {
    const ok = i < bin.length && (bin[i]! & 15) <= 4 && bin[i]! >> 4 <= 4;
    if (ok && from < 0) from = i;
    if (!ok && from >= 0) {
      if (i - from >= len) out.push([from, i]);
      from = -1;
    }
  }
  return out;
}

test('runsOfSmallNibbles finds what a byte-by-byte scan finds (runs at either end, exactly len long, adjacent to a probe)', () => {
  const cases: [number[], number][] = [
    [[0x11, 0x22, 0x33, 0xff, 0x44], 3],
    [[0xff, 0x11, 0x22, 0x33], 3],
    [[0x11, 0x22, 0x33, 0x44, 0x00, 0x12], 6],
    [[0x11, 0xff, 0x22, 0x33, 0xff, 0x44, 0x01], 2],
    [[0xff, 0xff, 0x10, 0x20, 0xff], 2],
    [[], 1],
    [[0x05, 0x50], 1],
  ];
  for (const [bytes, len] of cases) expect(runsOfSmallNibbles(new Uint8Array(bytes), len)).toEqual(bruteRuns(new Uint8Array(bytes), len));
  // random buffers of mostly small nibbles, so that runs of every length occur
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 200; k++) {
    const bin = Uint8Array.from({ length: 1 + Math.floor(rand() * 300) }, () => (rand() < 0.85 ? Math.floor(rand() * 5) * 17 : 0xff));
    const len = 1 + Math.floor(rand() * 12);
    expect(runsOfSmallNibbles(bin, len)).toEqual(bruteRuns(bin, len));
  }
});
