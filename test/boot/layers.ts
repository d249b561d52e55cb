// SPDX-License-Identifier: GPL-2.0-or-later
// The seed's three layers — base, server (overrides a file, deletes another with a whiteout),
// extra (overrides again) — as squashfs or erofs images built without mounting.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGuestRoot, run } from './disks.ts';

/**
 * What stays attached after switch_root, seen where /proc/mounts cannot see it (mounts left in the
 * discarded initramfs): each mounted ext4 or erofs instance has a /sys/fs directory named by its
 * device, and each bound loop device names its backing file.
 */
export const FS_INSTANCES = `
echo "EXT4=$(ls /sys/fs/ext4 2>/dev/null | grep -vx features | tr '\\n' ' ')"
echo "EROFS=$(ls /sys/fs/erofs 2>/dev/null | grep -vx features | tr '\\n' ' ')"
echo "LOOPS=$(cat /sys/block/loop*/loop/backing_file 2>/dev/null | tr '\\n' ' ')"
`;

/** The guest action `probe`: what the stack shows, then a write named by test.arg=. */
export const PROBE_ACTION = `
for w in $(cat /proc/cmdline); do case $w in test.arg=*) arg=\${w#test.arg=} ;; esac; done
echo "WHO=$(cat /etc/layer-who)"
[ -e /etc/deleted-by-server ] && echo DELETED=present || echo DELETED=gone
echo "SEEN=$(ls /probes 2>/dev/null | tr '\\n' ' ')"
mkdir -p /probes 2>/dev/null
echo x > "/probes/\${arg:-none}" 2>/dev/null && echo WRITE=ok || echo WRITE=failed
echo "VARSEEN=$(ls /var/probes 2>/dev/null | tr '\\n' ' ')"
mkdir -p /var/probes 2>/dev/null
echo x > "/var/probes/\${arg:-none}" 2>/dev/null && echo VARWRITE=ok || echo VARWRITE=failed
sync
${FS_INSTANCES}
`;

export function makeLayerTrees(dir: string, token: string): Record<'base' | 'server' | 'extra', string> {
  const trees = { base: join(dir, 'base'), server: join(dir, 'server'), extra: join(dir, 'extra') };
  makeGuestRoot(trees.base, token, { probe: PROBE_ACTION });
  writeFileSync(join(trees.base, 'etc/layer-who'), 'base\n');
  writeFileSync(join(trees.base, 'etc/deleted-by-server'), 'base\n');
  for (const name of ['server', 'extra'] as const) {
    mkdirSync(join(trees[name], 'etc'), { recursive: true });
    writeFileSync(join(trees[name], 'etc/layer-who'), `${name}\n`);
  }
  // An OverlayFS whiteout: a 0/0 character device hides the file of the layers below.
  run(['mknod', join(trees.server, 'etc/deleted-by-server'), 'c', '0', '0']);
  return trees;
}

export function makeSquashfs(tree: string, out: string): string {
  run(['mksquashfs', tree, out, '-all-root', '-noappend', '-quiet', '-no-progress', '-mkfs-time', '0', '-all-time', '0']);
  return out;
}

export function makeErofs(tree: string, out: string): string {
  run(['mkfs.erofs', '--all-root', '-T0', '-U', '00000000-0000-0000-0000-000000000001', out, tree]);
  return out;
}
