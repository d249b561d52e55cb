// SPDX-License-Identifier: GPL-2.0-or-later
// Boot values that must never end PID 1 (issue 12): each hostile value is a `ruckusrd: fatal:` line
// and a rescue shell, never "Kernel panic" / "Attempted to kill init"; the environment the kernel
// fills is never read; paths of the new root resolve inside it (init=, modinject, hoststamp);
// layer values are refused before anything is mounted; legacy /squashfs.img with to_ram.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './build.ts';
import { makeExt4, makeGuestRoot, randomToken, run, tempDir } from './disks.ts';
import { makeSquashfs } from './layers.ts';
import { boot, canBoot, kernel, section, type BootResult } from './qemu.ts';

const END = /=== end\n/;
let dir = '';
let img = '';
let rootDisk = '';
let legacyDisk = '';
let token = '';

const REPORT = `
echo "HOST=$(cat /etc/hostname)"
echo "USRMODS=$(ls /usr/lib/modules 2>/dev/null | tr '\\n' ' ')"
echo "TRUE=$(grep -c ' /mnt/root-true ' /proc/mounts)"
`;
const report = (r: BootResult, key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(section(r.console, 'action'))?.[1]?.trim();

function noPanic(r: BootResult): void {
  expect(r.console).not.toContain('Kernel panic');
  expect(r.console).not.toContain('Attempted to kill init');
}

/** Boots root.img (layers) or, for `trad`, the plain root; the first fatal line. */
async function fatalOf(append: string): Promise<string | undefined> {
  const disk = append.includes('sqsh_layers') ? rootDisk : join(dir, 'trad.img');
  const r = await boot({ initrd: img, append, disks: [{ file: disk }] });
  noPanic(r);
  return r.fatal;
}

describe.if(canBoot)('hardening (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('hardening');
    token = randomToken();
    // A root whose /lib is an absolute symlink (lib -> /usr/lib, as on usr-merged systems) and whose
    // init links are absolute: followed from the initramfs they would name its files instead.
    const tree = join(dir, 'tree');
    makeGuestRoot(tree, token, { report: REPORT });
    mkdirSync(join(tree, 'usr/lib'), { recursive: true });
    symlinkSync('/usr/lib', join(tree, 'lib'));
    copyFileSync(join(tree, 'sbin/init'), join(tree, 'usr/lib/guest-init'));
    run(['chmod', '755', join(tree, 'usr/lib/guest-init')]);
    symlinkSync('/usr/lib/guest-init', join(tree, 'sbin/init-abs'));
    // /usr/bin/busybox exists in the initramfs, not in this root (its busybox is /bin/busybox).
    symlinkSync('/usr/bin/busybox', join(tree, 'sbin/dangle'));
    writeFileSync(join(tree, 'etc/hostname'), 'layerhost\n');
    const top = join(dir, 'rootdev');
    mkdirSync(join(top, 'upper/upper'), { recursive: true });
    makeSquashfs(tree, join(top, 'base.sqsh'));
    rootDisk = join(dir, 'root.img');
    makeExt4(tree, join(dir, 'trad.img'), {});
    makeExt4(top, rootDisk, {});
    const legacyTop = join(dir, 'legacy');
    mkdirSync(legacyTop);
    makeSquashfs(tree, join(legacyTop, 'squashfs.img'));
    legacyDisk = join(dir, 'legacy.img');
    makeExt4(legacyTop, legacyDisk, {});
    img = buildImage(join(dir, 'initrd.img'));
  });

  test('the kernel-filled environment is ignored; an absolute init link, modinject and hoststamp resolve in the new root', async () => {
    // RD_PARAM_LIST=/dev/null from the environment would make root= unknown ("no root=").
    const r = await boot({
      initrd: img,
      append: 'root=/dev/vda rw RD_PARAM_LIST=/dev/null RD_CMDLINE=/dev/null init=/sbin/init-abs modinject hoststamp test.action=report',
      disks: [{ file: join(dir, 'trad.img') }],
      until: END,
    });
    noPanic(r);
    expect(r.fatal).toBeUndefined();
    expect(section(r.console, 'token').trim()).toBe(token);
    const state = section(r.console, 'state');
    expect(state).toContain(`modinject=${kernel!.version} /usr/lib/modules`);
    expect(report(r, 'USRMODS')).toBe(kernel!.version);
    expect(report(r, 'HOST')).toMatch(/^layerhost-\d{10}$/);
  });

  test.each([
    ['root=/dev/vda rootdelay=08', 'ruckusrd: fatal: invalid value for rootdelay from cmdline: 08'],
    ['root=/dev/vda init=/etc', 'ruckusrd: fatal: init /etc is not an executable file on the root filesystem'],
    // A dangling link (/sbin/dangle -> /usr/bin/busybox, only in the initramfs) is test/shell/newroot.test.ts's.
    ['root=/dev/vda sqsh_layers=base:base', 'ruckusrd: fatal: layer base is named twice in sqsh_layers'],
    ['root=/dev/vda sqsh_layers=base overlayflags=index=off,lowerdir=/sysroot', 'ruckusrd: fatal: overlayflags may not set lowerdir: the layers are sqsh_layers and the upper'],
    ['root=/dev/vda sqsh_layers=upper:base ram_layer=32M', 'ruckusrd: fatal: layer upper: the name is taken by the persistent upper (upper/upper) on the root device'],
  ])('%s is fatal, not a panic', async (append, line) => {
    expect(await fatalOf(append)).toBe(line);
  });

  test('hoststamp with a persistent upper stamps the layer\'s name once, boot after boot', async () => {
    const disk = join(dir, 'stamp.img');
    copyFileSync(rootDisk, disk);
    const hosts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await boot({ initrd: img, append: 'root=/dev/vda sqsh_layers=base hoststamp test.action=report', disks: [{ file: disk }], until: END });
      noPanic(r);
      expect(r.fatal).toBeUndefined();
      hosts.push(report(r, 'HOST') ?? '');
    }
    expect(hosts[0]).toMatch(/^layerhost-\d{10}$/);
    expect(hosts[1]).toMatch(/^layerhost-\d{10}$/);
  });

  test('legacy /squashfs.img with ram_layer and to_ram is copied to RAM and the root device released', async () => {
    const r = await boot({ initrd: img, append: 'root=/dev/vda ram_layer=64M to_ram test.action=report', disks: [{ file: legacyDisk }], until: END });
    noPanic(r);
    expect(r.fatal).toBeUndefined();
    expect(section(r.console, 'token').trim()).toBe(token);
    const state = section(r.console, 'state');
    expect(state).toContain('layer=squashfs squashfs /mnt/sqsh_layerdev/squashfs.img /mnt/sqsh_layer-squashfs');
    expect(state).toContain('to_ram=1');
    expect(report(r, 'TRUE')).toBe('0');
  });
});
