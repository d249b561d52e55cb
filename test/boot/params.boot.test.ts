// SPDX-License-Identifier: GPL-2.0-or-later
// The rest of RuckusRD's boot parameters (SPEC §2): quiet, verbose, modules-early, blacklist,
// fwdev, modinject, hoststamp, initramsys.
import { beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './build.ts';
import { makeExt4, randomToken, tempDir } from './disks.ts';
import { makeLayerTrees, makeSquashfs } from './layers.ts';
import { boot, canBoot, section } from './qemu.ts';

const END = /=== end\n/;
let img = '';
let rootDisk = '';
let fwDisk = '';

const REPORT = `
echo "ISOFS=$(grep -c '^isofs ' /proc/modules)"
echo "KMODS=$(ls /lib/modules 2>/dev/null)"
echo "HOST=$(cat /etc/hostname)"
echo "FW=$(cat /lib/firmware/ruckus-test.fw 2>/dev/null)"
`;

describe.if(canBoot)('RuckusRD parameters (QEMU)', () => {
  beforeAll(() => {
    const dir = tempDir('params');
    const trees = makeLayerTrees(dir, randomToken());
    writeFileSync(join(trees.base, 'actions/report'), `#!/bin/sh\n${REPORT}`, { mode: 0o755 });
    writeFileSync(join(trees.base, 'etc/hostname'), 'guest\n');
    mkdirSync(join(trees.base, 'lib/firmware'), { recursive: true });
    const top = join(dir, 'rootdev');
    mkdirSync(top);
    for (const n of ['base', 'server', 'extra'] as const) makeSquashfs(trees[n], join(top, `${n}.sqsh`));
    rootDisk = join(dir, 'root.img');
    makeExt4(top, rootDisk, {});
    const fw = join(dir, 'fw');
    mkdirSync(join(fw, 'tree'), { recursive: true });
    writeFileSync(join(fw, 'tree/ruckus-test.fw'), 'firmware-blob-1\n');
    mkdirSync(join(fw, 'top'));
    makeSquashfs(join(fw, 'tree'), join(fw, 'top/fw.sqsh'));
    fwDisk = join(dir, 'fw.img');
    makeExt4(join(fw, 'top'), fwDisk, { label: 'fw-disk' });
    img = buildImage(join(dir, 'initrd.img'));
  });

  test('quiet modules-early= modinject hoststamp fwdev= on a layered root', async () => {
    const r = await boot({
      initrd: img,
      append: 'root=/dev/vda sqsh_layers=extra:server:base rw quiet modules-early=isofs modinject hoststamp fwdev=/dev/vdz,LABEL=fw-disk test.action=report',
      disks: [{ file: rootDisk }, { file: fwDisk, readonly: true }],
      until: END,
    });
    const report = section(r.console, 'action');
    expect(report).toContain('ISOFS=1');
    expect(report).toMatch(/KMODS=\d+\.\d+\.\d+-\d+-amd64/);
    expect(report).toMatch(/HOST=guest-\d+/);
    expect(report).toContain('FW=firmware-blob-1');
    expect(r.console).not.toMatch(/ruckusrd: (mounted|assembled)/);
    const state = section(r.console, 'state');
    expect(state).toMatch(/fwdev=\/dev\/vdb/);
    expect(state).toMatch(/modinject=/);
  });

  test('blacklist=virtio_blk keeps the root disk away; verbose shows each phase', async () => {
    const r = await boot({
      initrd: img,
      append: 'root=/dev/vda blacklist=virtio_blk rootdelay=2 verbose',
      disks: [{ file: rootDisk }],
      until: /starting rescue shell/,
    });
    expect(r.console).toContain('ruckusrd: phase devices at');
    expect(r.console).toContain('ruckusrd: fatal: device /dev/vda not found after 2 seconds');
  });

  test('initramsys: the initramfs stays the system, with a shell', async () => {
    const r = await boot({
      initrd: img,
      append: 'root=/dev/vda initramsys',
      disks: [{ file: rootDisk }],
      until: /INITRAMSYS-4-\d/,
      interact: [{ when: /initramsys: [^]*# /, text: 'echo INITRAMSYS-$((2+2))-$(grep -c sysroot /proc/mounts)\n' }],
    });
    expect(r.console).toContain('INITRAMSYS-4-0');
  });
});
