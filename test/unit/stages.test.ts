// SPDX-License-Identifier: GPL-2.0-or-later
import { describe, expect, test } from 'bun:test';
import type { PlanEntry } from '../../src/core/plan.ts';
import { EMBEDDED_STAGE2_PATH, overlayDirs, renderStage2Conf, secondStageEntries } from '../../src/core/stages.ts';

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

describe('stage edges', () => {
  test('overlay directories: only top-level directories that hold something, sorted, once', () => {
    const entries = [
      e('plan', { kind: 'dir', path: '/usr' }),
      e('plan', { kind: 'dir', path: '/etc' }),
      e('m', { kind: 'symlink', path: '/bin', target: 'usr/bin' }),
      e('m', { kind: 'bytes', path: '/var/x', mode: 0o644, data: bytes('') }),
      e('m', { kind: 'bytes', path: '/lib/a/b', mode: 0o644, data: bytes('') }),
      e('m', { kind: 'bytes', path: '/lib/c', mode: 0o644, data: bytes('') }),
    ];
    expect(overlayDirs(entries)).toEqual(['lib', 'var']);
    expect(overlayDirs([])).toEqual([]);
  });
  test('an entry whose content differs from the first stage goes to the second; a directory always does', () => {
    const first = [e('m', { kind: 'symlink', path: '/a', target: 'x' }), e('plan', { kind: 'dir', path: '/d' })];
    const full = [e('m', { kind: 'symlink', path: '/a', target: 'y' }), e('plan', { kind: 'dir', path: '/d' }), e('m', { kind: 'dir', path: '/new' })];
    expect(secondStageEntries(full, first).map((x) => x.item.path)).toEqual(['/a', '/d', '/new']);
    expect(secondStageEntries(first, first).map((x) => x.item.path)).toEqual(['/d']);
  });
  test('stage2.conf for the embedded placement, a zero size kept, empty dirs left out', () => {
    expect(renderStage2Conf({ type: 'squashfs', placement: 'embedded', image: '/usr/lib/ruckusrd/stage2.img', size: 0, sha256: '00', dirs: [] })).toBe(
      'type=squashfs\nplacement=embedded\nimage=/usr/lib/ruckusrd/stage2.img\nsize=0\nsha256=00\n',
    );
  });
});

test('the embedded second stage lives where README says', async () => {
  const readme = await Bun.file(new URL('../../README.md', import.meta.url)).text();
  expect(EMBEDDED_STAGE2_PATH).toBe('/usr/lib/ruckusrd/stage2.img');
  expect(readme).toContain(`\`${EMBEDDED_STAGE2_PATH}\``);
});

test('a device node only the full plan has still stays out of the second stage', () => {
  const node = e('m', { kind: 'node', path: '/dev/extra', mode: 0o600, type: 'char', major: 1, minor: 1 });
  expect(secondStageEntries([node], [])).toEqual([]);
});
