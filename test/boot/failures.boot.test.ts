// SPDX-License-Identifier: GPL-2.0-or-later
// SPEC §2 failure behaviour: every fatal condition prints `ruckusrd: fatal: …` and leaves a
// working rescue shell; hostile layer names run nothing (a canary file proves it).
import { beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './build.ts';
import { makeExt4, randomToken, tempDir } from './disks.ts';
import { makeLayerTrees, makeSquashfs } from './layers.ts';
import { boot, canBoot } from './qemu.ts';

let img = '';
let rootDisk = '';
let hostileConfDisk = '';

/** Boots into the rescue shell and asks it whether /canary exists (0 = it does not). */
async function bootToRescue(append: string, disks = [{ file: rootDisk }]) {
  const r = await boot({
    initrd: img,
    append,
    disks,
    until: /CANARY-\d+-END/,
    interact: [{ when: /starting rescue shell[^]*# /, text: 'echo CANARY-$(ls /canary /sysroot/canary 2>/dev/null | wc -l)-END\n' }],
  });
  expect(r.console).not.toContain('Kernel panic');
  expect(r.console).toContain('CANARY-0-END');
  return r.console;
}

describe.if(canBoot)('fatal conditions (QEMU)', () => {
  beforeAll(() => {
    const dir = tempDir('failures');
    const trees = makeLayerTrees(dir, randomToken());
    const top = join(dir, 'rootdev');
    mkdirSync(top);
    makeSquashfs(trees.base, join(top, 'base.sqsh'));
    writeFileSync(join(top, 'junk.sqsh'), 'not a filesystem image\n'.repeat(100));
    rootDisk = join(dir, 'root.img');
    makeExt4(top, rootDisk, {});
    writeFileSync(join(top, 'ruckusrd.conf'), 'sqsh_layers=$(touch /canary)\n');
    hostileConfDisk = join(dir, 'hostile-conf.img');
    makeExt4(top, hostileConfDisk, {});
    img = buildImage(join(dir, 'initrd.img'));
  });

  test.each([
    ['sqsh_layers=nope:base', 'ruckusrd: fatal: layer nope not found: no nope.sqsh on the root device'],
    ['sqsh_layers=junk:base', 'ruckusrd: fatal: layer junk: /root-true/junk.sqsh is neither squashfs nor erofs'],
    ['sqsh_layers=base sqsh_layerdev=/dev/vdb ram_layer=64M to_ram', 'ruckusrd: fatal: sqsh_layerdev cannot be combined with to_ram'],
    ['sqsh_layers=base to_ram', 'ruckusrd: fatal: to_ram needs ram_layer'],
    ['sqsh_layers=base ram_layer=lots', 'ruckusrd: fatal: invalid value for ram_layer from cmdline: lots'],
    ['rootfstype=btrfs', 'ruckusrd: fatal: cannot mount /dev/vda (/dev/vda, btrfs) on /sysroot'],
    ['init=/sbin/nope', 'ruckusrd: fatal: init /sbin/nope not found on the root filesystem'],
  ])('root=/dev/vda %s', async (params, line) => {
    expect(await bootToRescue(`root=/dev/vda ${params}`)).toContain(line);
  });

  test.each([
    ['sqsh_layers=a;touch${IFS}/canary', 'a;touch${IFS}/canary'],
    ['sqsh_layers="$(touch /canary)"', '$(touch /canary)'],
    ['sqsh_layers="`touch /canary`"', '`touch /canary`'],
    ['sqsh_layers=../etc', '../etc'],
    ['sqsh_layers=base:../../canary', 'base:../../canary'],
  ])('hostile layer name %s is refused and runs nothing', async (param, value) => {
    const out = await bootToRescue(`root=/dev/vda ${param}`);
    expect(out).toContain(`ruckusrd: fatal: invalid value for sqsh_layers from cmdline: ${value}`);
  });

  test('a hostile ruckusrd.conf is refused and runs nothing', async () => {
    const out = await bootToRescue('root=/dev/vda', [{ file: hostileConfDisk }]);
    expect(out).toContain('ruckusrd: fatal: invalid value for sqsh_layers from conf: $(touch /canary)');
  });
});
