// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

// The /boot second stage read through dm-verity (templates/lib/stage2.sh): each block is checked
// against the root hash the first stage records when it is read, instead of reading the whole
// file for a sha256 before mounting it. storage-init wants it where the base has dmsetup (smaller
// than veritysetup: no libcryptsetup, no libcrypto); `--omit stage2-verity` keeps the sha256.
export default defineModule({
  name: 'stage2-verity',
  description: 'the /boot second stage verified lazily by dm-verity (dmsetup) instead of a full sha256',
  depends: ['storage-init'],
  firstStage: true,
  kernelModules: ['dm-verity'],
  binaries: ['dmsetup'],
});
