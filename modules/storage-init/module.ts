// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';
import { BOOT_STORAGE } from '../kmod/drivers.ts';

// initoverlayfs's idea: a mini initramfs brings up storage only, then loop-mounts the second stage
// from /boot (read in place, never copied to RAM), checked against the size fixed at build time and
// through dm-verity (stage2-verity), or else its sha256.
export default defineModule({
  name: 'storage-init',
  description: 'second stage beside the image on /boot: storage drivers first, then the verified image',
  depends: ['base'],
  firstStage: true,
  // dm-verity instead of a full sha256 where the base has dmsetup.
  wants: ['stage2-verity'],
  kernelModules: [...BOOT_STORAGE, 'loop', 'squashfs', 'erofs', 'overlay'],
  hooks: { stage2: ['10-mount-boot-stage2.sh'], 'pre-pivot': ['99-release-stage2.sh'] },
  params: ['stage2_dev', 'stage2_path', 'rootdelay', 'rootwait'],
});
