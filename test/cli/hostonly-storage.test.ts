// SPDX-License-Identifier: GPL-2.0-or-later
// --hostonly on a root stacked on LUKS, LVM and RAID (issue 13.4): the root's device chain in a fake
// /sys (MKRUCKUS_HOSTONLY_ROOT, as test/cli/hostonly.test.ts) brings crypt, lvm and mdraid along,
// found from dm/uuid prefixes (CRYPT-, LVM-) and md/ through the slaves links; a plain disk brings
// none, and --omit still wins.
import { expect, test } from 'bun:test';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describeNeeding } from '../unit/need.ts';
import { freshDir, KARG, KVER, run, useScratch } from './helpers.ts';
import { makeSysfs } from './sysfs.ts';

useScratch();

const VIRTIO = 'devices/pci0000:00/0000:00:04.0/virtio1/block';
/** name → [dev, dm uuid or 'md', slaves]: root_crypt on an LV on a RAID1 of two virtio disks. */
const STACK: Record<string, [string, string, string[]]> = {
  [`${VIRTIO}/vda`]: ['254:0', '', []],
  [`${VIRTIO}/vdb`]: ['254:16', '', []],
  'devices/virtual/block/md0': ['9:0', 'md', ['vda', 'vdb']],
  'devices/virtual/block/dm-0': ['253:0', 'LVM-Xq1nAbCdEfGh0123456789abcdefghIJKLMNOPqrstuvwxYZ012345678901', ['md0']],
  'devices/virtual/block/dm-1': ['253:1', 'CRYPT-LUKS2-1b1c0a4e0d5c4f0e9a516a2c3b4d5e01-root_crypt', ['dm-0']],
};

function makeStackedSysfs(dir: string, top: string): void {
  const byName = new Map(Object.keys(STACK).map((p) => [p.slice(p.lastIndexOf('/') + 1), p]));
  mkdirSync(join(dir, 'proc/self'), { recursive: true });
  writeFileSync(join(dir, 'proc/self/mountinfo'), `21 1 ${STACK[byName.get(top)!]![0]} / / ro,relatime - ext4 /dev/mapper/root_crypt ro\n`);
  writeFileSync(join(dir, 'proc/modules'), 'virtio_blk 24576 1 - Live 0x0\n');
  mkdirSync(join(dir, 'sys/dev/block'), { recursive: true });
  for (const [path, [dev, kind, slaves]] of Object.entries(STACK)) {
    const d = join(dir, 'sys', path);
    mkdirSync(join(d, 'slaves'), { recursive: true });
    writeFileSync(join(d, 'dev'), `${dev}\n`);
    if (kind === 'md') mkdirSync(join(d, 'md'));
    else if (kind) mkdirSync(join(d, 'dm')), writeFileSync(join(d, 'dm/uuid'), `${kind}\n`);
    for (const s of slaves) symlinkSync(relative(join(d, 'slaves'), join(dir, 'sys', byName.get(s)!)), join(d, 'slaves', s));
    symlinkSync(relative(join(dir, 'sys/dev/block'), d), join(dir, 'sys/dev/block', dev));
  }
  writeFileSync(join(dir, 'sys/devices/pci0000:00/0000:00:04.0/modalias'), 'pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00\n');
  writeFileSync(join(dir, 'sys/devices/pci0000:00/0000:00:04.0/virtio1/modalias'), 'virtio:d00000002v00001AF4\n');
}

const modulesOf = (stdout: string): string[] => /^modules: (.*)$/m.exec(stdout)?.[1]?.split(' ') ?? [];

function dryRun(sys: string, ...extra: string[]): ReturnType<typeof run> {
  return run(['--kernel', KARG, '--hostonly', '--dry-run', '--no-ucode', ...extra, 'out.img'], { cwd: dirname(sys), env: { MKRUCKUS_HOSTONLY_ROOT: sys } });
}

describeNeeding(KVER ? [] : ['an installed kernel'], '--hostonly on stacked storage', () => {
  test('a root on LUKS on LVM on RAID1: crypt, lvm and mdraid are added, and the drivers under the RAID', () => {
    const sys = join(freshDir('ho-stack'), 'sys-root');
    makeStackedSysfs(sys, 'dm-1');
    const r = dryRun(sys);
    expect(r.code).toBe(0);
    expect(modulesOf(r.stdout)).toEqual(expect.arrayContaining(['crypt', 'lvm', 'mdraid']));
    expect(r.stdout).toMatch(/kernel modules \(\d+\): .*\bvirtio_blk\b/);
    expect(r.stdout).toMatch(/kernel modules \(\d+\): .*\bdm_crypt\b/);
  });

  test('a root on the LV alone: lvm and mdraid, not crypt; --omit mdraid wins', () => {
    const sys = join(freshDir('ho-lv'), 'sys-root');
    makeStackedSysfs(sys, 'dm-0');
    const mods = modulesOf(dryRun(sys).stdout);
    expect(mods).toEqual(expect.arrayContaining(['lvm', 'mdraid']));
    expect(mods).not.toContain('crypt');
    expect(modulesOf(dryRun(sys, '--omit', 'mdraid').stdout)).not.toContain('mdraid');
  });

  test('a root on a plain virtio disk: none of them', () => {
    const sys = join(freshDir('ho-plain'), 'sys-root');
    makeSysfs(sys, 'virtio');
    const r = dryRun(sys);
    expect(r.code).toBe(0);
    for (const m of ['crypt', 'lvm', 'mdraid']) expect(modulesOf(r.stdout)).not.toContain(m);
  });
});
