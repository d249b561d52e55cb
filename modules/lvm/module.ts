// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

export default defineModule({
  name: 'lvm',
  description: 'activate LVM logical volumes (rd.lvm.*, or the LV root= names) with lvm, no udev',
  depends: ['base', 'kmod'],
  coldKernelModules: ['dm_mod', 'dm_snapshot', 'dm_mirror', 'dm_thin_pool', 'dm_cache', 'dm_cache_smq', 'dm_raid', 'dm_integrity', 'raid1'],
  binaries: ['lvm'],
  coldBinaries: ['lvm'],
  files: [
    { from: 'templates/lib/storage.sh', to: '/lib/ruckusrd/storage.sh' },
    { from: 'lvm.sh', to: '/lib/ruckusrd/lvm.sh' },
    { from: 'lvm.conf', to: '/etc/lvm/lvm.conf' },
  ],
  hooks: { devices: ['32-activate.sh'] },
  params: ['rd.lvm', 'rd.lvm.vg', 'rd.lvm.lv', 'root', 'resume', 'sqsh_layerdev'],
});
