// SPDX-License-Identifier: GPL-2.0-or-later
// What the build rejects in module manifests (README "Build modules"): each error names its offender.
import { describe, expect, test } from 'bun:test';
import { moduleRegistry, readAsset } from '../../src/assets.ts';
import { defineModule, HOOK_PHASES, type ModuleManifest } from '../../src/core/module.ts';
import { resolveModules } from '../../src/core/modules.ts';
import { buildPlan, type OwnedItem } from '../../src/core/plan.ts';
import { moduleFilePath, validateManifest } from '../../src/core/validate.ts';
import { UserError } from '../../src/log.ts';

const ASSETS = new Set([
  'modules/m/hooks/10-load-drivers.sh',
  'modules/m/hooks/50-mount-root.sh',
  'modules/m/conf.sh',
  'templates/lib/common.sh',
]);
const exists = (path: string): boolean => ASSETS.has(path);
const m = (extra: Partial<ModuleManifest>): ModuleManifest => defineModule({ name: 'm', description: 'test', ...extra });

describe('validateManifest', () => {
  test('a manifest using every field correctly passes', () => {
    expect(() =>
      validateManifest(
        m({
          params: ['root', 'sqsh_layers', 'modules-early'],
          hooks: { devices: ['10-load-drivers.sh'], mount: ['50-mount-root.sh'] },
          files: [{ from: 'conf.sh', to: '/etc/x' }, { from: 'templates/lib/common.sh', to: '/lib/c.sh' }, { text: 'x', to: '/etc/y' }],
        }),
        exists,
      ),
    ).not.toThrow();
  });

  test.each(HOOK_PHASES)('phase %s is known', (phase) => {
    expect(() => validateManifest(m({ hooks: { [phase]: ['10-load-drivers.sh'] } }), exists)).not.toThrow();
  });

  const cases: [string, Partial<ModuleManifest>, string][] = [
    ['unknown hook phase', { hooks: { boot: ['10-load-drivers.sh'] } as ModuleManifest['hooks'] },
      `module 'm' has hooks for unknown phase 'boot' (phases: ${HOOK_PHASES.join(', ')})`],
    ['hook phase differing in case', { hooks: { Mount: ['50-mount-root.sh'] } as ModuleManifest['hooks'] },
      "module 'm' has hooks for unknown phase 'Mount'"],
    ['hook without its number', { hooks: { mount: ['mount-root.sh'] } }, "module 'm': hook 'mount-root.sh' must be named NN-verb-noun.sh"],
    ['cold binary it does not list', { binaries: ['lvm'], coldBinaries: ['lvm', 'mdadm'] },
      "module 'm': cold binary 'mdadm' is not among its binaries or optionalBinaries"],
    ['kernel module not in every kernel that it does not request', { coldKernelModules: ['raid1'], kernelModulesNotInEveryKernel: ['linear'] },
      "module 'm': kernel module 'linear' of kernelModulesNotInEveryKernel is not among its kernel modules"],
    ['hook with one digit', { hooks: { mount: ['5-mount-root.sh'] } }, "module 'm': hook '5-mount-root.sh' must be named"],
    ['hook with three digits', { hooks: { mount: ['500-mount-root.sh'] } }, "module 'm': hook '500-mount-root.sh' must be named"],
    ['hook not .sh', { hooks: { mount: ['50-mount-root.bash'] } }, "module 'm': hook '50-mount-root.bash' must be named"],
    ['hook with upper case', { hooks: { mount: ['50-Mount-root.sh'] } }, "module 'm': hook '50-Mount-root.sh' must be named"],
    ['hook in a subdirectory', { hooks: { mount: ['x/50-mount-root.sh'] } }, "module 'm': hook 'x/50-mount-root.sh' must be named"],
    ['hook with trailing text', { hooks: { mount: ['50-mount-root.sh.orig'] } }, "module 'm': hook '50-mount-root.sh.orig' must be named"],
    ['missing hook file', { hooks: { mount: ['50-mount-root.sh', '60-assemble-layers.sh'] } },
      "module 'm': hook file hooks/60-assemble-layers.sh is missing"],
    ['parameter absent from params.ts', { params: ['root', 'rootfs_type'] },
      "module 'm' reads boot parameter 'rootfs_type', which src/core/params.ts does not define"],
    ['missing file', { files: [{ from: 'conf.sh', to: '/etc/x' }, { from: 'gone.sh', to: '/etc/gone' }] },
      "module 'm': file 'gone.sh' for /etc/gone is missing"],
    ['missing template', { files: [{ from: 'templates/lib/gone.sh', to: '/lib/g.sh' }] },
      "module 'm': file 'templates/lib/gone.sh' for /lib/g.sh is missing"],
    ['file with neither from nor text', { files: [{ to: '/etc/nothing' }] }, "module 'm': file '(no from/text)' for /etc/nothing is missing"],
  ];
  test.each(cases)('%s is a UserError naming it', (_name, extra, message) => {
    const check = (): void => validateManifest(m(extra), exists);
    expect(check).toThrow(UserError);
    expect(check).toThrow(message);
  });

  test('hook files are looked up under the module own hooks/ directory', () => {
    const asked: string[] = [];
    validateManifest(m({ name: 'n', hooks: { early: ['10-a-b.sh'] } }), (p) => (asked.push(p), true));
    expect(asked).toEqual(['modules/n/hooks/10-a-b.sh']);
  });

  test('module files: beside the manifest, or under templates/', () => {
    expect(moduleFilePath('overlay', 'layers.sh')).toBe('modules/overlay/layers.sh');
    expect(moduleFilePath('overlay', 'templates/init')).toBe('templates/init');
  });

  test('every shipped module passes against the embedded assets', () => {
    const registry = moduleRegistry();
    expect([...registry.keys()]).toEqual(expect.arrayContaining(['base', 'kmod', 'rootfs', 'overlay']));
    for (const manifest of registry.values()) validateManifest(manifest, (p) => readAsset(p) !== undefined);
  });
});

describe('resolveModules: the dependency graph', () => {
  const reg = (...ms: ModuleManifest[]): Map<string, ModuleManifest> => new Map(ms.map((x) => [x.name, x]));
  const dep = (name: string, ...depends: string[]): ModuleManifest => defineModule({ name, description: name, depends });
  const names = (ms: ModuleManifest[]): string[] => ms.map((x) => x.name);

  test.each([
    ['self', reg(dep('a', 'a')), ['a'], 'module dependency cycle: a -> a'],
    ['two', reg(dep('a', 'b'), dep('b', 'a')), ['a'], 'module dependency cycle: a -> b -> a'],
    ['three, entered midway', reg(dep('top', 'b'), dep('a', 'b'), dep('b', 'c'), dep('c', 'a')), ['top'],
      'module dependency cycle: top -> b -> c -> a -> b'],
  ] as [string, Map<string, ModuleManifest>, string[], string][])('cycle (%s) names its path', (_n, registry, defaults, message) => {
    expect(() => resolveModules(registry, { defaults })).toThrow(new UserError(message));
  });

  test.each([
    ['a dependency', reg(dep('a', 'b'), dep('b', 'gone')), { defaults: ['a'] }, "unknown module 'gone' (needed by 'b'); available: a, b"],
    ['a default', reg(dep('a')), { defaults: ['a', 'nope'] }, "unknown module 'nope'; available: a"],
    ['an --add', reg(dep('a')), { defaults: ['a'], add: ['extra'] }, "unknown module 'extra'; available: a"],
    ['an --omit', reg(dep('a')), { defaults: ['a'], omit: ['typo'] }, "unknown module 'typo'; available: a"],
    ['a --modules', reg(dep('a')), { defaults: ['a'], modules: ['b'] }, "unknown module 'b'; available: a"],
    ['an omitted dependency', reg(dep('a', 'b'), dep('b')), { defaults: ['a'], omit: ['b'] }, "module 'a' depends on omitted module 'b'"],
  ] as [string, Map<string, ModuleManifest>, Parameters<typeof resolveModules>[1], string][])(
    'missing module (%s) names it and who needs it',
    (_n, registry, selection, message) => {
      expect(() => resolveModules(registry, selection)).toThrow(new UserError(message));
    },
  );

  test('dependencies first, each once, siblings in name order; a diamond is no cycle', () => {
    const registry = reg(dep('top', 'right', 'left'), dep('left', 'base'), dep('right', 'base'), dep('base'), dep('z'));
    expect(names(resolveModules(registry, { defaults: ['z', 'top'] }))).toEqual(['base', 'left', 'right', 'top', 'z']);
    expect(names(resolveModules(registry, { defaults: ['top'], add: ['top', 'base'] }))).toEqual(['base', 'left', 'right', 'top']);
  });

  test('omitting a module nobody needs drops it; --modules replaces the defaults, --add still adds', () => {
    const registry = reg(dep('a'), dep('b'), dep('c'));
    expect(names(resolveModules(registry, { defaults: ['a', 'b'], omit: ['b'] }))).toEqual(['a']);
    expect(names(resolveModules(registry, { defaults: ['a'], modules: ['b'], add: ['c'] }))).toEqual(['b', 'c']);
    expect(names(resolveModules(registry, { defaults: ['a'], add: ['b'], omit: ['b'] }))).toEqual(['a']);
  });
});

describe('buildPlan: two modules at one path', () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  const file = (owner: string, path: string, text: string, mode = 0o644): OwnedItem => ({
    owner, item: { kind: 'bytes', path, mode, data: bytes(text) },
  });
  const cases: [string, OwnedItem, OwnedItem][] = [
    ['bytes differ', file('m1', '/etc/a', 'a'), file('m2', '/etc/a', 'b')],
    ['modes differ', file('m1', '/etc/a', 'a', 0o644), file('m2', '/etc/a', 'a', 0o755)],
    ['host files differ', { owner: 'm1', item: { kind: 'file', path: '/etc/a', mode: 0o644, source: '/x' } },
      { owner: 'm2', item: { kind: 'file', path: '/etc/a', mode: 0o644, source: '/y' } }],
    ['host file modes differ', { owner: 'm1', item: { kind: 'file', path: '/etc/a', mode: 0o644, source: '/x' } },
      { owner: 'm2', item: { kind: 'file', path: '/etc/a', mode: 0o600, source: '/x' } }],
    ['symlink targets differ', { owner: 'm1', item: { kind: 'symlink', path: '/etc/a', target: 'x' } },
      { owner: 'm2', item: { kind: 'symlink', path: '/etc/a', target: 'y' } }],
    ['a file and a directory', file('m1', '/etc/a', 'a'), { owner: 'm2', item: { kind: 'dir', path: '/etc/a' } }],
    ['a directory and a file', { owner: 'm1', item: { kind: 'dir', path: '/etc/a' } }, file('m2', '/etc/a', 'a')],
    ['a file and a symlink', file('m1', '/etc/a', 'a'), { owner: 'm2', item: { kind: 'symlink', path: '/etc/a', target: 'a' } }],
    ['device numbers differ', { owner: 'm1', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'char', major: 5, minor: 1 } },
      { owner: 'm2', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'char', major: 5, minor: 2 } }],
    ['device majors differ', { owner: 'm1', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'char', major: 5, minor: 1 } },
      { owner: 'm2', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'char', major: 4, minor: 1 } }],
    ['device types differ', { owner: 'm1', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'char', major: 5, minor: 1 } },
      { owner: 'm2', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'block', major: 5, minor: 1 } }],
    ['device modes differ', { owner: 'm1', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'char', major: 5, minor: 1 } },
      { owner: 'm2', item: { kind: 'node', path: '/etc/a', mode: 0o666, type: 'char', major: 5, minor: 1 } }],
    ['a node and a file', { owner: 'm1', item: { kind: 'node', path: '/etc/a', mode: 0o600, type: 'char', major: 5, minor: 1 } },
      file('m2', '/etc/a', 'a')],
    ['one path through a directory symlink', file('m1', '/usr/bin/x', 'a'), file('m2', '/bin/x', 'b')],
  ];
  const link: OwnedItem = { owner: 'base', item: { kind: 'symlink', path: '/bin', target: 'usr/bin' } };

  test.each(cases)('%s: an error naming the path and both modules', (name, first, second) => {
    const where = name.includes('symlink') && first.item.path.startsWith('/usr') ? '/usr/bin/x' : '/etc/a';
    expect(() => buildPlan([link, first, second])).toThrow(
      new UserError(`${where} is provided differently by modules '${first.owner}' and '${second.owner}'`),
    );
  });

  test.each(cases)('%s: allowed when the later module lists the path in overrides, and it wins', (_name, first, second) => {
    const plan = buildPlan([link, first, second], new Map([['m2', new Set([second.item.path])]]));
    const path = second.item.path.replace(/^\/bin\//, '/usr/bin/');
    const at = plan.filter((e) => e.item.path === path);
    expect(at).toEqual([{ owner: 'm2', item: { ...second.item, path } }]);
  });

  test.each(cases)('%s: the earlier module listing it in overrides is not enough', (_name, first, second) => {
    expect(() => buildPlan([link, first, second], new Map([['m1', new Set([first.item.path, second.item.path])]]))).toThrow(
      /is provided differently by modules 'm1' and 'm2'/,
    );
  });

  test('the same content twice is no collision; the first one stays', () => {
    const plan = buildPlan([file('m1', '/etc/a', 'a'), file('m2', '/etc/a', 'a')]);
    expect(plan.map((e) => [e.owner, e.item.path])).toEqual([['plan', '/etc'], ['m1', '/etc/a']]);
  });

  test('an override of a path nobody else provides changes nothing', () => {
    const plan = buildPlan([file('m2', '/etc/a', 'a')], new Map([['m2', new Set(['/etc/a'])]]));
    expect(plan.map((e) => [e.owner, e.item.path])).toEqual([['plan', '/etc'], ['m2', '/etc/a']]);
  });
});

test('hook phases, in the order /init runs them (README "Build modules")', () => {
  expect(HOOK_PHASES).toEqual(['stage2', 'early', 'devices', 'mount', 'pre-pivot', 'emergency']);
});

test('manifests without depends, and a phase listed without files, are fine', () => {
  const bare = (name: string): ModuleManifest => ({ name, description: name });
  expect(resolveModules(new Map([['a', bare('a')]]), { defaults: ['a'] }).map((x) => x.name)).toEqual(['a']);
  expect(() => validateManifest(m({ hooks: { mount: undefined } }), exists)).not.toThrow();
});
