// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';
import { FILESYSTEMS, STORAGE_DRIVERS } from './drivers.ts';

// The index regenerated for this subset lets busybox modprobe load them by device alias at boot.
export default defineModule({
  name: 'kmod',
  description: 'storage and filesystem kernel modules, loaded at boot by device alias',
  depends: ['base'],
  kernelModules: [...STORAGE_DRIVERS, ...FILESYSTEMS],
  hooks: { devices: ['10-load-modules.sh', '20-mount-firmware.sh'], 'pre-pivot': ['90-hand-over-modules.sh'] },
  params: ['modules-early', 'blacklist', 'fwdev', 'modinject', 'rootdelay'],
});
