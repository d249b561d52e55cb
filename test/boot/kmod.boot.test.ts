// SPDX-License-Identifier: GPL-2.0-or-later
// Driver loading at boot (issue 11): a generic `--add storage-all` image holds hundreds of storage
// and filesystem modules, and /init loads only the drivers of the devices the guest has (its driver
// table against /sys/bus/*/devices/*/modalias), their dependencies, the build's modules-load list and
// the root's filesystem: read from /proc/modules in the guest, against the host's modprobe -R.
import { beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modnameFromPath, resolveKmods } from '../../src/core/kmod.ts';
import { readKmodIndex } from '../../src/host/kmod.ts';
import crypt from '../../modules/crypt/module.ts';
import lvm from '../../modules/lvm/module.ts';
import mdraid from '../../modules/mdraid/module.ts';
import { buildImage, CLI } from './build.ts';
import { makeExt4, makeGuestRoot, randomToken, tempDir } from './disks.ts';
import { boot, canBoot, kernel, section } from './qemu.ts';

const END = /=== end\n/;
const MODPROBE = ['/usr/sbin/modprobe', '/sbin/modprobe'].find(existsSync);
const ACTION = `cut -d' ' -f1 /proc/modules
echo ---
cat /sys/bus/*/devices/*/modalias`;
let dir = '';
let token = '';
let rootImg = '';
let allImg = '';

/** The module names of an image, from `mkruckus inspect --json`. */
function imageModules(img: string): Set<string> {
  const r = spawnSync(CLI, ['inspect', '--json', img]);
  const paths = (JSON.parse(r.stdout.toString()) as { kernelModules: string[] }).kernelModules;
  return new Set(paths.map(modnameFromPath));
}

describe.if(canBoot && MODPROBE !== undefined)('driver table at boot (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('kmod');
    token = randomToken();
    makeGuestRoot(join(dir, 'tree'), token, { modules: ACTION });
    rootImg = join(dir, 'root.img');
    makeExt4(join(dir, 'tree'), rootImg);
    allImg = buildImage(join(dir, 'all.img'), '--add', 'storage-all');
  });

  test('--add storage-all loads the drivers of the devices present and nothing else', async () => {
    // TCG on a busy machine: a generic image's boot may take minutes
    const r = await boot({ initrd: allImg, append: 'root=/dev/vda test.action=modules', disks: [{ file: rootImg }], until: END, timeoutMs: 600_000 });
    expect(section(r.console, 'token').trim()).toBe(token);
    const [mods = '', aliases = ''] = section(r.console, 'action').split('---\n');
    const loaded = new Set(mods.trim().split('\n'));
    const inImage = imageModules(allImg);
    const kver = kernel!.version;
    // what the devices ask for, among the image's modules, as the host's kmod resolves it
    const drivers = new Set<string>();
    for (const alias of new Set(aliases.trim().split('\n'))) {
      const out = spawnSync(MODPROBE as string, ['-S', kver, '-C', '/nonexistent', '-R', alias]).stdout.toString();
      for (const n of out.split('\n')) if (inImage.has(n.replaceAll('-', '_'))) drivers.add(n.replaceAll('-', '_'));
    }
    const index = await readKmodIndex('/', kver);
    const bootList = [crypt, lvm, mdraid].flatMap((m) => m.bootKernelModules ?? []);
    const wanted = new Set(resolveKmods(index, [...drivers, ...bootList, 'ext4']).modules.map((e) => e.name).filter((n) => inImage.has(n)));
    expect(drivers).toContain('virtio_blk');
    expect(drivers).toContain('virtio_pci');
    for (const n of drivers) expect({ driver: n, loaded: loaded.has(n) }).toEqual({ driver: n, loaded: true });
    expect([...loaded].filter((n) => !wanted.has(n)).sort()).toEqual([]);
    // the image really holds drivers for hardware this guest lacks
    for (const absent of ['ahci', 'nvme', 'xhci_pci', 'mpt3sas', 'usb_storage']) {
      expect({ absent, inImage: inImage.has(absent), loaded: loaded.has(absent) }).toEqual({ absent, inImage: true, loaded: false });
    }
    expect(inImage.size).toBeGreaterThan(200);
    console.log(`storage-all: ${inImage.size} modules in the image, ${loaded.size} loaded: ${[...loaded].sort().join(' ')}`);
  });
});
