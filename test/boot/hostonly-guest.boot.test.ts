// SPDX-License-Identifier: GPL-2.0-or-later
// --hostonly on a real machine: a Debian 12 system (debian-system.ts) boots its packaged image with
// its root on a virtio disk, then on a SATA disk behind QEMU's AHCI controller. In each, the
// compiled mkruckus runs `--hostonly` against the running kernel, the real /proc and /sys and the
// real root device, and copies the image raw onto a scratch disk (the host reads those bytes back,
// nothing is mounted). Each host-only image then boots the same system on the same bus to systemd,
// records that bus, and lacks the other bus's driver: only the detection explains the boot.
import { beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modnameFromPath } from '../../src/core/kmod.ts';
import { CLI } from './build.ts';
import { missing } from '../unit/need.ts';
import { addMarkerUnit, installDebianSystem, Timings } from './debian-system.ts';
import { makeExt4, run, tempDir } from './disks.ts';
import { boot, canBoot, type BootResult } from './qemu.ts';

const lacking = missing('mmdebstrap', 'dpkg-deb', 'unshare', 'mke2fs');
if (lacking.length && process.env.CI === 'true') throw new Error(`CI: the host-only guest test needs ${lacking.join(', ')}`);
const enabled = canBoot && lacking.length === 0;
if (canBoot && !enabled) console.warn(`SKIPPING the host-only guest test: needs ${lacking.join(', ')}`);

type Bus = 'virtio' | 'ahci';
const MARKER = 'MKRUCKUS-HOSTONLY';
const SCRATCH_MAGIC = 'MKRUCKUS-SCRATCH';
const SCRATCH_MB = 128;

// The guest's side, run by a unit once multi-user.target is reached. test.hostonly=build (on the
// command line) builds the host-only image; every boot reports its root and the drivers bound
// along the root disk's sysfs path (what the kernel used to reach it).
const GUEST_SCRIPT = `#!/bin/sh
export TMPDIR=/run PATH=/usr/sbin:/usr/bin:/sbin:/bin
drivers=
d=$(readlink -f "/sys/dev/block/$(mountpoint -d /)")
while [ "\${d#/sys/devices/}" != "$d" ]; do
	[ -e "$d/driver" ] && drivers="$drivers,$(basename "$(readlink -f "$d/driver")")"
	d=$(dirname "$d")
done
echo "${MARKER} boot target=$(systemctl is-active multi-user.target) pid1=$(cat /proc/1/comm) root=$(findmnt -n -o SOURCE /) drivers=\${drivers#,} =END"
case " $(cat /proc/cmdline) " in *" test.hostonly=build "*) ;; *) exit 0 ;; esac
# The scratch disk is the one starting with the magic the host wrote (sd names are not stable).
to=
for dev in /dev/vd? /dev/sd?; do
	[ -b "$dev" ] && [ "$(head -c ${SCRATCH_MAGIC.length} "$dev")" = ${SCRATCH_MAGIC} ] && to=$dev
done
out=/run/hostonly.img
start=$(date +%s)
if mkruckus --hostonly "$out" >/run/build.log 2>&1 && [ -n "$to" ] && dd if="$out" of="$to" bs=1M conv=fsync status=none; then
	sed 's/^/guest build: /' /run/build.log
	echo "${MARKER} build size=$(stat -c %s "$out") sha256=$(sha256sum <"$out" | cut -d' ' -f1) seconds=$(($(date +%s) - start)) =END"
else
	echo "${MARKER} build failed (scratch: \${to:-none}): $(tr '\\n' '|' </run/build.log) =END"
fi
`;

/** The drivers the guest's kernel bound along the root disk's sysfs path, from the disk up. */
const ROOT_DRIVERS: Record<Bus, string> = { virtio: 'virtio_blk,virtio-pci', ahci: 'sd,ahci' };
/** The bus's kernel modules: what the host-only image must carry for its own bus and lack for the other. */
const BUS_MODULES: Record<Bus, string[]> = { virtio: ['virtio_blk', 'virtio_pci'], ahci: ['ahci', 'libahci', 'sd_mod'] };
/** The record's device lines: the disk's function and its PCI controller, each with its modalias and driver. */
const RECORD_DEVICES: Record<Bus, RegExp[]> = {
  virtio: [
    /^device=\/sys\/devices\/pci[^ ]*\/virtio\d+ modalias=virtio:d00000002v[0-9A-F]+ driver=virtio_blk$/m,
    /^device=\/sys\/devices\/pci[^ ]*:\d\d\.\d modalias=pci:v00001AF4d00001001[^ ]* driver=virtio_pci$/m,
  ],
  ahci: [
    /^device=\/sys\/devices\/pci[^ ]*\/ata\d+\/host\d+\/target[^ ]* modalias=scsi:t-0x00 driver=sd_mod$/m,
    /^device=\/sys\/devices\/pci[^ ]*:\d\d\.\d modalias=pci:v00008086d00002922[^ ]* driver=ahci$/m,
  ],
};
/** The root disk's name in the guest: SATA disks are named in probe order, so any sdX. */
const DISK: Record<Bus, string> = { virtio: 'vda', ahci: 'sd[a-z]' };
const other = (bus: Bus): Bus => (bus === 'virtio' ? 'ahci' : 'virtio');

const t = new Timings();

describe.if(enabled)('--hostonly run inside a Debian guest, on its own root bus', () => {
  let dir = '';
  let tree = '';
  let kver = '';
  let rootImg = '';
  const built: Partial<Record<Bus, { boot: BootResult; image?: string }>> = {};

  function bootGuest(bus: Bus, initrd: string, disks: string[], append = ''): Promise<BootResult> {
    return boot({
      vmlinuz: join(tree, `boot/vmlinuz-${kver}`),
      initrd,
      append: `root=LABEL=debian-root ro ${append}`,
      disks: disks.map((file) => ({ file, iface: bus })),
      memoryMB: 1024,
      // The compiled Bun binary needs AVX2, which only TCG's `max` CPU offers.
      cpu: 'max',
      until: new RegExp(`${MARKER} ${append ? 'build' : 'boot'} .*=END`),
      timeoutMs: 900_000,
    });
  }

  /** Boots the packaged image on BUS, runs --hostonly in the guest and reads the image off the scratch disk. */
  async function buildInGuest(bus: Bus): Promise<void> {
    const scratch = join(dir, `scratch-${bus}.img`);
    run(['truncate', '-s', `${SCRATCH_MB}M`, scratch]);
    writeFileSync(scratch, SCRATCH_MAGIC, { flag: 'r+' });
    const r = await t.timeAsync(`boot ${bus} + mkruckus --hostonly`, () =>
      bootGuest(bus, join(tree, `boot/initrd.img-${kver}`), [rootImg, scratch], 'test.hostonly=build'));
    built[bus] = { boot: r };
    const m = new RegExp(`${MARKER} build size=(\\d+) sha256=([0-9a-f]{64}) seconds=(\\d+) =END`).exec(r.console);
    if (!m) return;
    t.seconds[`mkruckus --hostonly in the ${bus} guest`] = Number(m[3]);
    // What mkruckus said in the guest (warnings such as a module not found for a detected alias).
    console.log(`${bus}: ${r.console.match(/^guest build: .*$/gm)?.join('\n') ?? 'guest build: (no output)'}`);
    const bytes = new Uint8Array(await Bun.file(scratch).slice(0, Number(m[1])).arrayBuffer());
    if (new Bun.CryptoHasher('sha256').update(bytes).digest('hex') !== m[2]) throw new Error(`${bus}: the scratch disk does not hold the image the guest wrote`);
    const image = join(dir, `hostonly-${bus}.img`);
    writeFileSync(image, bytes);
    built[bus]!.image = image;
  }

  beforeAll(async () => {
    dir = tempDir('hostonly-guest');
    ({ tree, kver } = installDebianSystem(dir, t));
    writeFileSync(join(tree, 'usr/local/sbin/mkruckus-hostonly-test'), GUEST_SCRIPT, { mode: 0o755 });
    addMarkerUnit(tree, 'mkruckus-hostonly-test', '/usr/local/sbin/mkruckus-hostonly-test');
    writeFileSync(join(tree, 'etc/hostname'), 'ruckus-hostonly\n');
    rootImg = join(dir, 'root.img');
    t.time('mkfs.ext4 -d', () => makeExt4(tree, rootImg, { sizeMB: 1536, label: 'debian-root' }));
  });

  describe.each(['virtio', 'ahci'] as const)('root on %s', (bus) => {
    test('the packaged image boots it and mkruckus --hostonly builds an image in the guest', async () => {
      await buildInGuest(bus);
      const r = built[bus]!.boot;
      expect(r.fatal).toBeUndefined();
      expect(markerLine(r, 'boot')).toMatch(new RegExp(`target=active pid1=systemd root=/dev/${DISK[bus]} drivers=${ROOT_DRIVERS[bus]} =END`));
      expect(markerLine(r, 'build')).toMatch(/^\S+ build size=\d+ sha256=/);
      expect(built[bus]!.image).toBeDefined();
    }, 1_000_000);

    test('its record names the root, its filesystem and the bus; it carries that bus\'s drivers and not the other\'s', () => {
      const image = built[bus]?.image;
      if (!image) throw new Error(`no host-only image from the ${bus} guest`);
      const info = JSON.parse(run([CLI, 'inspect', '--json', image])) as { hostonly?: string[]; kernelModules: string[] };
      const record = (info.hostonly ?? []).join('\n');
      expect(record).toMatch(new RegExp(`^root=/dev/${DISK[bus]} fstype=ext4 dev=\\d+:\\d+$`, 'm'));
      for (const device of RECORD_DEVICES[bus]) expect(record).toMatch(device);
      const modules = new Set(info.kernelModules.map(modnameFromPath));
      expect(BUS_MODULES[bus].filter((name) => !modules.has(name))).toEqual([]);
      // What makes it host-only: none of the other bus's drivers (kmod's generic set has them all).
      expect(BUS_MODULES[other(bus)].filter((name) => modules.has(name) && !BUS_MODULES[bus].includes(name))).toEqual([]);
    });

    test('the host-only image boots the same system on the same bus to systemd', async () => {
      const image = built[bus]?.image;
      if (!image) throw new Error(`no host-only image from the ${bus} guest`);
      const r = await t.timeAsync(`boot ${bus} host-only image`, () => bootGuest(bus, image, [rootImg]));
      expect(r.fatal).toBeUndefined();
      expect(markerLine(r, 'boot')).toMatch(new RegExp(`target=active pid1=systemd root=/dev/${DISK[bus]} drivers=${ROOT_DRIVERS[bus]} =END`));
      console.log(`host-only guest test timings (s): ${JSON.stringify(t.seconds)}`);
    }, 1_000_000);
  });
});

/** The guest's marker line of KIND (boot or build), or the console's tail to show why there is none. */
function markerLine(r: BootResult, kind: 'boot' | 'build'): string {
  return new RegExp(`${MARKER} ${kind} .*=END`).exec(r.console)?.[0] ?? `no ${kind} marker; console tail:\n${r.console.slice(-3000)}`;
}
