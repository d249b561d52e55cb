// SPDX-License-Identifier: GPL-2.0-or-later
// Host-independent driver sets, shared by the kmod and storage-init modules: the storage a root
// (or /boot) usually lives on, and its filesystems. Directory entries take every module below them.

export const STORAGE_DRIVERS = [
  'kernel/drivers/ata/',
  // PCIe NVMe only: NVMe over fabrics (rdma, tcp, fc) needs a network and `nvme connect`, which no
  // module here sets up, and nvme-rdma alone brings the InfiniBand core (~1.5 MiB unpacked).
  'nvme',
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
  // virtual and server storage: Hyper-V, Xen, VMware, LSI/Broadcom SAS and MegaRAID
  'hv_storvsc',
  'xen_blkfront',
  'vmw_pvscsi',
  'mpt3sas',
  'megaraid_sas',
  // encrypted and software-RAID roots (unlocking and assembly are the crypt/mdraid modules')
  'dm_crypt',
  'md_mod',
  'raid0',
  'raid1',
  'raid10',
  'raid456',
];

export const FILESYSTEMS = ['kernel/fs/ext4/', 'kernel/fs/xfs/', 'kernel/fs/btrfs/', 'kernel/fs/fat/', 'kernel/fs/isofs/', 'crc32c'];

/**
 * Of those, what most machines boot from: SATA (AHCI), NVMe and virtio disks with ext4. These stay
 * unpacked in the image; the rest of the generic set is kept compressed (coldKernelModules) and
 * costs a decompression only on the machines that load it.
 */
export const COMMON_STORAGE = ['ahci', 'nvme', 'sd_mod', 'virtio_blk', 'virtio_scsi', 'kernel/drivers/virtio/', 'loop'];
export const COMMON_FILESYSTEMS = ['kernel/fs/ext4/', 'crc32c'];

/**
 * What a first stage needs to reach a /boot: the common disk controllers only (not every SCSI or
 * PATA driver), and the filesystems /boot is usually on. Kept small on purpose: this is what the
 * kernel unpacks before anything else (a /boot on xfs or btrfs needs those added).
 */
export const BOOT_STORAGE = [
  'ahci', 'ata_piix', 'nvme', 'virtio_pci', 'virtio_blk', 'virtio_scsi', 'sd_mod', 'sr_mod',
  'xhci_pci', 'ehci_pci', 'usb_storage', 'uas', 'sdhci_pci', 'mmc_block',
  'ext4', 'vfat', 'nls_cp437', 'nls_iso8859_1', 'crc32c',
];
