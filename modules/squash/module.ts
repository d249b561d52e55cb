// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

// dracut's 99squash idea: most of the initramfs stays compressed in a read-only image inside it.
export default defineModule({
  name: 'squash',
  description: 'second stage embedded in the image: loop-mounted, overlaid, released before switch_root',
  depends: ['base'],
  firstStage: true,
  kernelModules: ['loop', 'squashfs', 'erofs', 'overlay'],
  hooks: { stage2: ['10-mount-embedded-stage2.sh'], 'pre-pivot': ['99-release-stage2.sh'] },
});
