// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

export default defineModule({
  name: 'overlay',
  description: 'assemble an OverlayFS root from squashfs/erofs layers (sqsh_layers), RuckusRD style',
  depends: ['base', 'kmod', 'rootfs'],
  kernelModules: ['overlay', 'squashfs', 'erofs', 'loop'],
  files: [
    { from: 'layers.sh', to: '/lib/ruckusrd/layers.sh' },
    { from: 'layerops.sh', to: '/lib/ruckusrd/layerops.sh' },
  ],
  // /init finishes a pending sqsh-commit of a persistent upper (hooks/55): it squashes the upper,
  // and with --merge copies layers with GNU tar (busybox tar keeps no xattrs).
  // glibc dlopens libgcc_s when mksquashfs's threads exit (pthread_exit): no ELF reader sees that.
  optionalBinaries: ['mksquashfs', 'tar', '/lib/x86_64-linux-gnu/libgcc_s.so.1'],
  // Kept compressed until a pending operation needs them (a stub at each path unpacks them).
  coldBinaries: ['mksquashfs', 'tar', '/lib/x86_64-linux-gnu/libgcc_s.so.1'],
  hooks: {
    mount: ['55-finish-layer-ops.sh', '60-assemble-layers.sh'],
    'pre-pivot': ['20-mount-var-layer.sh', '30-stamp-hostname.sh', '95-move-layer-mounts.sh'],
  },
  params: [
    'sqsh_layers', 'sqsh_layerdir', 'sqsh_layerdev', 'sqshfstype', 'ram_layer', 'to_ram',
    'overlayflags', 'root_true_rw', 'rw', 'var_layer', 'hoststamp',
  ],
});
