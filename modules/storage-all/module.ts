// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

// A generic image in the sense of `dracut --no-hostonly`: every block-storage and filesystem
// driver the kernel ships, with the firmware they name. Not a default (kmod's curated set boots
// the usual machines at a quarter of the size); `--add storage-all` for rescue media and the like.
export default defineModule({
  name: 'storage-all',
  description: 'every storage and filesystem driver of the kernel (like dracut --no-hostonly)',
  depends: ['kmod'],
  // Unlocking and assembling too, where the base can (cryptsetup, lvm, mdadm installed).
  wants: ['crypt', 'lvm', 'mdraid', 'resume'],
  // Kept compressed in a one-cpio image: insmod decompresses what a machine loads.
  coldKernelModules: [
    'kernel/drivers/ata/', 'kernel/drivers/scsi/', 'kernel/drivers/nvme/', 'kernel/drivers/block/',
    'kernel/drivers/md/', 'kernel/drivers/mmc/', 'kernel/drivers/usb/storage/', 'kernel/drivers/usb/host/',
    'kernel/drivers/virtio/', 'kernel/drivers/nvdimm/', 'kernel/drivers/firewire/', 'kernel/fs/',
  ],
});
