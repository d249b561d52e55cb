// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

export default defineModule({
  name: 'verity',
  description: 'verified layers: dm-verity over each layer with a trusted root hash (--trust-layer, sqsh_verity_roots=)',
  depends: ['overlay'],
  // The checks live in the overlay module's layers.sh (mount_layer); this brings what they run.
  kernelModules: ['dm-verity'],
  binaries: ['veritysetup'],
  params: ['sqsh_verity', 'sqsh_verity_roots'],
});
