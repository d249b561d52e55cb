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
    'kernel/drivers/scsi/sd_mod.ko',
    'kernel/drivers/scsi/sr_mod.ko',
    'kernel/drivers/scsi/virtio_scsi.ko',
    'kernel/drivers/block/virtio_blk.ko',
    'kernel/drivers/block/loop.ko',
    'kernel/drivers/virtio/',
    'kernel/drivers/mmc/host/sdhci-pci.ko',
    'kernel/drivers/mmc/core/mmc_block.ko',
    'kernel/drivers/usb/storage/usb-storage.ko',
    'kernel/drivers/usb/storage/uas.ko',
    'kernel/drivers/usb/host/',
    'kernel/drivers/md/dm-mod.ko',
    'kernel/fs/ext4/',
    'kernel/fs/xfs/',
    'kernel/fs/btrfs/',
    'kernel/fs/fat/',
    'kernel/fs/isofs/',
    'crc32c',
  ],
  hooks: { devices: ['10-load-modules.sh'] },
  params: ['modules-early', 'blacklist'],
});
