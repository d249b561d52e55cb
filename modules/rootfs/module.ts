// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

export default defineModule({
  name: 'rootfs',
  description: 'the traditional root: wait for root=, mount it on /sysroot',
  depends: ['base', 'kmod'],
  // util-linux blkid detects filesystem types and knows PARTUUID/PARTLABEL; busybox findfs does not.
  optionalBinaries: ['blkid'],
  // Only for types blockid.sh does not read (btrfs, iso9660, ...): kept cold, with the glibc it brings.
  coldBinaries: ['blkid'],
  hooks: { mount: ['50-mount-root.sh'] },
  params: ['root', 'rootfstype', 'rootflags', 'ro', 'rw', 'rootwait', 'rootdelay'],
});
