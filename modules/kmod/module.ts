// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

// Host-independent: the drivers for the storage a root usually lives on, and its filesystems.
// Directory entries take every module below them; the index regenerated for this subset lets
// busybox modprobe load them by device alias at boot.
export default defineModule({
  name: 'kmod',
  description: 'storage and filesystem kernel modules, loaded at boot by device alias',
  depends: ['base'],
  kernelModules: [
    'kernel/drivers/ata/',
    'kernel/drivers/nvme/host/',
    'sd_mod',
    'sr_mod',
    'virtio_scsi',
    'virtio_blk',
    'loop',
    'kernel/drivers/virtio/',
    'sdhci_pci',
    'mmc_block',
    'usb_storage',
    'uas',
    'kernel/drivers/usb/host/',
    'dm_mod',
    'kernel/fs/ext4/',
    'kernel/fs/xfs/',
    'kernel/fs/btrfs/',
    'kernel/fs/fat/',
    'kernel/fs/isofs/',
    'crc32c',
  ],
  hooks: { devices: ['10-load-modules.sh', '20-mount-firmware.sh'], 'pre-pivot': ['90-hand-over-modules.sh'] },
  params: ['modules-early', 'blacklist', 'fwdev', 'modinject', 'rootdelay'],
});
