// SPDX-License-Identifier: GPL-2.0-or-later
// The build report inside every image (/etc/ruckusrd/report.json, src/host/report.ts): the same as
// --report FILE but for the timings, shown by inspect; each kernel module's reason names the rule
// that brought it (a build module's default set, --add-drivers, a device --hostonly found, the
// module it is a dependency of); and the --hostonly record of a two-stage image shown by inspect.
import { beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, missing } from '../unit/need.ts';
import { freshDir, KARG, KVER, run, useScratch } from './helpers.ts';
import { makeSysfs } from './sysfs.ts';

useScratch();

const needs = [...missing('fsck.erofs', 'mkfs.erofs'), ...(KVER ? [] : ['an installed kernel'])];

interface Report {
  kernelModules: { name: string; reason: string; stage: string }[];
  [k: string]: unknown;
}

describeNeeding(needs, 'the embedded build report', () => {
  let cwd = '';
  const build = (args: string[], env: Record<string, string> = {}) => {
    const r = run(['--kernel', KARG, '--no-ucode', ...args], { cwd, env });
    if (r.code !== 0) throw new Error(r.stderr);
  };
  const embedded = (image: string) => JSON.parse(run(['inspect', image, '--cat', '/etc/ruckusrd/report.json'], { cwd }).stdout) as Report;
  const reasonIn = (report: Report, name: string) => report.kernelModules.find((m) => m.name === name)?.reason;

  beforeAll(() => {
    cwd = freshDir('report');
    build(['--modules', 'base', '--add-drivers', 'ext4', '--report', 'b.json', 'b.img']);
    build(['default.img']);
    makeSysfs(join(cwd, 'sys-root'), 'virtio');
    build(['--hostonly', '--second-stage', 'erofs', 'host.img'], { MKRUCKUS_HOSTONLY_ROOT: join(cwd, 'sys-root') });
  }, 300_000);

  test('the image holds the --report FILE report but its timings; inspect shows it and each module\'s reason', () => {
    const { timings, ...rest } = JSON.parse(readFileSync(join(cwd, 'b.json'), 'utf8')) as Report;
    expect(timings).toBeArray();
    expect(embedded('b.img')).toEqual(rest);
    const lines = run(['inspect', 'b.img'], { cwd }).stdout.split('\n');
    expect(lines.find((l) => /\/ext4\.ko {2}/.test(l))).toMatch(/ext4\.ko {2}\(--add-drivers\)$/);
    expect(lines.find((l) => /\/jbd2\.ko {2}/.test(l))).toMatch(/jbd2\.ko {2}\(dependency of ext4\)$/);
    expect((JSON.parse(run(['inspect', '--json', 'b.img'], { cwd }).stdout) as { report: unknown }).report).toEqual(rest);
  });

  test('reasons: the default set by name, the directory that matched, dependencies and soft dependencies', () => {
    const r = embedded('default.img');
    expect(reasonIn(r, 'virtio_blk')).toBe('default set: storage (build module kmod)');
    expect(reasonIn(r, 'ahci')).toBe('default set: storage (build module kmod)');
    // a cold module (kept compressed) has its reason too
    expect(reasonIn(r, 'ata_piix')).toBe('default set: storage (build module kmod): under kernel/drivers/ata/');
    expect(reasonIn(r, 'ext4')).toBe('default set: filesystems (build module kmod): under kernel/fs/ext4/');
    expect(reasonIn(r, 'jbd2')).toBe('dependency of ext4');
    expect(reasonIn(r, 'crc32c_generic')).toMatch(/^soft dependency of /);
    expect(r.kernelModules.filter((m) => m.reason.startsWith('not reached'))).toEqual([]);
  });

  test('a two-stage --hostonly image: the hostonly record in inspect, device and filesystem reasons', () => {
    const head = run(['inspect', 'host.img'], { cwd }).stdout.split('\n').filter((l) => l.startsWith('hostonly: '));
    expect(head[0]).toBe('hostonly: root=/dev/vda fstype=ext4 dev=254:0');
    const json = JSON.parse(run(['inspect', '--json', 'host.img'], { cwd }).stdout) as { hostonly: string[] };
    expect(json.hostonly).toEqual(head.map((l) => l.slice('hostonly: '.length)));
    const r = embedded('host.img');
    expect(reasonIn(r, 'virtio_blk')).toBe('hostonly: alias match for device /sys/devices/pci0000:00/0000:00:04.0/virtio1 (virtio:d00000002v00001AF4)');
    expect(reasonIn(r, 'ext4')).toBe('hostonly: root filesystem ext4: alias match for fs-ext4');
    expect(reasonIn(r, 'ahci')).toBeUndefined();
  });
});
