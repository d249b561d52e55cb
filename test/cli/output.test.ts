// SPDX-License-Identifier: GPL-2.0-or-later
// What a build writes and warns about, seen from outside the compiled binary: the /boot second
// stage is renamed into place before OUT is linked (strace shows the order), and an optional binary missing
// from the base is a warning naming the module, not a silent gap.
import { describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, symlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, missing, testNeeding } from '../unit/need.ts';
import { BIN, CAN_OVERLAY, freshDir, KARG, KVER, runInBase, sh, useScratch } from './helpers.ts';

useScratch();

describe('the /boot second stage and OUT', () => {
  testNeeding([...missing('strace'), ...(KVER ? [] : ['an installed kernel'])], 'the second stage is renamed into place before OUT', () => {
    const cwd = freshDir('order');
    const argv = [BIN, '--kernel', KARG, '--modules', 'base', '--second-stage', 'erofs', '--second-stage-placement', 'boot', 'out.img'];
    const r = Bun.spawnSync(['strace', '-f', '-qq', '-e', 'trace=rename,renameat,renameat2,link,linkat', '-o', 'trace', ...argv], { cwd, stderr: 'pipe' });
    expect(r.exitCode).toBe(0);
    // A new OUT is published with link() (create, never replace: see build-faults.test.ts). The
    // caches' entries (src/host/*-cache.ts, in the cache home) are renamed into place too: not counted.
    const moves = readFileSync(join(cwd, 'trace'), 'utf8').split('\n')
      .filter((l) => /rename|link/.test(l) && / = 0$/.test(l) && l.includes('out.img'));
    expect(moves).toHaveLength(2);
    expect(moves[0]).toMatch(/rename.*"out\.img\.stage2-[0-9a-f]{16}"/);
    expect(moves[1]).toMatch(/link.*"out\.img"/);
  });
});

const needs = [...(CAN_OVERLAY ? [] : ['root and overlay mounts (unshare -m)']), ...(KVER ? [] : ['an installed kernel'])];

describeNeeding(needs, 'a base without an optional binary', () => {
  test("the build warns, naming the module and the binary, and still succeeds", () => {
    const base = freshDir('nob');
    mkdirSync(join(base, 'usr'));
    mkdirSync(join(base, 'etc'));
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(base, d));
    for (const f of ['ld.so.conf', 'ld.so.conf.d']) if (existsSync(`/etc/${f}`)) sh(['cp', '-a', `/etc/${f}`, join(base, 'etc/')]);
    // An overlay whiteout (a 0/0 character device) in the upper layer hides the host's blkid.
    const extra = freshDir('nob-usr');
    mkdirSync(join(extra, 'sbin'));
    expect(sh(['mknod', join(extra, 'sbin/blkid'), 'c', '0', '0']).ok).toBe(true);
    const cwd = freshDir('nob-out');
    const r = runInBase(base, extra, ['--kernel', KARG, '--no-ucode', 'out.img'], cwd);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("mkruckus: warning: module 'rootfs': optional binary blkid not in the base\n");
    expect(existsSync(join(cwd, 'out.img'))).toBe(true);
  });
});
