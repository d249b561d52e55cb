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

  test('root=UUID= rootfstype=ext4 init=/sbin/alt-init', async () => {
    const r = await bootRoot(zstdImg, `root=UUID=${IDS.root.uuid} rootfstype=ext4 init=/sbin/alt-init`);
    expect(r.console).toContain('ALT-INIT-RAN');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'state')).toContain(`root=UUID=${IDS.root.uuid}`);
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
        { when: /maint: leave this shell[^]*# /, text: 'grep -c sysroot /proc/mounts; echo MAINT-$((40+2)); exit\n' },
      ],
    });
    expect(r.console).toContain('EARLY-SHELL-21');
    expect(r.console).toContain('MAINT-42');
    expect(r.console.indexOf('EARLY-SHELL-21')).toBeLessThan(r.console.indexOf('mounted PARTLABEL='));
    expect(section(r.console, 'token').trim()).toBe(token);
  });

  test('a missing root device: the fatal line and a rescue shell, no panic', async () => {
    const r = await boot({
      initrd: zstdImg,
      append: 'root=/dev/vdz rootdelay=2',
      disks: [{ file: rootImg }],
      until: /RESCUE-42/,
      interact: [{ when: /rescue shell[^]*# /, text: 'echo RESCUE-$((6*7))\n' }],
    });
    expect(r.console).toContain('ruckusrd: fatal: device /dev/vdz not found after 2 seconds');
    expect(r.console).toContain('RESCUE-42');
    expect(r.console).not.toContain('Kernel panic');
    expect(r.timedOut).toBe(false);
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
