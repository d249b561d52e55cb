// SPDX-License-Identifier: GPL-2.0-or-later
// --hostonly images boot the machine they describe: the facts of a root on a virtio disk and of a
// root on a SATA disk behind QEMU's AHCI controller (test/cli/sysfs.ts, what those guests' /proc and
// /sys show), each image built from them and booted on that very disk interface. Each image lacks
// the other interface's driver, so only the detection explains the boot.
import { beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { BIN, ensureBinary } from '../binary.ts';
import { makeSysfs, type Iface } from '../cli/sysfs.ts';
import { IDS, makeExt4, makeGuestRoot, randomToken, run, tempDir } from './disks.ts';
import { boot, canBoot, kernel, section } from './qemu.ts';

const END = /=== end\n/;
let dir = '';
let token = '';
let rootImg = '';

function hostonlyImage(iface: Iface): { image: string; device: string } {
  const sys = join(dir, `sys-${iface}`);
  const device = makeSysfs(sys, iface);
  const image = join(dir, `${iface}.img`);
  const r = Bun.spawnSync([BIN, '--kernel', kernel!.version, '--hostonly', '--force', image], {
    env: { ...process.env, MKRUCKUS_HOSTONLY_ROOT: sys }, stdout: 'pipe', stderr: 'pipe',
  });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return { image, device };
}

const modulesOf = (image: string): string => run([BIN, 'inspect', image]);

describe.if(canBoot)('--hostonly (QEMU)', () => {
  beforeAll(() => {
    ensureBinary();
    dir = tempDir('hostonly');
    token = randomToken();
    makeGuestRoot(join(dir, 'tree'), token);
    rootImg = join(dir, 'root.img');
    makeExt4(join(dir, 'tree'), rootImg, IDS.root);
  });

  test.each(['virtio', 'ahci'] as const)('a root on %s: the host-only image boots it', async (iface) => {
    const { image, device } = hostonlyImage(iface);
    const listing = modulesOf(image);
    expect(listing).toContain(iface === 'virtio' ? '/virtio_blk.ko' : '/ahci.ko');
    expect(listing).not.toContain(iface === 'virtio' ? '/ahci.ko' : '/virtio_blk.ko');
    const r = await boot({ initrd: image, append: `root=${device}`, disks: [{ file: rootImg, iface }], until: END, timeoutMs: 240_000 });
    expect(r.fatal).toBeUndefined();
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'state')).toContain(`rootdev=${device}`);
  }, 300_000);
});
