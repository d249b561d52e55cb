// SPDX-License-Identifier: GPL-2.0-or-later
// The rest of RuckusRD's boot parameters (SPEC §2): quiet, verbose, modules-early, blacklist,
// fwdev, modinject, hoststamp, initramsys; /run/ruckusrd/params; the other compressions and
// storage-all booted for real.
import { beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './build.ts';
import { makeExt4, randomToken, tempDir } from './disks.ts';
import { makeLayerTrees, makeSquashfs } from './layers.ts';
import { boot, canBoot, kernel, section } from './qemu.ts';

const END = /=== end\n/;
let img = '';
let rootDisk = '';
let fwDisk = '';
let tradDisk = '';
let modsDisk = '';
let dir = '';
let token = '';

const report = (consoleText: string, key: string) =>
  new RegExp(`^${key}=(.*)$`, 'm').exec(section(consoleText, 'action'))?.[1]?.trim();

const REPORT = `
echo "ISOFS=$(grep -c '^isofs ' /proc/modules)"
echo "KMODS=$(ls /lib/modules 2>/dev/null)"
# modinject hands over modules the root's kmod reads: no gzip'd ones (Debian's kmod has no zlib), and
# modules.dep names files that exist.
cd /lib/modules/$(uname -r) 2>/dev/null && echo "INJECTED=$(find . -name '*.ko.gz' | wc -l)-$(cut -d: -f1 modules.dep | while read -r p; do [ -f "$p" ] || echo "$p"; done | wc -l)-$(grep -c '/isofs\.ko' modules.dep)"; cd /
echo "KVERFILES=$(ls /lib/modules/$(uname -r) 2>/dev/null | tr '\\n' ' ')"
echo "PARAMS=$(ls /run/ruckusrd/params | tr '\\n' ' ')"
echo "LAYERSPARAM=$(cat /run/ruckusrd/params/sqsh_layers 2>/dev/null)"
echo "HOST=$(cat /etc/hostname)"
echo "FW=$(cat /lib/firmware/ruckus-test.fw 2>/dev/null)"
`;

describe.if(canBoot)('RuckusRD parameters (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('params');
    token = randomToken();
    const trees = makeLayerTrees(dir, token);
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
    // Traditional roots, read-write: one without kernel modules, one that has its own.
    tradDisk = join(dir, 'trad.img');
    makeExt4(trees.base, tradDisk, {});
    mkdirSync(join(trees.base, `lib/modules/${kernel!.version}`), { recursive: true });
    writeFileSync(join(trees.base, `lib/modules/${kernel!.version}/the-roots-own`), 'x\n');
    modsDisk = join(dir, 'mods.img');
    makeExt4(trees.base, modsDisk, {});
  });

  test('quiet modules-early= modinject hoststamp fwdev= on a layered root', async () => {
    const r = await boot({
      initrd: img,
      append: 'root=/dev/vda sqsh_layers=extra:server:base rw quiet modules-early=isofs modinject hoststamp fwdev=/dev/vdz,LABEL=fw-disk test.action=report',
      disks: [{ file: rootDisk }, { file: fwDisk, readonly: true }],
      until: END,
    });
    expect(report(r.console, 'ISOFS')).toBe('1');
    // isofs is cold (.ko.gz/.ko.xz): decompressed before insmod, so the kernel never refuses a
    // compressed file on the console (KERN_ERR shows even with quiet)
    expect(r.console).not.toContain('Invalid ELF header magic');
    expect(report(r.console, 'KMODS')).toBe(kernel!.version);
    expect(report(r.console, 'INJECTED')).toBe('0-0-1');
    expect(report(r.console, 'HOST')).toMatch(/^guest-\d+$/);
    expect(report(r.console, 'FW')).toBe('firmware-blob-1');
    // Every accepted parameter, and only those (console=, test.action= are not ours), with its value.
    expect(report(r.console, 'PARAMS')!.split(' ').filter((n) => !n.endsWith('.cmdline'))).toEqual(
      ['fwdev', 'hoststamp', 'modinject', 'modules-early', 'quiet', 'root', 'rw', 'sqsh_layers'],
    );
    expect(report(r.console, 'LAYERSPARAM')).toBe('extra:server:base');
    expect(r.console).not.toMatch(/ruckusrd: (mounted|assembled)/);
    const state = section(r.console, 'state');
    expect(state).toMatch(/fwdev=\/dev\/vdb/);
    expect(state).toContain(`modinject=${kernel!.version}`);
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

  test('modinject never replaces the modules a root already has (lz4 image)', async () => {
    const lz4 = buildImage(join(dir, 'lz4.img'), '--compress', 'lz4');
    const r = await boot({ initrd: lz4, append: 'root=/dev/vda rw modinject test.action=report', disks: [{ file: modsDisk }], until: END });
    expect(report(r.console, 'KVERFILES')).toBe('the-roots-own');
    expect(section(r.console, 'state')).not.toContain('modinject=');
  });

  test('storage-all boots, and holds drivers the default image lacks (asked in the maint shell)', async () => {
    const all = buildImage(join(dir, 'all.img'), '--add', 'storage-all');
    const r = await boot({
      initrd: all,
      append: 'root=/dev/vda maint',
      disks: [{ file: tradDisk }],
      until: END,
      // dm's zero target is in no default module's driver set: only storage-all brings it.
      // cryptsetup, lvm and mdadm are kept in the cold archive: their stubs unpack it on first use
      interact: [{
        when: /maint: leave this shell[^]*# /,
        text: "echo DMZERO-$(find /lib/modules -name 'dm-zero.ko*' | wc -l)-END; " +
          "cryptsetup --version >/dev/null && lvm version >/dev/null && mdadm --version 2>/dev/null; " +
          "echo COLD-$?-$(head -c 4 /usr/sbin/lvm | tail -c 3)-$(ls /run/ruckusrd/cold.done)-END; exit\n",
      }],
    });
    expect(r.console).toContain('DMZERO-1-END');
    expect(r.console).toContain('COLD-0-ELF-/run/ruckusrd/cold.done-END');
    expect(section(r.console, 'state')).toContain('mode=traditional');
  });

  test.each(['xz', 'none'])('a %s image boots', async (alg) => {
    const image = buildImage(join(dir, `${alg}.img`), '--compress', alg);
    const r = await boot({ initrd: image, append: 'root=/dev/vda test.action=report', disks: [{ file: tradDisk }], until: END });
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'state')).toContain('mode=traditional');
  });
});
