// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';

export default defineModule({
  name: 'resume',
  description: 'resume= : resume from a hibernation image on a swap device before the root is mounted',
  depends: ['base', 'kmod'],
  hooks: { mount: ['40-resume.sh'] },
  params: ['resume', 'noresume'],
});
