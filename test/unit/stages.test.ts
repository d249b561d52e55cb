// SPDX-License-Identifier: GPL-2.0-or-later
import { describe, expect, test } from 'bun:test';
import type { PlanEntry } from '../../src/core/plan.ts';
import { overlayDirs, renderStage2Conf, secondStageEntries } from '../../src/core/stages.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const e = (owner: string, item: PlanEntry['item']): PlanEntry => ({ owner, item });

describe('secondStageEntries', () => {
  const first = [
    e('plan', { kind: 'dir', path: '/usr' }),
    e('base', { kind: 'file', path: '/usr/bin/busybox', mode: 0o755, source: '/usr/bin/busybox' }),
    e('base', { kind: 'node', path: '/dev/console', mode: 0o600, type: 'char', major: 5, minor: 1 }),
    e('kernel-modules', { kind: 'bytes', path: '/usr/lib/modules/k/modules.dep', mode: 0o644, data: bytes('loop.ko:\n') }),
  ];
  const full = [
    ...first.slice(0, 3),
    e('kernel-modules', { kind: 'bytes', path: '/usr/lib/modules/k/modules.dep', mode: 0o644, data: bytes('loop.ko:\next4.ko: jbd2.ko\n') }),
    e('rootfs', { kind: 'bytes', path: '/usr/lib/ruckusrd/hooks/mount/50-rootfs-mount-root.sh', mode: 0o644, data: bytes('x') }),
    e('rootfs', { kind: 'symlink', path: '/usr/sbin/findfs', target: '../bin/busybox' }),
  ];
  const second = secondStageEntries(full, first);
  test('what the first stage already has, with the same content, stays out', () =>
    expect(second.map((x) => x.item.path)).toEqual([
      '/usr',
      '/usr/lib/modules/k/modules.dep',
      '/usr/lib/ruckusrd/hooks/mount/50-rootfs-mount-root.sh',
      '/usr/sbin/findfs',
    ]));
  test('the fuller module index wins in the second stage', () => {
    const dep = second.find((x) => x.item.path.endsWith('modules.dep'))!.item;
    expect(dep.kind === 'bytes' && new TextDecoder().decode(dep.data)).toContain('ext4.ko');
  });
  test('device nodes never go to the second stage', () => expect(second.some((x) => x.item.kind === 'node')).toBe(false));
  test('overlay directories are the top-level directories with content', () => expect(overlayDirs(second)).toEqual(['usr']));
});

test('renderStage2Conf leaves out what a placement does not use', () => {
  const text = renderStage2Conf({ type: 'erofs', placement: 'boot', dev: 'UUID=1', path: '/boot/x.stage2', size: 3, sha256: 'ab', dirs: ['etc', 'usr'] });
  expect(text).toBe('type=erofs\nplacement=boot\ndev=UUID=1\npath=/boot/x.stage2\nsize=3\nsha256=ab\ndirs=etc usr\n');
});
