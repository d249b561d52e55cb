// SPDX-License-Identifier: GPL-2.0-or-later
// The index cut down to a build's modules (src/core/kmod-subset.ts) renders every index file and the
// driver table exactly as the whole index does, on every installed kernel and on a fixture with
// softdeps through aliases; and the cut survives its stored form.
import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { renderBootKmodTable } from '../../src/core/boot-kmod-table.ts';
import * as kmod from '../../src/core/kmod.ts';
import { loadResolution, restrictKmodIndex, storeResolution } from '../../src/core/kmod-subset.ts';
import { readKmodIndex } from '../../src/host/kmod.ts';
import { COMMON_FILESYSTEMS, COMMON_STORAGE, FILESYSTEMS, STORAGE_DRIVERS } from '../../modules/kmod/drivers.ts';
import storageAll from '../../modules/storage-all/module.ts';

/** Everything planKernelModules renders from an index, for one subset. */
function rendered(index: kmod.KmodIndex, subset: kmod.KmodEntry[]) {
  const sizes = new Map(subset.map((e, i) => [e.name, 1000 + i]));
  const table = renderBootKmodTable(index, subset, kmod.uncompressedModulePath, sizes);
  return {
    dep: kmod.renderModulesDep(subset, kmod.uncompressedModulePath),
    alias: kmod.renderModulesAlias(index, subset),
    softdep: kmod.renderModulesSoftdep(index, subset),
    builtin: kmod.renderModulesBuiltin(index),
    order: kmod.renderModulesOrder(index, subset, kmod.uncompressedModulePath),
    table: [...table.files].sort(),
    skipped: table.skipped,
  };
}

const FIXTURE = kmod.parseKmodIndex({
  dep: 'k/a.ko: k/d.ko\nk/b.ko:\nk/c.ko:\nk/d.ko:\nk/e.ko:\nk/x.ko: k/y.ko\nk/y.ko:\nk/cpu.ko:\n',
  alias: 'alias crypto-b b\nalias pci:v00001234d* a\nalias pci:v00001234d* x\nalias cpu:type:x86,ven*fam*mod*:feature:*0094* cpu\nalias weird[ e\nalias fs-c c\n',
  softdep: 'softdep a pre: crypto-b post: fs-c\nsoftdep x pre: b\nsoftdep d pre: cpu\n',
  builtin: 'k/z.ko\n',
  order: 'k/x.ko\nk/a.ko\nk/b.ko\nk/c.ko\nk/d.ko\nk/a.ko\n',
  builtinModinfo: 'z.alias=crypto-z\0',
});

describe('restrictKmodIndex', () => {
  test('fixture: the cut renders as the whole index, for hot and cold parts alike', () => {
    for (const [first, then] of [[['a'], ['e']], [['pci:v00001234d00000001'], ['weird[']], [['crypto-z', 'd'], []]] as [string[], string[]][]) {
      const r = kmod.resolveKmodsInTwo(FIXTURE, first, then);
      const cut = restrictKmodIndex(FIXTURE, r.modules);
      expect(rendered(cut, r.modules)).toEqual(rendered(FIXTURE, r.modules));
      expect(cut.modules.size).toBe(r.modules.length);
    }
  });

  const kernels = existsSync('/lib/modules') ? readdirSync('/lib/modules').filter((k) => existsSync(`/lib/modules/${k}/modules.dep`)) : [];
  for (const kver of kernels) {
    test(`${kver}: the generic image's cut renders as the whole index`, async () => {
      const whole = await readKmodIndex('/', kver);
      const hot = [...COMMON_STORAGE, ...COMMON_FILESYSTEMS, ...STORAGE_DRIVERS, ...FILESYSTEMS];
      const r = kmod.resolveKmodsInTwo(whole, hot, storageAll.coldKernelModules ?? []);
      const cut = restrictKmodIndex(whole, r.modules);
      expect(rendered(cut, r.modules)).toEqual(rendered(whole, r.modules));
      expect(cut.aliases.length).toBeLessThan(whole.aliases.length);
    }, 60_000);
  }
});

describe('stored resolution', () => {
  const r = kmod.resolveKmodsInTwo(FIXTURE, ['a'], ['x', 'nothing']);
  const cut = restrictKmodIndex(FIXTURE, r.modules);
  test('comes back as it was stored (through JSON)', () => {
    const back = loadResolution(JSON.parse(JSON.stringify(storeResolution(cut, r))))!;
    expect(back.resolved).toEqual(r);
    expect(back.index).toEqual(cut);
    expect(rendered(back.index, back.resolved.modules)).toEqual(rendered(FIXTURE, r.modules));
  });
  test('anything else is refused (a miss, never a wrong answer)', () => {
    const good = storeResolution(cut, r);
    const bad: unknown[] = [null, 7, {}, { ...good, modules: [...good.modules, 'not-in-the-index'] }, { ...good, firstCount: 99 },
      { ...good, index: { ...good.index, aliases: [{ pattern: 1 }] } }, { ...good, missing: 'x' }, { ...good, index: { ...good.index, order: undefined } }];
    for (const v of bad) expect(loadResolution(v)).toBeUndefined();
  });
});
