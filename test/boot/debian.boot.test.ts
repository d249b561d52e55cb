// SPDX-License-Identifier: GPL-2.0-or-later
// What a Debian packager would try: a minimal Debian 12 with systemd (mmdebstrap, cached for the
// day), our .deb installed with dpkg -i, then the kernel packages with `apt-get install` (the .debs
// the tarball holds, so nothing is downloaded; apt resolves linux-initramfs-tool to us): their postinst runs
// /etc/kernel/postinst.d/zz-mkruckus, which alone makes /boot/initrd.img-KVER. That kernel and
// image boot the tree's ext4 disk to systemd's multi-user target (a unit prints a marker). Removing
// the kernel package removes the image. The same tree squashed into a layer boots as well.
import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname as dirOf, join } from 'node:path';
import { missing } from '../unit/need.ts';
import { inTree } from '../distro/debian-tree.ts';
import { addMarkerUnit, installDebianSystem, Timings } from './debian-system.ts';
import { makeExt4, run, tempDir } from './disks.ts';
import { boot, canBoot, type BootResult } from './qemu.ts';

const lacking = missing('mmdebstrap', 'dpkg-deb', 'unshare', 'mke2fs');
if (lacking.length && process.env.CI === 'true') throw new Error(`CI: the Debian boot test needs ${lacking.join(', ')}`);
const enabled = canBoot && lacking.length === 0;
if (canBoot && !enabled) console.warn(`SKIPPING the Debian boot test: needs ${lacking.join(', ')}`);

const MARKER = 'MKRUCKUS-DEBIAN';
// Runs once multi-user.target is reached: what systemd says, what /init assembled, then power off.
const MARKER_CMD = `/bin/sh -c 'echo "${MARKER} target=$(systemctl is-active multi-user.target) pid1=$(cat /proc/1/comm) mode=$(sed -n s/^mode=//p /run/ruckusrd/state) root=$(findmnt -n -o SOURCE /) stage2=$(grep -c "^stage2 " /run/ruckusrd/timings) =END"'`;

const STAGE2_CONF = 'second-stage = erofs\nsecond-stage-placement = boot\nsecond-stage-boot-dev = LABEL=debian-root\n';

const t = new Timings();
const time = t.time.bind(t);

describe.if(enabled)('a Debian 12 system booting through the mkruckus package', () => {
  let tree = '';
  let kver = '';
  let hookOutput = '';
  let disk = '';
  let ext4Boot: BootResult;

  beforeAll(async () => {
    const dir = tempDir('debian');
    // What a packager would set for a /boot second stage: the tree becomes a disk labelled
    // debian-root, whose UUID no build can know.
    ({ tree, kver, hookOutput } = installDebianSystem(dir, t, { 'stage2.conf': STAGE2_CONF }));
    addMarkerUnit(tree, 'mkruckus-marker', MARKER_CMD);
    writeFileSync(join(tree, 'etc/hostname'), 'ruckus-debian\n');
    disk = join(dir, 'root.img');
    time('mkfs.ext4 -d', () => makeExt4(tree, disk, { sizeMB: 1536, label: 'debian-root' }));
    // `ro`, as Debian's boot loader entries say: the second stage's file system is the root's, held
    // read-only by the first stage until pre-pivot, and a read-write mount of it beside that fails.
    ext4Boot = await t.timeAsync('boot ext4 root', () => bootTree(tree, kver, [disk], 'root=/dev/vda ro'));
  });

  test('the kernel package\'s postinst hook made the image with mkruckus', () => {
    expect(kver).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(hookOutput).toMatch(new RegExp(`${kver}: /boot/initrd.img-${kver} \\([0-9.]+ MiB; second stage [0-9.]+ MiB\\)`));
    expect(existsSync(join(tree, `boot/initrd.img-${kver}`))).toBe(true);
    // Named by its content: initrd.img-KVER.stage2-HASH.
    expect(readdirSync(join(tree, 'boot')).filter((n) => n.startsWith(`initrd.img-${kver}.stage2-`))).toHaveLength(1);
    // Nothing of initramfs-tools: mkruckus is the linux-initramfs-tool.
    expect(existsSync(join(tree, 'usr/sbin/update-initramfs'))).toBe(false);
    expect(inTree(tree, 'chroot "$T" dpkg-query -W -f \'${Status}\' mkruckus')).toBe('install ok installed');
  });

  test('the system boots through it to systemd\'s multi-user target', () => {
    expect(ext4Boot.fatal).toBeUndefined();
    expect(markerOf(ext4Boot)).toEqual(['active', 'systemd', 'traditional', '/dev/vda', '1']);
  });

  test('the same tree squashed into a layer (sqsh_layers=) boots to the multi-user target too', async () => {
    const layers = join(dirOf(tree), 'layers');
    mkdirSync(layers);
    time('mksquashfs layer', () => run(['mksquashfs', tree, join(layers, 'debian.sqsh'), '-comp', 'lz4', '-noappend', '-quiet', '-no-progress']));
    const sizeMB = Math.ceil(Bun.file(join(layers, 'debian.sqsh')).size / 2 ** 20) + 128;
    const layerDisk = join(dirOf(tree), 'layers.img');
    time('mkfs.ext4 -d layers', () => makeExt4(layers, layerDisk, { sizeMB }));
    const r = await t.timeAsync('boot layered root', () => bootTree(tree, kver, [layerDisk, disk], 'root=/dev/vda sqsh_layers=debian rw'));
    expect(r.fatal).toBeUndefined();
    expect(markerOf(r)).toEqual(['active', 'systemd', 'layered', 'overlay', '1']);
  });

  test('removing the kernel package removes its image and second stage', () => {
    const out = inTree(tree, `chroot "$T" dpkg -r linux-image-amd64 linux-image-${kver} 2>&1`);
    expect(out).toMatch(new RegExp(`${kver}: removed /boot/initrd\\.img-${kver} /boot/initrd\\.img-${kver}\\.stage2-[0-9a-f]{16}`));
    expect(readdirSync(join(tree, 'boot')).filter((n) => n.includes('initrd'))).toEqual([]);
    console.log(`Debian boot test timings (s): ${JSON.stringify(t.seconds)}`);
  });
});

/** The tree's own kernel and the image its hook made; the first disk is /dev/vda. */
function bootTree(tree: string, kver: string, disks: string[], append: string): Promise<BootResult> {
  return boot({
    vmlinuz: join(tree, `boot/vmlinuz-${kver}`),
    initrd: join(tree, `boot/initrd.img-${kver}`),
    append,
    disks: disks.map((file) => ({ file })),
    memoryMB: 1024,
    until: new RegExp(`${MARKER} .*=END`),
    timeoutMs: 480_000,
  });
}

/** target, PID 1, /init's mode, the root's source and whether a second stage was mounted, as the marker unit printed them. */
function markerOf(r: BootResult): string[] {
  const line = new RegExp(`${MARKER} target=(\\S*) pid1=(\\S*) mode=(\\S*) root=(\\S*) stage2=(\\S*) =END`).exec(r.console);
  if (!line) throw new Error(`no marker; console tail:\n${r.console.slice(-3000)}`);
  return line.slice(1);
}
