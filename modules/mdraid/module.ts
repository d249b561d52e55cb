// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule, type PlanContext } from '../../src/core/module.ts';
import type { StageItem } from '../../src/core/stage.ts';
import { BaseFs } from '../../src/host/base.ts';

/** The base's mdadm.conf (its ARRAY lines name the arrays and their devices), where Debian or others keep it. */
function planMdadmConf(ctx: PlanContext): StageItem[] {
  const base = new BaseFs(ctx.base);
  for (const path of ['/etc/mdadm/mdadm.conf', '/etc/mdadm.conf']) {
    const found = base.resolve(path);
    if (found) return [{ kind: 'file', path, mode: 0o644, source: base.hostPath(found.path) }];
  }
  return [];
}

export default defineModule({
  name: 'mdraid',
  description: 'assemble MD RAID arrays (rd.md.*, the base\'s mdadm.conf) with mdadm, no udev',
  depends: ['base', 'kmod'],
  coldKernelModules: ['md_mod', 'raid0', 'raid1', 'raid10', 'raid456', 'linear'],
  kernelModulesNotInEveryKernel: ['linear'],
  binaries: ['mdadm'],
  coldBinaries: ['mdadm'],
  files: [
    { from: 'templates/lib/storage.sh', to: '/lib/ruckusrd/storage.sh' },
    { from: 'md.sh', to: '/lib/ruckusrd/md.sh' },
  ],
  hooks: { devices: ['30-assemble.sh'] },
  params: ['rd.md', 'rd.md.uuid'],
  plan: planMdadmConf,
});
