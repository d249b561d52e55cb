// SPDX-License-Identifier: GPL-2.0-or-later
// The busybox applet reader against the reference: `busybox --list-full` of the host's busybox
// (run here, by the test, never by the builder), plus tables made by hand.
import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { busyboxVersion, findAppletNames, findInstallDirs, parseBusyboxApplets } from '../../src/core/busybox.ts';
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
