// SPDX-License-Identifier: GPL-2.0-or-later
import { defineModule } from '../../src/core/module.ts';
import type { StageItem } from '../../src/core/stage.ts';

// The image is always usr-merged: binaries from a split /bin base land in /usr/bin through these.
const MERGED_LINKS: StageItem[] = ['bin', 'sbin', 'lib', 'lib64'].map((d) => ({
  kind: 'symlink',
  path: `/${d}`,
  target: `usr/${d}`,
}));

const DIRS = ['/dev', '/proc', '/sys', '/run', '/sysroot', '/tmp', '/etc/ruckusrd', '/root', '/mnt'];
const LIBS = ['log', 'params', 'device', 'blockid', 'parttable', 'hooks', 'stage2', 'newroot', 'cold'];

export default defineModule({
  name: 'base',
  description: 'busybox, /init and its shell library, the minimal tree and device nodes',
  firstStage: true,
  binaries: ['busybox'],
  files: [
    { from: 'templates/init.sh', to: '/init', mode: 0o755 },
    ...LIBS.map((l) => ({ from: `templates/lib/${l}.sh`, to: `/lib/ruckusrd/${l}.sh`, mode: 0o644 })),
  ],
  params: ['init', 'shell', 'maint', 'rescue', 'quiet', 'verbose', 'initramsys', 'rootdelay', 'rootwait'],
  plan: async (ctx) => [
    ...MERGED_LINKS,
    ...DIRS.map((path): StageItem => ({ kind: 'dir', path, mode: path === '/tmp' ? 0o1777 : 0o755 })),
    { kind: 'node', path: '/dev/console', mode: 0o600, type: 'char', major: 5, minor: 1 },
    { kind: 'node', path: '/dev/null', mode: 0o666, type: 'char', major: 1, minor: 3 },
    ...(await ctx.busyboxApplets()).map(
      (applet): StageItem => ({ kind: 'symlink', path: applet, target: '/usr/bin/busybox', weak: true }),
    ),
  ],
});
