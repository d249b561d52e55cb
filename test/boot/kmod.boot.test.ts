// SPDX-License-Identifier: GPL-2.0-or-later
// Driver loading at boot (issue 11): a generic `--add storage-all` image holds hundreds of storage
// and filesystem modules, and /init loads only the drivers of the devices the guest has (its driver
// table against /sys/bus/*/devices/*/modalias), their dependencies, the build's modules-load list and
// the root's filesystem: read from /proc/modules in the guest, against the host's modprobe -R. The
// storage steps load dm and md modules and run their tools only for devices that hold LUKS, LVM or
// md signatures: on a plain root, none (seen in the verbose timings).
import { beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
/**
 * The loaded modules, then whatever of the initramfs a process still holds after switch_root: a
 * running or mapped file that was deleted with the initramfs (its memory is never freed), an open
 * descriptor on a deleted file or on /init's own files in /run/ruckusrd, a loop device's backing
 * file. PID 1's console descriptors are the kernel's own (opened on the initramfs's /dev/console
 * for every initramfs, tiny-initramfs's too) and are left out.
 */
const HELD_ACTION = `cut -d' ' -f1 /proc/modules
echo ---
for p in /proc/[0-9]*; do
  for f in $p/exe $p/fd/*; do
    l=$(readlink $f 2>/dev/null) || continue
    case $l in '/dev/console (deleted)') ;; *'(deleted)'* | /run/ruckusrd/*) echo "held: $f -> $l" ;; esac
  done
  grep '(deleted)' $p/maps 2>/dev/null | sed "s|^|held: $p/maps |"
done
for b in /sys/block/loop*/loop/backing_file; do [ -f "$b" ] && echo "held: $b $(cat "$b")"; done
echo ---`;
/** Drivers of hardware the guest has but its virtio root never needs (QEMU's IDE controller and floppy). */
const NOT_NEEDED = ['ata_piix', 'ata_generic', 'libata', 'scsi_mod', 'floppy'];
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
    makeGuestRoot(join(dir, 'tree'), token, { modules: ACTION, held: HELD_ACTION });
    rootImg = join(dir, 'root.img');
    makeExt4(join(dir, 'tree'), rootImg);
    allImg = buildImage(join(dir, 'all.img'), '--add', 'storage-all');
  });

  test('--add storage-all loads the drivers of the devices present and nothing else; no lvm, cryptsetup or mdadm on a plain root', async () => {
    // TCG on a busy machine: a generic image's boot may take minutes. resume= names a device that
    // never appears, so /init waits for it (rootdelay=) and the device steps (crypt, lvm, mdraid) run.
    const r = await boot({
      initrd: allImg, append: 'root=/dev/vda resume=/dev/vdz rootdelay=3 verbose test.action=modules', disks: [{ file: rootImg }],
      until: END, timeoutMs: 600_000,
    });
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
    // virtio_pci is a module in Debian's 6.1, built in from 6.12 (modules.builtin names it then).
    const builtin = readFileSync(`/lib/modules/${kver}/modules.builtin`, 'utf8');
    if (!builtin.includes('/virtio_pci.ko')) expect(drivers).toContain('virtio_pci');
    for (const n of drivers) expect({ driver: n, loaded: loaded.has(n) }).toEqual({ driver: n, loaded: true });
    // Nothing else: 6.12's own start asks modprobe for an AES implementation before /init runs
    // (aesni_intel, cryptd, crypto_simd, gf128mul: a second of TCG), which never reaches the image's
    // modprobe: its /sbin/modprobe link leads nowhere until /init mounts /proc.
    expect([...loaded].filter((n) => !wanted.has(n)).sort()).toEqual([]);
    // the image really holds drivers for hardware this guest lacks
    for (const absent of ['ahci', 'nvme', 'xhci_pci', 'mpt3sas', 'usb_storage']) {
      expect({ absent, inImage: inImage.has(absent), loaded: loaded.has(absent) }).toEqual({ absent, inImage: true, loaded: false });
    }
    expect(inImage.size).toBeGreaterThan(200);
    // The steps read the devices' signatures (one head for every device) and found nothing to run
    // their tools on: no LUKS magic, no LVM2 label, no md superblock on the plain ext4 disk.
    const cmds = section(r.console, 'timings').split('\n').filter((l) => l.startsWith('cmd '));
    expect(cmds.some((l) => / head -q -c 8192 \/dev\/vda$/.test(l))).toBe(true);
    expect(cmds.filter((l) => /^cmd \S+ \S+ (lvm|cryptsetup|mdadm) /.test(l))).toEqual([]);
    for (const n of ['dm_mod', 'dm_crypt', 'md_mod', 'raid1']) expect({ n, loaded: loaded.has(n) }).toEqual({ n, loaded: false });
    console.log(`storage-all: ${inImage.size} modules in the image, ${loaded.size} loaded: ${[...loaded].sort().join(' ')}`);
  });

  // Issue 11: with the storage steps registered (crypt, lvm, mdraid are in storage-all), /init still
  // loads one driver per try and stops once the root is there; the steps read the virtio disk and
  // find nothing. Nothing of the initramfs is left running, mapped, open or loop-mounted.
  test('--add storage-all on a virtio root: no IDE or floppy driver; nothing of the initramfs held after switch_root', async () => {
    const r = await boot({
      initrd: allImg, append: 'root=/dev/vda verbose test.action=held', disks: [{ file: rootImg }], until: END, timeoutMs: 600_000,
    });
    expect(section(r.console, 'token').trim()).toBe(token);
    const [mods = '', held = ''] = section(r.console, 'action').split('---\n');
    const loaded = new Set(mods.trim().split('\n'));
    expect(loaded).toContain('virtio_blk');
    expect(loaded).toContain('ext4');
    expect(NOT_NEEDED.filter((n) => loaded.has(n))).toEqual([]);
    // The steps did run, once, when the disk appeared (not before there was a block device): one
    // list of the partitions, one read of the disk's head for LUKS, LVM and md signatures.
    const cmds = section(r.console, 'timings').split('\n').filter((l) => l.startsWith('cmd '));
    expect(cmds.filter((l) => / head -q -c 8192 \/dev\/vda$/.test(l)).length).toBe(1);
    expect(cmds.filter((l) => / cat \/proc\/partitions$/.test(l)).length).toBe(1);
    // ext4's softdep names crc32c, which crc32c-intel provides too: QEMU's default CPU (qemu64) has
    // no SSE4.2, so its cpu: alias gate skips that insmod (a failed one costs ~0.1 s under TCG)
    expect(cmds.filter((l) => /insmod \S*crc32c_generic\.ko/.test(l)).length).toBe(1);
    expect(cmds.filter((l) => /insmod \S*crc32c-intel\.ko/.test(l))).toEqual([]);
    expect(held.trim()).toBe('');
  });
});
