// SPDX-License-Identifier: GPL-2.0-or-later
import { describe, expect, test } from 'bun:test';
import { parseConfig } from '../../src/core/config.ts';
import { selectKernel } from '../../src/core/kernel.ts';
import { defineModule, type ModuleManifest } from '../../src/core/module.ts';
import { resolveModules } from '../../src/core/modules.ts';
import { buildPlan, comparePaths } from '../../src/core/plan.ts';
import { buildRequest } from '../../src/core/request.ts';
import { shQuote } from '../../src/core/shquote.ts';
import { UserError } from '../../src/log.ts';

const installed = ['6.1.0-56-amd64', '6.1.0-57-amd64', '6.5.0-1-amd64'];

describe('selectKernel', () => {
  test.each([
    ['6.5', '6.5.0-1-amd64'],
    ['6.1.0-56-amd64', '6.1.0-56-amd64'],
    ['6.1.0-57', '6.1.0-57-amd64'],
  ])('%s → %s', (req, want) => expect(selectKernel(installed, req, 'x', '/')).toBe(want));
  test('running kernel by default', () => expect(selectKernel(installed, undefined, '6.5.0-1-amd64', '/')).toBe('6.5.0-1-amd64'));
  test.each([
    ['6.1', /ambiguous: 6.1.0-56-amd64, 6.1.0-57-amd64/],
    ['7', /not installed under \/; installed: 6.1.0-56-amd64, 6.1.0-57-amd64, 6.5.0-1-amd64/],
  ])('%s is an error', (req, msg) => expect(() => selectKernel(installed, req, 'x', '/')).toThrow(msg));
  test('missing running kernel lists installed', () =>
    expect(() => selectKernel(installed, undefined, '9.9', '/b')).toThrow(/running kernel 9.9 has no modules under \/b.*6.5.0-1-amd64/));
  // Debian 12 with its 6.1 kernels and the 6.12 backport: a prefix never cuts a number in two.
  const mixed = ['6.12.113+deb12-amd64', '6.1.0-56-amd64', '6.1.0-9-amd64'];
  test.each([
    ['6.12', '6.12.113+deb12-amd64'],
    ['6.1.0-9', '6.1.0-9-amd64'],
    ['6.1.0-5', /'6.1.0-5' is not installed/],
    ['6.1', /ambiguous: 6.1.0-9-amd64, 6.1.0-56-amd64 match it; .*--kernel \(installed: 6.1.0-9-amd64, 6.1.0-56-amd64, 6.12.113\+deb12-amd64\)$/],
    ['6.1.', /ambiguous: 6.1.0-9-amd64, 6.1.0-56-amd64 match/],
  ])('beside 6.12: %s → %p', (req, want) => {
    if (typeof want === 'string') expect(selectKernel(mixed, req, 'x', '/')).toBe(want);
    else expect(() => selectKernel(mixed, req, 'x', '/')).toThrow(want);
  });
});

const mod = (name: string, depends: string[] = []): ModuleManifest => defineModule({ name, description: name, depends });
const registry = new Map(
  [mod('base'), mod('kmod', ['base']), mod('rootfs', ['base', 'kmod']), mod('a', ['b']), mod('b', ['a']), mod('x', ['nope'])].map((m) => [m.name, m]),
);
const names = (ms: ModuleManifest[]) => ms.map((m) => m.name);

describe('resolveModules', () => {
  test('dependencies first', () => expect(names(resolveModules(registry, { defaults: ['rootfs'] }))).toEqual(['base', 'kmod', 'rootfs']));
  test('add', () => expect(names(resolveModules(registry, { defaults: ['base'], add: ['kmod'] }))).toEqual(['base', 'kmod']));
  test('--modules replaces defaults', () => expect(names(resolveModules(registry, { defaults: ['rootfs'], modules: ['base'] }))).toEqual(['base']));
  test('omit a leaf', () => expect(names(resolveModules(registry, { defaults: ['base', 'kmod'], omit: ['kmod'] }))).toEqual(['base']));
  test.each([
    [{ defaults: ['a'] }, /cycle: a -> b -> a/],
    [{ defaults: ['x'] }, /unknown module 'nope' \(needed by 'x'\)/],
    [{ defaults: ['zzz'] }, /unknown module 'zzz'; available: a, b, base/],
    [{ defaults: ['rootfs'], omit: ['kmod'] }, /'rootfs' depends on omitted module 'kmod'/],
  ])('%o is an error', (sel, msg) => expect(() => resolveModules(registry, sel)).toThrow(msg));
});

describe('buildPlan', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  test('parents added, sorted, canonical through dir symlinks', () => {
    const plan = buildPlan([
      { owner: 'base', item: { kind: 'symlink', path: '/bin', target: 'usr/bin' } },
      { owner: 'base', item: { kind: 'file', path: '/bin/sh', mode: 0o755, source: '/x/sh' } },
      { owner: 'base', item: { kind: 'bytes', path: '/etc/a', mode: 0o644, data: bytes('a') } },
    ]);
    expect(plan.map((e) => e.item.path)).toEqual(['/bin', '/etc', '/etc/a', '/usr', '/usr/bin', '/usr/bin/sh']);
  });
  test('identical content from two modules is fine', () => {
    const item = { kind: 'bytes', path: '/etc/a', mode: 0o644, data: bytes('a') } as const;
    expect(buildPlan([{ owner: 'm1', item }, { owner: 'm2', item: { ...item, data: bytes('a') } }])).toHaveLength(2);
  });
  test('different content names both modules', () => {
    expect(() =>
      buildPlan([
        { owner: 'm1', item: { kind: 'bytes', path: '/etc/a', mode: 0o644, data: bytes('a') } },
        { owner: 'm2', item: { kind: 'bytes', path: '/etc/a', mode: 0o644, data: bytes('b') } },
      ]),
    ).toThrow("/etc/a is provided differently by modules 'm1' and 'm2'");
  });
  test('a clash with --install says that --include replaces and --install does not', () => {
    const clash = (owner: string) => () => buildPlan([
      { owner: 'kmod', item: { kind: 'bytes', path: '/usr/sbin/modprobe', mode: 0o755, data: bytes('script') } },
      { owner, item: { kind: 'bytes', path: '/usr/sbin/modprobe', mode: 0o755, data: bytes('ELF') } },
    ]);
    expect(clash('install')).toThrow(/'kmod' and 'install'; --install does not replace a file a module provides \(--include SRC:DST does/);
    expect(clash('m2')).toThrow(/'kmod' and 'm2'$/);
  });
  test('override wins when declared', () => {
    const plan = buildPlan(
      [
        { owner: 'm1', item: { kind: 'bytes', path: '/etc/a', mode: 0o644, data: bytes('a') } },
        { owner: 'm2', item: { kind: 'bytes', path: '/etc/a', mode: 0o644, data: bytes('b') } },
      ],
      new Map([['m2', new Set(['/etc/a'])]]),
    );
    expect(plan.find((e) => e.item.path === '/etc/a')?.owner).toBe('m2');
  });
  test('weak items yield', () => {
    const plan = buildPlan([
      { owner: 'base', item: { kind: 'symlink', path: '/usr/bin/blkid', target: '/usr/bin/busybox', weak: true } },
      { owner: 'rootfs', item: { kind: 'file', path: '/usr/bin/blkid', mode: 0o755, source: '/s' } },
    ]);
    expect(plan.find((e) => e.item.path === '/usr/bin/blkid')?.owner).toBe('rootfs');
  });
  test('.. cannot escape', () => expect(() => buildPlan([{ owner: 'm', item: { kind: 'dir', path: '/a/../../x' } }])).toThrow(/escapes/));
  test('directories sort before their contents', () => {
    expect(['/a-b', '/a/b', '/a'].sort(comparePaths)).toEqual(['/a', '/a/b', '/a-b']);
  });
});

describe('config and request', () => {
  test('key = value lines, quotes, accumulation', () => {
    const c = parseConfig('# comment\ncompress = "gzip"\nadd = a b\n', 'f');
    parseConfig("add += c\nomit='d'\n", 'g', c);
    expect(c).toEqual({ compress: 'gzip', add: ['a', 'b', 'c'], omit: ['d'] });
  });
  test.each([
    ['bogus = 1', /f:1: unknown key 'bogus'/],
    ['compress', /f:1: expected key = value/],
  ])('%s is an error', (text, msg) => expect(() => parseConfig(text, 'f')).toThrow(msg));
  test('flags win over files', () => {
    const r = buildRequest({ out: 'o', compress: 'xz', add: ['x,y'] }, { compress: 'gzip', add: ['a'] }, {});
    expect([r.compress, r.modules.add, r.mtime]).toEqual(['xz', ['a', 'x', 'y'], 0]);
  });
  test('SOURCE_DATE_EPOCH', () => expect(buildRequest({ out: 'o' }, {}, { SOURCE_DATE_EPOCH: '1700000000' }).mtime).toBe(1700000000));
  test('rejects an unknown compression', () =>
    expect(() => buildRequest({ out: 'o', compress: 'rar' }, {}, {})).toThrow(/invalid --compress 'rar'/));
  test('rejects a non-numeric SOURCE_DATE_EPOCH', () =>
    expect(() => buildRequest({ out: 'o' }, {}, { SOURCE_DATE_EPOCH: 'now' })).toThrow(/SOURCE_DATE_EPOCH/));
  test('errors are UserErrors', () => expect(() => buildRequest({ out: 'o', compress: 'rar' }, {}, {})).toThrow(UserError));
});

describe('shQuote', () => {
  test.each(["plain", "it's", "$(id) `id` ; | & \\ \" '"])('%s round-trips through sh', (s) => {
    const out = Bun.spawnSync(['sh', '-c', `printf %s ${shQuote(s)}`]).stdout.toString();
    expect(out).toBe(s);
  });
});

describe('README', () => {
  test('documents every boot parameter of src/core/params.ts', async () => {
    const { PARAMS } = await import('../../src/core/params.ts');
    const readme = await Bun.file(new URL('../../README.md', import.meta.url)).text();
    const missing = PARAMS.filter((p) => !readme.includes(`| \`${p.name}\` | ${p.kind} |`)).map((p) => p.name);
    expect(missing).toEqual([]);
  });
});
