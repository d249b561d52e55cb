// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';
import { COMMON_FILESYSTEMS, COMMON_STORAGE, FILESYSTEMS, STORAGE_DRIVERS } from './drivers.ts';

// The driver table rendered for this subset (src/core/boot-kmod-table.ts) lets /init match the
// devices present and insmod their drivers; the regenerated index serves modprobe for the rest.
export default defineModule({
  name: 'kmod',
  description: 'storage and filesystem kernel modules, loaded at boot by device alias',
  depends: ['base'],
  kernelModules: [...COMMON_STORAGE, ...COMMON_FILESYSTEMS],
  coldKernelModules: [...STORAGE_DRIVERS, ...FILESYSTEMS],
  files: [{ from: 'kmod.sh', to: '/lib/ruckusrd/kmod.sh' }, { from: 'modprobe.sh', to: '/usr/sbin/modprobe', mode: 0o755 }],
  hooks: { devices: ['10-load-modules.sh', '20-mount-firmware.sh'], 'pre-pivot': ['90-hand-over-modules.sh'] },
  params: ['modules-early', 'blacklist', 'fwdev', 'modinject', 'rootdelay'],
});
