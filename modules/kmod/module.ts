// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';
import { COMMON_FILESYSTEMS, COMMON_STORAGE, FILESYSTEMS, STORAGE_DRIVERS } from './drivers.ts';

const MODPROBE = '/usr/lib/ruckusrd/modprobe';

// The driver table rendered for this subset (src/core/boot-kmod-table.ts) lets /init match the
// devices present and insmod their drivers; the regenerated index serves modprobe for the rest.
export default defineModule({
  name: 'kmod',
  description: 'storage and filesystem kernel modules, loaded at boot by device alias',
  depends: ['base'],
  kernelModules: [...COMMON_STORAGE, ...COMMON_FILESYSTEMS],
  coldKernelModules: [...STORAGE_DRIVERS, ...FILESYSTEMS],
  files: [{ from: 'kmod.sh', to: '/lib/ruckusrd/kmod.sh' }, { from: 'modprobe.sh', to: MODPROBE, mode: 0o755 }],
  // The kernel's module helper path, through /proc: before /init has mounted /proc the link leads
  // nowhere, so a request of the kernel's own start fails at exec, as with an initramfs that has
  // no modprobe, instead of starting a shell for each (issue 11: six on Debian's 6.1, ~40 ms of
  // its boot on QEMU's instruction clock); from /init on it is modprobe.sh, for /init, the kernel
  // and a rescue shell alike.
  plan: () => [{ kind: 'symlink', path: '/usr/sbin/modprobe', target: `/proc/self/root${MODPROBE}` }],
  hooks: { devices: ['10-load-modules.sh', '20-mount-firmware.sh'], 'pre-pivot': ['90-hand-over-modules.sh'] },
  params: ['modules-early', 'blacklist', 'fwdev', 'modinject', 'rootdelay'],
});
