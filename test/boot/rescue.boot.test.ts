// SPDX-License-Identifier: GPL-2.0-or-later
// Rescue shell policy (issue 12 item 10) on a real PID 1: --rescue-shell off reboots after a fatal
// error (no shell, no panic) and rescue=open on the command line cannot reopen it; init= is
// ignored where shells are not open; --rescue-shell password asks for root's password (taken from
// the base's /etc/shadow: the base here is the host's / with an overlay holding a test password),
// checked by busybox's sulogin for a SHA-512 hash and by the base's util-linux sulogin (libcrypt)
// for yescrypt, Debian 12's default.
import { afterAll, beforeAll, expect } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, testNeeding } from '../unit/need.ts';
import { buildImage } from './build.ts';
import { makeExt4, makeGuestRoot, randomToken, run, tempDir } from './disks.ts';
import { boot, canBoot, section } from './qemu.ts';

const PASSWORD = 'rescue-pw-42';
let dir = '';
let offImg = '';
let pwImg = '';
let yesImg = '';
let rootDisk = '';
let token = '';
let mounted: string[] = [];

const noPanic = (text: string) => {
  expect(text).not.toContain('Kernel panic');
  expect(text).not.toContain('Attempted to kill init');
};

/** root's hash of PASSWORD: SHA-512 by busybox, yescrypt by the host's libcrypt (perl's crypt()). */
function hashOf(kind: 'sha512' | 'yescrypt'): string {
  if (kind === 'sha512') return run(['busybox', 'mkpasswd', '-m', 'sha512', PASSWORD, 'rescuesalt']).trim();
  const hash = run(['perl', '-e', 'print crypt($ARGV[0], q($y$j9T$F5Jx5fExrKuPp53xLKQ..1$))', PASSWORD]).trim();
  if (!hash.startsWith('$y$')) throw new Error(`no yescrypt from the host's libcrypt: ${hash}`);
  return hash;
}

/** The host's / as a base whose /etc/shadow has root's password set (a tmpfs upper; nothing of the host changes). */
function baseWithPassword(kind: 'sha512' | 'yescrypt'): string {
  const t = join(dir, `ovl-${kind}`);
  mkdirSync(t);
  run(['mount', '-t', 'tmpfs', 'tmpfs', t]);
  mounted.push(t);
  mkdirSync(join(t, 'upper/etc'), { recursive: true });
  mkdirSync(join(t, 'work'));
  writeFileSync(join(t, 'upper/etc/shadow'), `root:${hashOf(kind)}:20000:0:99999:7:::\n`, { mode: 0o600 });
  const base = join(dir, `base-${kind}`);
  mkdirSync(base);
  run(['mount', '-t', 'overlay', '-o', `lowerdir=/,upperdir=${t}/upper,workdir=${t}/work`, 'overlay', base]);
  mounted.unshift(base);
  return base;
}

const needs = [...(canBoot ? [] : ['QEMU and a kernel']), ...(process.getuid?.() === 0 ? [] : ['root (overlay and tmpfs mounts)'])];

describeNeeding(needs, 'rescue shell policy (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('rescue');
    token = randomToken();
    const tree = join(dir, 'tree');
    makeGuestRoot(tree, token);
    rootDisk = join(dir, 'root.img');
    makeExt4(tree, rootDisk, {});
    offImg = buildImage(join(dir, 'off.img'), '--rescue-shell', 'off');
    pwImg = buildImage(join(dir, 'pw.img'), '--base', baseWithPassword('sha512'), '--rescue-shell', 'password');
    yesImg = buildImage(join(dir, 'yes.img'), '--base', baseWithPassword('yescrypt'), '--rescue-shell', 'password');
  });
  afterAll(() => {
    for (const m of mounted) Bun.spawnSync(['umount', m]);
    mounted = [];
  });

  testNeeding([], 'off: a fatal error reboots after 10 s, rescue=open and shell cannot bring a shell back', async () => {
    const r = await boot({
      initrd: offImg,
      append: 'root=/dev/vdz rootdelay=1 rescue=open shell',
      // Nothing to type: the pending entry keeps boot() from stopping at the fatal line; the VM ends by itself.
      interact: [{ when: /never-printed-by-anyone/, text: '' }],
      timeoutMs: 120_000,
    });
    noPanic(r.console);
    expect(r.timedOut).toBe(false);
    expect(r.console).toContain('ruckusrd: no console shell (rescue policy: off)');
    expect(r.fatal).toBe('ruckusrd: fatal: device /dev/vdz not found after 1 seconds');
    expect(r.console).toContain('ruckusrd: no rescue shell (policy off): rebooting in 10 seconds');
    expect(r.console).toContain('reboot: Restarting system');
    expect(r.console).not.toContain('starting rescue shell');
  });

  testNeeding([], 'off: init=/bin/sh is ignored, the root\'s /sbin/init runs', async () => {
    const r = await boot({ initrd: offImg, append: 'root=/dev/vda init=/bin/sh', disks: [{ file: rootDisk }], until: /=== end\n/ });
    noPanic(r.console);
    expect(r.console).toContain('ruckusrd: warning: init=/bin/sh ignored: console shells are off (rescue policy)');
    expect(section(r.console, 'token').trim()).toBe(token);
  });

  testNeeding([], 'password: a wrong password gives no shell, root\'s password does', async () => {
    const r = await boot({
      initrd: pwImg,
      append: 'root=/dev/vdz rootdelay=1',
      until: /ANSWER-42-END/,
      interact: [
        // Each line a moment after its prompt: sulogin flushes the terminal's input as it prompts,
        // and a line typed as the prompt shows was cut in two (flushed, then read; CI stop 21).
        { when: /Control-D[^\n]*: ?/, text: 'wrong-password\n', delayMs: 1500 },
        // a command at the next prompt is read as a password, never run
        { when: /Login incorrect[^]*?Control-D[^\n]*: ?/, text: 'echo ANSWER-$((6*7))-WRONG\n', delayMs: 1500 },
        { when: /Login incorrect[^]*?Control-D[^\n]*: ?/, text: `${PASSWORD}\n`, delayMs: 1500 },
        { when: /starting shell for system maintenance[^]*\/ # /, text: 'echo ANSWER-$((6*7))-END\n' },
      ],
      timeoutMs: 180_000,
    });
    noPanic(r.console);
    expect(r.fatal).toBe('ruckusrd: fatal: device /dev/vdz not found after 1 seconds');
    expect(r.console).not.toContain('ANSWER-42-WRONG');
    expect(r.console).toContain('ANSWER-42-END');
  });

  testNeeding([], 'password with a yescrypt hash: the base\'s util-linux sulogin checks it', async () => {
    const r = await boot({
      initrd: yesImg,
      append: 'root=/dev/vdz rootdelay=1',
      until: /ANSWER-43-END/,
      interact: [
        // util-linux sulogin flushes the terminal's input after its prompt: type a moment later.
        { when: /Control-D[^\n]*: ?/, text: 'wrong-password\n', delayMs: 3000 },
        { when: /Login incorrect/, text: 'echo ANSWER-$((6*7+1))-WRONG\n' },
        { when: /Control-D[^\n]*: ?/, text: `${PASSWORD}\n`, delayMs: 3000 },
        // root's shell (busybox ash, started as a login shell) prints its banner, then the prompt.
        { when: /built-in shell[^]*# /, text: 'echo ANSWER-$((6*7+1))-END\n' },
      ],
      timeoutMs: 180_000,
    });
    noPanic(r.console);
    expect(r.fatal).toBe('ruckusrd: fatal: device /dev/vdz not found after 1 seconds');
    expect(r.console).not.toContain('ANSWER-43-WRONG');
    expect(r.console).toContain('ANSWER-43-END');
  });
});
