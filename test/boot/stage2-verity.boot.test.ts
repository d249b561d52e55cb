// SPDX-License-Identifier: GPL-2.0-or-later
// The /boot second stage through dm-verity (issue 12, item 11): the first stage records the root
// hash of the hash tree that follows the image in the file, and mounts it from /dev/mapper, so a
// block is checked when it is read instead of the whole file before anything. Two boots: the good
// file (verified, and nothing of it attached after switch_root), and the same file with one byte
// changed where erofs itself never looks (before its superblock): only dm-verity can refuse that.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './build.ts';
import { makeExt4, makeGuestRoot, randomToken, tempDir } from './disks.ts';
import { FS_INSTANCES } from './layers.ts';
import { boot, canBoot, section } from './qemu.ts';

const END = /=== end\n/;
const AT_BOOT = 'stage2_dev=/dev/vdb stage2_path=/boot/initrd.stage2';
let dir = '';
let token = '';
let image = '';
let root = '';
let conf = '';
const disks: Record<'good' | 'altered', string> = { good: '', altered: '' };

/** A boot partition holding `file` as /boot/initrd.stage2, optionally with byte `at` flipped. */
function bootDisk(name: string, file: string, at?: number): string {
  const top = join(dir, `boot-${name}`);
  mkdirSync(join(top, 'boot'), { recursive: true });
  copyFileSync(file, join(top, 'boot/initrd.stage2'));
  if (at !== undefined) {
    const bytes = readFileSync(join(top, 'boot/initrd.stage2'));
    bytes[at]! ^= 0x01;
    writeFileSync(join(top, 'boot/initrd.stage2'), bytes);
  }
  const disk = join(dir, `boot-${name}.img`);
  makeExt4(top, disk, {});
  return disk;
}

describe.if(canBoot)('the /boot second stage through dm-verity (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('stage2-verity');
    token = randomToken();
    const tree = join(dir, 'root');
    makeGuestRoot(tree, token, { leaks: `${FS_INSTANCES}echo "DM=$(ls /sys/block | grep '^dm-' | tr '\\n' ' ')"\n` });
    root = join(dir, 'root.img');
    makeExt4(tree, root, {});
    image = buildImage(join(dir, 'initrd.img'), '--no-ucode', '--second-stage', 'erofs', '--second-stage-placement', 'boot');
    const stage2 = join(dir, readdirSync(dir).find((n) => n.startsWith('initrd.img.stage2-'))!);
    conf = Bun.spawnSync(['sh', '-c', `zstd -dc '${image}' | cpio -i --quiet --to-stdout etc/ruckusrd/stage2.conf`]).stdout.toString();
    disks.good = bootDisk('good', stage2);
    // Byte 100: erofs starts reading at its superblock (byte 1024), so only the hash of block 0 sees it.
    disks.altered = bootDisk('altered', stage2, 100);
  });

  test('the build records a root hash and the hash tree beside the data', () => {
    expect(conf).toMatch(/\nverity_root=[0-9a-f]{64}\n/);
    expect(conf).toMatch(/\nverity_blocks=[1-9][0-9]*\n/);
    const blocks = Number(/\nverity_blocks=(\d+)\n/.exec(conf)![1]);
    expect(Number(/\nsize=(\d+)\n/.exec(conf)![1])).toBeGreaterThan(blocks * 4096);
  });

  test('good: mounted from the dm-verity device, booted, and nothing of it left after switch_root', async () => {
    const r = await boot({ initrd: image, append: `root=/dev/vda ${AT_BOOT} test.action=leaks`, disks: [{ file: root }, { file: disks.good, readonly: true }], until: END });
    // What the console ended with, when the root's init never ran: the fatal line or the kernel's last words.
    if (!r.console.includes(`\n${token}\n`)) console.log(r.console.slice(-4000));
    expect(r.timedOut).toBe(false);
    expect(r.fatal).toBeUndefined();
    expect(section(r.console, 'token').trim()).toBe(token);
    const rootHash = /\nverity_root=([0-9a-f]{64})\n/.exec(conf)![1]!;
    expect(section(r.console, 'state')).toContain(`stage2_verity=${rootHash}`);
    const report = section(r.console, 'action');
    const field = (key: string) => (new RegExp(`^${key}=(.*)$`, 'm').exec(report)?.[1] ?? 'missing').trim();
    expect(field('EROFS')).toBe('');
    expect(field('LOOPS')).toBe('');
    expect(field('DM')).toBe('');
    const timings = section(r.console, 'timings');
    console.log(`stage2 verity boot timings:\n${timings}`);
  });

  test('one byte changed where erofs does not look: ruckusrd: fatal, no panic', async () => {
    const r = await boot({
      initrd: image,
      append: `root=/dev/vda ${AT_BOOT}`,
      disks: [{ file: root }, { file: disks.altered, readonly: true }],
      until: /starting rescue shell[^]*# /,
    });
    expect(r.fatal).toMatch(/ruckusrd: fatal: cannot mount the second stage .* through dm-verity: altered/);
    expect(r.console).toMatch(/device-mapper: verity: .*data block 0 is corrupted/);
    expect(r.console).not.toContain('Kernel panic');
  });
});
