// SPDX-License-Identifier: GPL-2.0-or-later
// A copy of the /proc and /sys facts --hostonly reads (MKRUCKUS_HOSTONLY_ROOT), shaped as QEMU's
// machines show them: a root on a virtio disk, or on a SATA disk behind QEMU's ICH9 AHCI controller.
// The boot tests then boot each image on that very disk interface.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export type Iface = 'virtio' | 'ahci';

const LAYOUTS: Record<Iface, { disk: string; dev: string; name: string; aliases: [string, string][]; loaded: string }> = {
  virtio: {
    disk: 'devices/pci0000:00/0000:00:04.0/virtio1/block/vda', dev: '254:0', name: '/dev/vda',
    aliases: [
      ['devices/pci0000:00/0000:00:04.0/virtio1', 'virtio:d00000002v00001AF4'],
      ['devices/pci0000:00/0000:00:04.0', 'pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00'],
    ],
    loaded: 'virtio_blk 24576 1 - Live 0x0\nvirtio_pci 28672 0 - Live 0x0\nsnd_hda_intel 57344 0 - Live 0x0\n',
  },
  ahci: {
    disk: 'devices/pci0000:00/0000:00:03.0/ata1/host0/target0:0:0/0:0:0:0/block/sda', dev: '8:0', name: '/dev/sda',
    aliases: [
      ['devices/pci0000:00/0000:00:03.0/ata1/host0/target0:0:0/0:0:0:0', 'scsi:t-0x00'],
      ['devices/pci0000:00/0000:00:03.0', 'pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01'],
    ],
    loaded: 'ahci 45056 1 - Live 0x0\nlibahci 49152 1 ahci, Live 0x0\nsnd_hda_intel 57344 0 - Live 0x0\n',
  },
};

/** Writes the fake tree under DIR; returns the root device name the guest will see. */
export function makeSysfs(dir: string, iface: Iface): string {
  const l = LAYOUTS[iface];
  mkdirSync(join(dir, 'proc/self'), { recursive: true });
  writeFileSync(join(dir, 'proc/self/mountinfo'), `21 1 ${l.dev} / / ro,relatime - ext4 ${l.name} ro\n`);
  writeFileSync(join(dir, 'proc/modules'), l.loaded);
  mkdirSync(join(dir, 'sys', l.disk), { recursive: true });
  writeFileSync(join(dir, 'sys', l.disk, 'dev'), `${l.dev}\n`);
  for (const [path, alias] of l.aliases) writeFileSync(join(dir, 'sys', path, 'modalias'), `${alias}\n`);
  mkdirSync(join(dir, 'sys/dev/block'), { recursive: true });
  symlinkSync(relative(join(dir, 'sys/dev/block'), join(dir, 'sys', l.disk)), join(dir, 'sys/dev/block', l.dev));
  return l.name;
}
