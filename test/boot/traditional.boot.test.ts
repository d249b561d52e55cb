// SPDX-License-Identifier: GPL-2.0-or-later
// SPEC §2, the traditional root: root= in every syntax, ro/rw, init=, shell/maint break points,
// two compressions, and a missing root ending in the fatal line and a working rescue shell.
import { beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { boot, canBoot, section } from './qemu.ts';
import { IDS, makeExt4, makeGptDisk, makeGuestRoot, randomToken, tempDir } from './disks.ts';
import { buildImage } from './build.ts';

const END = /=== end\n/;
let dir = '';
let token = '';
let zstdImg = '';
let gzipImg = '';
let rootImg = '';
let gptImg = '';
let ext2Img = '';

describe.if(canBoot)('traditional root (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('trad');
    token = randomToken();
    makeGuestRoot(join(dir, 'tree'), token, {
      'show-rw': 'touch /rw-probe 2>/dev/null && echo ROOT-IS-RW || echo ROOT-IS-RO',
    });
    // init= target: proves the named program ran, then hands over to the usual guest init.
    Bun.write(join(dir, 'tree/sbin/alt-init'), '#!/bin/sh\necho ALT-INIT-RAN\nexec /sbin/init\n');
    Bun.spawnSync(['chmod', '755', join(dir, 'tree/sbin/alt-init')]);
    rootImg = join(dir, 'root.img');
    makeExt4(join(dir, 'tree'), rootImg, IDS.root);
    // blkid calls this ext2; only a honoured rootfstype=ext4 mounts it as ext4.
    ext2Img = join(dir, 'ext2.img');
    makeExt4(join(dir, 'tree'), ext2Img, { ...IDS.root, type: 'ext2' });
    gptImg = join(dir, 'gpt.img');
    makeGptDisk(rootImg, gptImg);
    zstdImg = buildImage(join(dir, 'zstd.img'));
    gzipImg = buildImage(join(dir, 'gzip.img'), '--compress', 'gzip');
  });

  const bootRoot = (initrd: string, append: string, disk = rootImg) =>
    boot({ initrd, append, disks: [{ file: disk }], until: END });

  test('root=/dev/vda, zstd: the root init runs, read-only by default', async () => {
    const r = await bootRoot(zstdImg, 'root=/dev/vda test.action=show-rw');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'pid').trim()).toBe('1');
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/vda \/ ext4 ro[, ]/m);
    const state = section(r.console, 'state').trim().split('\n');
    expect(state).toEqual(expect.arrayContaining(['mode=traditional', 'root=/dev/vda', 'rootdev=/dev/vda', 'rootfstype=ext4']));
    expect(section(r.console, 'action')).toContain('ROOT-IS-RO');
    const phases = section(r.console, 'timings').trim().split('\n').map((l) => l.split(' ')[0]);
    expect(phases).toEqual(['init', 'stage2', 'early', 'devices', 'mount', 'pre-pivot', 'switch_root']);
  });

  test('root=LABEL= rw rootflags=: read-write with the flags', async () => {
    const r = await bootRoot(zstdImg, `root=LABEL=${IDS.root.label} rw rootflags=noatime test.action=show-rw`);
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/vda \/ ext4 rw,noatime/m);
    expect(section(r.console, 'action')).toContain('ROOT-IS-RW');
  });

  test('root=UUID= rootfstype=ext4 on an ext2 filesystem, init=/sbin/alt-init', async () => {
    const r = await bootRoot(zstdImg, `root=UUID=${IDS.root.uuid} rootfstype=ext4 init=/sbin/alt-init`, ext2Img);
    expect(r.console).toContain('ALT-INIT-RAN');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/vda \/ ext4 ro/m);
    const state = section(r.console, 'state').trim().split('\n');
    expect(state).toEqual(expect.arrayContaining([`root=UUID=${IDS.root.uuid}`, 'rootfstype=ext4']));
  });

  test('without rootfstype= the type is detected (ext2)', async () => {
    const r = await bootRoot(zstdImg, 'root=/dev/vda', ext2Img);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/vda \/ ext2 ro/m);
    expect(section(r.console, 'state')).toContain('rootfstype=ext2');
  });

  test('gzip image, root=PARTUUID= on a GPT disk', async () => {
    const r = await bootRoot(gzipImg, `root=PARTUUID=${IDS.part.partuuid}`, gptImg);
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/vda1 \/ ext4 ro/m);
  });

  test('root=PARTLABEL=, with the shell and maint break points', async () => {
    const r = await boot({
      initrd: zstdImg,
      append: `root=PARTLABEL=${IDS.part.partlabel} shell maint`,
      disks: [{ file: gptImg }],
      until: END,
      interact: [
        { when: /shell requested[^]*# /, text: 'echo EARLY-SHELL-$((20+1)); exit\n' },
        { when: /maint: leave this shell[^]*# /, text: "echo MAINT-$(grep -c ' /sysroot ext4 ' /proc/mounts); exit\n" },
      ],
    });
    expect(r.console).toContain('EARLY-SHELL-21');
    // maint runs once the root is mounted, just before switch_root.
    expect(r.console).toContain('MAINT-1\n');
    expect(r.console.indexOf('EARLY-SHELL-21')).toBeLessThan(r.console.indexOf('mounted PARTLABEL='));
    expect(section(r.console, 'token').trim()).toBe(token);
  });

  test('a missing root device: fatal line on console, kmsg and state; leaving the rescue shell starts another', async () => {
    const fatal = 'device /dev/vdz not found after 2 seconds';
    const r = await boot({
      initrd: zstdImg,
      append: 'root=/dev/vdz rootdelay=2',
      disks: [{ file: rootImg }],
      until: /RESCUE-42-END/,
      interact: [
        { when: /starting rescue shell[^]*# /, text: 'exit\n' },
        {
          when: /starting rescue shell[^]*# /,
          text: `echo KMSG-$(dmesg | grep -c 'ruckusrd: fatal: ${fatal}') STATE-$(grep -c '^fatal=${fatal}$' /run/ruckusrd/state) RESCUE-$((6*7))-END\n`,
        },
      ],
    });
    expect(r.fatal).toBe(`ruckusrd: fatal: ${fatal}`);
    expect(r.console.match(/ruckusrd: starting rescue shell/g)?.length).toBeGreaterThanOrEqual(2);
    expect(r.console).toContain('KMSG-1 STATE-1 RESCUE-42-END');
    expect(r.console).not.toContain('Kernel panic');
    expect(r.timedOut).toBe(false);
  });

  test('no rootdelay=: the default wait is bounded (10 s of guest time, not 100 tries), then fatal', async () => {
    const r = await boot({
      initrd: zstdImg,
      append: 'root=/dev/vdz verbose',
      disks: [{ file: rootImg }],
      until: /UPTIME-[\d.]+-END/,
      interact: [{ when: /starting rescue shell[^]*# /, text: 'echo UPTIME-$(cut -d" " -f1 /proc/uptime)-END\n' }],
    });
    expect(r.fatal).toBe('ruckusrd: fatal: device /dev/vdz not found after 10 seconds');
    const mountPhase = Number(/ruckusrd: phase mount at ([\d.]+)/.exec(r.console)?.[1]);
    const rescue = Number(/UPTIME-([\d.]+)-END/.exec(r.console)?.[1]);
    // A contract bound, not a benchmark: each try loads drivers, so a count of tries overshoots.
    expect(rescue - mountPhase).toBeGreaterThanOrEqual(10);
    expect(rescue - mountPhase).toBeLessThan(14);
  });

  test('rootwait: waits past rootdelay= for a missing device, without a fatal', async () => {
    // 12 s after the mount phase began, the boot is still waiting: the 2 s bound would have ended it
    // long before. Counted from the phase line, not from QEMU's start: a loaded host may take 30 s to
    // reach /init. The line typed then comes back as the console's echo (nothing reads it).
    const r = await boot({
      initrd: zstdImg, append: 'root=/dev/vdz rootdelay=2 rootwait verbose', disks: [{ file: rootImg }],
      interact: [{ when: /ruckusrd: phase mount at/, text: 'STILL-WAITING\n', delayMs: 12_000 }],
      until: /STILL-WAITING/, timeoutMs: 600_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.console).toContain('ruckusrd: phase mount at');
    expect(r.console).toContain('STILL-WAITING');
    expect(r.fatal).toBeUndefined();
    expect(r.console).not.toContain('Kernel panic');
  });

  test('an invalid value is fatal before anything is mounted', async () => {
    const r = await boot({
      initrd: zstdImg,
      append: 'root=/dev/vda rootdelay=soon',
      disks: [{ file: rootImg }],
      until: /RESCUE-42/,
      interact: [{ when: /rescue shell[^]*# /, text: 'grep -c sysroot /proc/mounts; echo RESCUE-$((6*7))\n' }],
    });
    expect(r.console).toContain('ruckusrd: fatal: invalid value for rootdelay from cmdline: soon');
    expect(r.console).toMatch(/\n0\n[^]*RESCUE-42/);
  });
});
