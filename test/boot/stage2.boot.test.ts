// SPDX-License-Identifier: GPL-2.0-or-later
// Two-stage images booted for real: embedded and /boot placements, erofs and squashfs, traditional
// and layered roots; a second stage that is missing, truncated or altered is refused; nothing of
// the initramfs stays mounted in the running system.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './build.ts';
import { makeExt4, randomToken, run, tempDir } from './disks.ts';
import { FS_INSTANCES, makeLayerTrees, makeSquashfs } from './layers.ts';
import { boot, canBoot, section } from './qemu.ts';

const END = /=== end\n/;
let dir = '';
let token = '';
let tradDisk = '';
let layeredDisk = '';
const images: Record<string, string> = {};
const bootDisks: Record<string, string> = {};

/** A boot partition holding `file` as /boot/initrd.stage2, optionally damaged. */
function makeBootDisk(name: string, file: string, damage?: (copy: string) => void): string {
  const top = join(dir, `bootdisk-${name}`);
  mkdirSync(join(top, 'boot'), { recursive: true });
  copyFileSync(file, join(top, 'boot/initrd.stage2'));
  damage?.(join(top, 'boot/initrd.stage2'));
  const disk = join(dir, `bootdisk-${name}.img`);
  makeExt4(top, disk, {});
  return disk;
}

/**
 * Nothing of the second stage is attached after switch_root: not in /proc/mounts, and not where
 * /proc/mounts cannot look (a mount left behind in the discarded initramfs still holds its ext4 or
 * erofs instance in /sys/fs and its loop device). `layers` is how many loop devices the root's own
 * layers hold.
 */
const BOOT_FS_UUID = '2c1b7e55-0d3a-4f6e-9b8c-7a6d5e4f3b2a';

/**
 * Makes an ext4 /boot filesystem image, loop-mounts it on the host, builds `boot/initrd.img` into
 * it, and unmounts it: the image file is then the guest's boot disk. Returns a copy of the initrd.
 */
function buildOnMountedBootFs(fsImage: string, ...args: string[]): string {
  const top = join(dir, 'bootfs-tree');
  mkdirSync(join(top, 'boot'), { recursive: true });
  makeExt4(top, fsImage, { uuid: BOOT_FS_UUID, sizeMB: 96 });
  const mnt = join(dir, 'bootfs-mnt');
  mkdirSync(mnt);
  run(['mount', '-o', 'loop', fsImage, mnt]);
  try {
    buildImage(join(mnt, 'boot/initrd.img'), '--no-ucode', ...args);
    const conf = run(['sh', '-c', `zstd -dc '${mnt}/boot/initrd.img' | cpio -i --quiet --to-stdout etc/ruckusrd/stage2.conf`]);
    expect(conf).toContain(`dev=UUID=${BOOT_FS_UUID}\n`);
    // Named by its content: initrd.img.stage2-HASH.
    expect(conf).toMatch(/\npath=\/boot\/initrd\.img\.stage2-[0-9a-f]{16}\n/);
    copyFileSync(join(mnt, 'boot/initrd.img'), join(dir, 'bootfs-initrd.img'));
  } finally {
    run(['umount', mnt]);
  }
  return join(dir, 'bootfs-initrd.img');
}

function assertNothingLeaked(consoleText: string, layers: number): void {
  const mounts = section(consoleText, 'mounts');
  expect(mounts).not.toContain('stage2');
  expect(mounts).not.toMatch(/ \/usr | \/etc /);
  const report = section(consoleText, 'action');
  const field = (key: string) => (new RegExp(`^${key}=(.*)$`, 'm').exec(report)?.[1] ?? 'missing').trim();
  expect(field('EXT4')).toBe('vda');
  expect(field('EROFS')).toBe('');
  const loops = field('LOOPS');
  expect(loops === '' ? [] : loops.split(' ')).toHaveLength(layers);
  expect(loops).not.toContain('stage2');
}

describe.if(canBoot)('two-stage images (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('stage2');
    token = randomToken();
    const trees = makeLayerTrees(dir, token);
    writeFileSync(join(trees.base, 'actions/leaks'), `#!/bin/sh\n${FS_INSTANCES}\n`, { mode: 0o755 });
    tradDisk = join(dir, 'trad.img');
    makeExt4(trees.base, tradDisk, {});
    const top = join(dir, 'layers');
    mkdirSync(top);
    for (const n of ['base', 'server', 'extra'] as const) makeSquashfs(trees[n], join(top, `${n}.sqsh`));
    layeredDisk = join(dir, 'layered.img');
    makeExt4(top, layeredDisk, {});
    for (const type of ['erofs', 'squashfs']) {
      images[`embedded-${type}`] = buildImage(join(dir, `embedded-${type}.img`), '--second-stage', type);
    }
    const out = join(dir, 'boot-erofs.img');
    // Checked by its sha256 (no dm-verity: test/boot/stage2-verity.boot.test.ts has that); named by its content.
    images['boot-erofs'] = buildImage(out, '--second-stage', 'erofs', '--second-stage-placement', 'boot', '--omit', 'stage2-verity');
    const erofsStage2 = join(dir, readdirSync(dir).find((n) => n.startsWith('boot-erofs.img.stage2-'))!);
    bootDisks.erofs = makeBootDisk('erofs', erofsStage2);
    // No separate /boot: the second stage is a file on the root filesystem itself.
    const rootWithBoot = join(dir, 'root-with-boot');
    run(['cp', '-a', trees.base, rootWithBoot]);
    mkdirSync(join(rootWithBoot, 'boot'), { recursive: true });
    copyFileSync(erofsStage2, join(rootWithBoot, 'boot/initrd.stage2'));
    bootDisks.rootWithBoot = join(dir, 'root-with-boot.img');
    makeExt4(rootWithBoot, bootDisks.rootWithBoot, {});
    // The squashfs pair is built as a packager would, straight into a mounted /boot filesystem: the
    // image must record that filesystem's UUID and the file's path on it, and boot without stage2_*=.
    bootDisks.squashfs = join(dir, 'bootfs.img');
    images['boot-squashfs'] = buildOnMountedBootFs(bootDisks.squashfs, '--second-stage', 'squashfs', '--second-stage-placement', 'boot');
    bootDisks.truncated = makeBootDisk('truncated', erofsStage2, (f) => truncateSync(f, 4096));
    bootDisks.altered = makeBootDisk('altered', erofsStage2, (f) => {
      const bytes = readFileSync(f);
      const mid = bytes.length >> 1;
      bytes[mid] = bytes[mid]! ^ 0x01;
      writeFileSync(f, bytes);
    });
  });

  const AT_BOOT = 'stage2_dev=/dev/vdb stage2_path=/boot/initrd.stage2';

  test('embedded erofs, traditional root', async () => {
    const r = await boot({ initrd: images['embedded-erofs']!, append: 'root=/dev/vda test.action=leaks', disks: [{ file: tradDisk }], until: END });
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'state')).toContain('stage2=erofs embedded /usr/lib/ruckusrd/stage2.img');
    assertNothingLeaked(r.console, 0);
  });

  test('embedded squashfs, layered root', async () => {
    const r = await boot({
      initrd: images['embedded-squashfs']!,
      append: 'root=/dev/vda sqsh_layers=extra:server:base rw test.action=probe',
      disks: [{ file: layeredDisk }],
      until: END,
    });
    expect(section(r.console, 'action')).toContain('WHO=extra');
    expect(section(r.console, 'state')).toContain('stage2=squashfs embedded');
    assertNothingLeaked(r.console, 3);
  });

  test('/boot erofs, layered root: found on the boot device, verified, released', async () => {
    const r = await boot({
      initrd: images['boot-erofs']!,
      append: `root=/dev/vda sqsh_layers=extra:server:base rw ${AT_BOOT} test.action=probe`,
      disks: [{ file: layeredDisk }, { file: bootDisks.erofs!, readonly: true }],
      until: END,
    });
    expect(section(r.console, 'action')).toContain('WHO=extra');
    expect(section(r.console, 'state')).toContain('stage2=erofs boot /.stage2/boot/boot/initrd.stage2');
    expect(section(r.console, 'mounts')).not.toContain('/dev/vdb');
    assertNothingLeaked(r.console, 3);
  });

  test('/boot squashfs, traditional root: found by the UUID and path recorded at build time', async () => {
    const r = await boot({
      initrd: images['boot-squashfs']!,
      append: 'root=/dev/vda test.action=leaks',
      disks: [{ file: tradDisk }, { file: bootDisks.squashfs!, readonly: true }],
      until: END,
    });
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'state')).toContain('stage2=squashfs boot /.stage2/boot/boot/initrd.img.stage2');
    assertNothingLeaked(r.console, 0);
  });

  test('/boot erofs on the root filesystem itself, root mounted rw: the boot device is mounted as the root will be', async () => {
    const r = await boot({
      initrd: images['boot-erofs']!,
      append: 'root=/dev/vda rw stage2_dev=/dev/vda stage2_path=/boot/initrd.stage2 test.action=leaks',
      disks: [{ file: bootDisks.rootWithBoot! }],
      until: END,
    });
    expect(r.fatal).toBeUndefined();
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/vda \/ ext4 rw[ ,]/m);
    assertNothingLeaked(r.console, 0);
  });

  test.each([
    ['missing', 'stage2_dev=/dev/vdb stage2_path=/boot/nope.stage2', 'erofs', 'ruckusrd: fatal: second stage /boot/nope.stage2 on /dev/vdb is missing'],
    ['truncated', AT_BOOT, 'truncated', 'ruckusrd: fatal: second stage /boot/initrd.stage2 on /dev/vdb has 4096 bytes, expected'],
    ['one-byte-altered', AT_BOOT, 'altered', 'ruckusrd: fatal: second stage /boot/initrd.stage2 on /dev/vdb fails its sha256 check (altered)'],
  ])('a %s second stage is refused', async (_what, params, disk, line) => {
    const file = bootDisks[disk]!;
    const r = await boot({
      initrd: images['boot-erofs']!,
      append: `root=/dev/vda ${params}`,
      disks: [{ file: tradDisk }, { file, readonly: true }],
      until: /starting rescue shell[^]*# /,
    });
    expect(r.console).toContain(line);
    expect(r.console).not.toContain('Kernel panic');
  });
});
