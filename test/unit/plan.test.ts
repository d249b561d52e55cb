// SPDX-License-Identifier: GPL-2.0-or-later
// The staging plan (src/core/plan.ts, stage.ts): path canonicalisation through directory symlinks,
// weak items, parents, order. Collisions between modules are in manifest.test.ts.
import { describe, expect, test } from 'bun:test';
import { buildPlan, comparePaths, sameContent, type OwnedItem } from '../../src/core/plan.ts';
import { normalizeImagePath, parentDirs, type StageItem } from '../../src/core/stage.ts';
import { UserError } from '../../src/log.ts';

const link = (path: string, target: string, owner = 'base'): OwnedItem => ({ owner, item: { kind: 'symlink', path, target } });
const file = (path: string, owner = 'm', source = '/src'): OwnedItem => ({ owner, item: { kind: 'file', path, mode: 0o755, source } });
const paths = (items: OwnedItem[]): string[] => buildPlan(items).map((e) => e.item.path);

describe('normalizeImagePath and parentDirs', () => {
  test.each([
    ['/a/b', '/a/b'], ['a/b', '/a/b'], ['/a//b/', '/a/b'], ['/./a/./b/.', '/a/b'], ['/', '/'], ['', '/'], ['.', '/'],
    ['/a/..b/c..', '/a/..b/c..'],
  ])('%p → %p', (path, want) => expect(normalizeImagePath(path)).toBe(want));
  test.each(['/a/../b', '..', '/a/b/..'])('%p escapes', (path) => {
    expect(() => normalizeImagePath(path)).toThrow(`path escapes the image root: ${path}`);
  });
  test.each([
    ['/a/b/c', ['/a', '/a/b']], ['/a', []], ['/', []], ['a//b/c', ['/a', '/a/b']],
  ] as [string, string[]][])('parents of %p', (path, want) => expect(parentDirs(path)).toEqual(want));
});

describe('buildPlan paths', () => {
  test.each([
    ['a relative directory link', [link('/bin', 'usr/bin'), file('/bin/sh')], ['/bin', '/usr', '/usr/bin', '/usr/bin/sh']],
    ['an absolute directory link', [link('/bin', '/usr/bin'), file('/bin/sh')], ['/bin', '/usr', '/usr/bin', '/usr/bin/sh']],
    ['a link with ..', [link('/usr/sbin', '../bin'), file('/usr/sbin/x')], ['/bin', '/bin/x', '/usr', '/usr/sbin']],
    ['a link with . and //', [link('/l', './a//b/'), file('/l/x')], ['/a', '/a/b', '/a/b/x', '/l']],
    ['links through links', [link('/lib64', 'lib'), link('/lib', 'usr/lib'), file('/lib64/ld.so')],
      ['/lib', '/lib64', '/usr', '/usr/lib', '/usr/lib/ld.so']],
    ['a link as the last component is itself', [link('/bin', 'usr/bin'), link('/usr/bin/sh', 'busybox')],
      ['/bin', '/usr', '/usr/bin', '/usr/bin/sh']],
    ['a link nobody goes through', [link('/x', '/nowhere'), file('/y/z')], ['/x', '/y', '/y/z']],
    ['a link deeper in the path', [link('/usr/lib64', 'lib'), file('/usr/lib64/a/b')],
      ['/usr', '/usr/lib', '/usr/lib/a', '/usr/lib/a/b', '/usr/lib64']],
  ] as [string, OwnedItem[], string[]][])('%s', (_name, items, want) => {
    expect(paths(items)).toEqual(want);
  });

  test('the canonical path is what the entry carries; parents come from the plan', () => {
    const plan = buildPlan([link('/bin', 'usr/bin'), file('/bin/sh', 'base', '/host/sh')]);
    expect(plan).toEqual([
      { owner: 'base', item: { kind: 'symlink', path: '/bin', target: 'usr/bin' } },
      { owner: 'plan', item: { kind: 'dir', path: '/usr' } },
      { owner: 'plan', item: { kind: 'dir', path: '/usr/bin' } },
      { owner: 'base', item: { kind: 'file', path: '/usr/bin/sh', mode: 0o755, source: '/host/sh' } },
    ]);
  });

  test('a module directory keeps its mode and owner over the plan parents', () => {
    const plan = buildPlan([file('/etc/x/y'), { owner: 'm2', item: { kind: 'dir', path: '/etc', mode: 0o700 } }]);
    expect(plan.map((e) => [e.owner, e.item])).toEqual([
      ['m2', { kind: 'dir', path: '/etc', mode: 0o700 }],
      ['plan', { kind: 'dir', path: '/etc/x' }],
      ['m', { kind: 'file', path: '/etc/x/y', mode: 0o755, source: '/src' }],
    ]);
  });

  test('two modules giving one directory: the later one owns it', () => {
    const plan = buildPlan([{ owner: 'a', item: { kind: 'dir', path: '/d' } }, { owner: 'b', item: { kind: 'dir', path: '/d/' } }]);
    expect(plan).toEqual([{ owner: 'b', item: { kind: 'dir', path: '/d' } }]);
  });

  test('a symlink loop is a UserError naming where', () => {
    expect(() => buildPlan([link('/a', 'b'), link('/b', 'a'), file('/a/x')])).toThrow(new UserError('symlink loop in the image at /a'));
    expect(() => buildPlan([link('/a', '/a'), file('/a/x')])).toThrow(/symlink loop in the image at \/a/);
  });

  test('a chain of 40 links is followed; 41 is a loop', () => {
    const chain = (n: number): OwnedItem[] => [
      ...Array.from({ length: n }, (_, i) => link(`/l${i}`, i === n - 1 ? 'real' : `l${i + 1}`)),
      file('/l0/x'),
    ];
    expect(buildPlan(chain(40)).some((e) => e.item.path === '/real/x')).toBe(true);
    expect(() => buildPlan(chain(41))).toThrow(/symlink loop/);
  });

  test('paths escaping the image are refused', () => {
    expect(() => buildPlan([file('/a/../../x')])).toThrow(/escapes/);
  });
});

describe('weak items', () => {
  const weak = (path: string, owner = 'base'): OwnedItem => ({ owner, item: { kind: 'symlink', path, target: 'busybox', weak: true } });
  test.each([
    ['weak, then strong: the strong wins', [weak('/bin/ls'), file('/bin/ls', 'rootfs')], 'rootfs'],
    ['strong, then weak: the strong stays', [file('/bin/ls', 'rootfs'), weak('/bin/ls')], 'rootfs'],
    ['weak, then weak: the first stays', [weak('/bin/ls', 'a'), weak('/bin/ls', 'b')], 'a'],
    ['weak alone', [weak('/bin/ls')], 'base'],
  ] as [string, OwnedItem[], string][])('%s', (_name, items, owner) => {
    const plan = buildPlan([{ owner: 'x', item: { kind: 'dir', path: '/bin' } }, ...items]);
    expect(plan.filter((e) => e.item.path === '/bin/ls').map((e) => e.owner)).toEqual([owner]);
  });
  test('a weak item never collides, even with different content', () => {
    expect(() => buildPlan([file('/bin/ls', 'a', '/one'), { owner: 'b', item: { kind: 'file', path: '/bin/ls', mode: 0o600, source: '/two', weak: true } }])).not.toThrow();
  });
});

describe('sameContent', () => {
  const items: StageItem[] = [
    { kind: 'dir', path: '/p' },
    { kind: 'dir', path: '/p', mode: 0o700 },
    { kind: 'file', path: '/p', mode: 0o644, source: '/a' },
    { kind: 'bytes', path: '/p', mode: 0o644, data: new Uint8Array([1, 2]) },
    { kind: 'symlink', path: '/p', target: 'a' },
    { kind: 'node', path: '/p', mode: 0o600, type: 'char', major: 1, minor: 2 },
  ];
  test('each kind equals itself and its copy, and nothing of another kind', () => {
    for (const a of items) {
      for (const b of items) expect(sameContent(a, b)).toBe(a.kind === b.kind);
      expect(sameContent(a, structuredClone(a))).toBe(true);
    }
  });
  test('bytes of different length differ', () => {
    const a: StageItem = { kind: 'bytes', path: '/p', mode: 0o644, data: new Uint8Array([1, 2]) };
    expect(sameContent(a, { ...a, data: new Uint8Array([1, 2, 0]) })).toBe(false);
    expect(sameContent(a, { ...a, data: new Uint8Array([1]) })).toBe(false);
  });
  test('every field of a node counts, its mode too', () => {
    const n: StageItem = { kind: 'node', path: '/p', mode: 0o600, type: 'char', major: 1, minor: 2 };
    expect(sameContent(n, { ...n, mode: 0o666 })).toBe(false);
    expect(sameContent(n, { ...n, type: 'block' })).toBe(false);
    expect(sameContent(n, { ...n, major: 2 })).toBe(false);
    expect(sameContent(n, { ...n, minor: 3 })).toBe(false);
  });
  test('files: source and mode; symlinks: target', () => {
    const f: StageItem = { kind: 'file', path: '/p', mode: 0o644, source: '/a' };
    expect(sameContent(f, { ...f, source: '/b' })).toBe(false);
    expect(sameContent(f, { ...f, mode: 0o755 })).toBe(false);
    expect(sameContent(f, { ...f, path: '/other' })).toBe(true);
    const l: StageItem = { kind: 'symlink', path: '/p', target: 'a' };
    expect(sameContent(l, { ...l, target: 'b' })).toBe(false);
  });
});

describe('comparePaths', () => {
  test.each([
    ['/a', '/a', 0], ['/a', '/a/b', -1], ['/a/b', '/a', 1], ['/a/b', '/a-b', -1], ['/a-b', '/a/b', 1],
    ['/B', '/a', -1], ['/a/z', '/ab', -1], ['/\u00e9', '/z', 1],
  ] as [string, string, number][])('%p vs %p', (a, b, sign) => expect(Math.sign(comparePaths(a, b))).toBe(sign));
});

describe('links below the top level', () => {
  test.each([
    ['an absolute target from a nested link', [link('/a/b', '/c'), file('/a/b/f')], '/c/f'],
    ['a relative target three levels down', [link('/a/b/l', 'x'), file('/a/b/l/f')], '/a/b/x/f'],
  ] as [string, OwnedItem[], string][])('%s', (_name, items, want) => {
    expect(paths(items)).toContain(want);
  });
});

describe('parents resolved once per directory', () => {
  test('each path lands where it lands in a plan of its own (links at several levels, relative, absolute, to the root)', () => {
    const link = (path: string, target: string): OwnedItem => ({ owner: 'm', item: { kind: 'symlink', path, target } });
    const links = [link('/lib', 'usr/lib'), link('/usr/lib/fw', '../share/fw'), link('/bin', '/usr/bin'), link('/up', '/'),
      link('/usr/share/fw/new', 'old'), link('/usr/lib/m', '/lib/modules')];
    const dirs = ['/lib', '/lib/fw', '/lib/fw/new', '/usr/lib', '/bin', '/up', '/up/lib/fw', '/up/bin', '/usr/lib/m/k', '/lib/m/k', '/x/y', '/usr/share/fw/new'];
    const files = dirs.flatMap((d) => ['a', 'b.ko']).map((n, k): OwnedItem => ({ owner: 'm', item: { kind: 'bytes', path: `${dirs[k >> 1]}/${k}${n}`, mode: 0o644, data: new Uint8Array([k]) } }));
    const landed = (plan: ReturnType<typeof buildPlan>) => new Map(plan.flatMap((e) => (e.item.kind === 'bytes' ? [[e.item.data[0]!, e.item.path] as const] : [])));
    const together = landed(buildPlan([...links, ...files]));
    files.forEach((f, k) => expect([f.item.path, together.get(k)]).toEqual([f.item.path, landed(buildPlan([...links, f])).get(k)]));
    const paths = new Set(together.values());
    expect(paths.has('/usr/share/fw/old/4a')).toBe(true);
    expect(paths.has('/usr/lib/modules/k/17b.ko')).toBe(true);
    expect([...paths].some((p) => p.startsWith('/lib/'))).toBe(false);
  });
});
