// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 13 at build time: which modules storage-all brings along (wantedModules, by the base's
// binaries), and which key files a crypttab makes the image carry (modules/crypt/crypttab.ts).
import { describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { moduleRegistry } from '../../src/assets.ts';
import { defineModule, type ModuleManifest, type PlanContext } from '../../src/core/module.ts';
import { resolveModules, wantedModules } from '../../src/core/modules.ts';
import type { StageItem } from '../../src/core/stage.ts';
import { bootEntries, headerFiles, keyFiles, parseCrypttab, wantsTokens } from '../../modules/crypt/crypttab.ts';
import crypt from '../../modules/crypt/module.ts';
import { tempDir } from '../temp-dirs.ts';

const reg = (...ms: ModuleManifest[]) => new Map(ms.map((m) => [m.name, m]));
const A = defineModule({ name: 'a', description: '', wants: ['x', 'y'] });
const X = defineModule({ name: 'x', description: '', binaries: ['xtool'] });
const Y = defineModule({ name: 'y', description: '', binaries: ['ytool'] });

describe('wantedModules', () => {
  const r = reg(A, X, Y);
  const has = (tools: string[]) => (m: ModuleManifest) => (m.binaries ?? []).every((b) => tools.includes(b));
  test.each([
    [['xtool', 'ytool'], {}, ['x', 'y']],
    [['ytool'], {}, ['y']],
    [[], {}, []],
    [['xtool', 'ytool'], { omit: ['x'] }, ['y']],
    [['xtool', 'ytool'], { add: ['y'] }, ['x']],
  ])('base has %p, selection %p: %p', (tools, sel, want) => {
    const selection = { defaults: ['a'], ...sel };
    expect(wantedModules(r, resolveModules(r, selection), selection, has(tools))).toEqual(want);
  });

  test('a wanted module outside the registry is an error naming who wants it', () => {
    const bad = reg(defineModule({ name: 'b', description: '', wants: ['nope'] }));
    expect(() => wantedModules(bad, resolveModules(bad, { defaults: ['b'] }), { defaults: ['b'] }, () => true)).toThrow(/nope.*needed by 'b'/);
  });

  test("storage-all wants crypt, lvm, mdraid and resume, each taking its tool from the base", () => {
    const registry = moduleRegistry();
    expect(registry.get('storage-all')?.wants).toEqual(['crypt', 'lvm', 'mdraid', 'resume']);
    expect(['crypt', 'lvm', 'mdraid'].map((n) => registry.get(n)?.binaries)).toEqual([['cryptsetup'], ['lvm'], ['mdadm']]);
  });
});

describe('crypttab', () => {
  const TAB = [
    '# <target> <source> <key> <options>',
    'vda5_crypt UUID=1 none luks,discard',
    '  home   PARTUUID=2   /etc/keys/home.key   luks',
    'data UUID=3 /etc/keys/data.key luks,noauto',
    'swap /dev/sdb2 /dev/urandom swap',
    'dev UUID=4 /dev/disk/by-label/usbkey luks',
    'twice UUID=5 /etc/keys/home.key luks',
    'short UUID=6',
    'lonely',
  ].join('\n');

  test('entries: key none when missing or -, options split', () => {
    expect(parseCrypttab(TAB).map((e) => [e.name, e.source, e.key, e.options.join(',')])).toEqual([
      ['vda5_crypt', 'UUID=1', 'none', 'luks,discard'],
      ['home', 'PARTUUID=2', '/etc/keys/home.key', 'luks'],
      ['data', 'UUID=3', '/etc/keys/data.key', 'luks,noauto'],
      ['swap', '/dev/sdb2', '/dev/urandom', 'swap'],
      ['dev', 'UUID=4', '/dev/disk/by-label/usbkey', 'luks'],
      ['twice', 'UUID=5', '/etc/keys/home.key', 'luks'],
      ['short', 'UUID=6', 'none', ''],
    ]);
    expect(bootEntries(parseCrypttab(TAB)).map((e) => e.name)).toEqual(['vda5_crypt', 'home', 'dev', 'twice', 'short']);
  });

  test('key files: of boot entries, regular paths only, once each', () => {
    expect(keyFiles(parseCrypttab(TAB))).toEqual(['/etc/keys/home.key']);
  });

  test('detached headers (header=) of boot entries; TPM2/FIDO2 tokens asked for', () => {
    const tab = parseCrypttab([
      'a UUID=1 none luks,header=/etc/keys/a.hdr',
      'b /dev/vdb none header=/etc/keys/a.hdr,discard',
      'c /dev/vdc none header=/dev/vdd',
      'd /dev/vde none header=/etc/keys/d.hdr,noauto',
    ].join('\n'));
    expect(headerFiles(tab)).toEqual(['/etc/keys/a.hdr']);
    expect(wantsTokens(tab)).toBe(false);
    expect(wantsTokens(parseCrypttab('r UUID=1 none luks,tpm2-device=auto'))).toBe(true);
    expect(wantsTokens(parseCrypttab('r UUID=1 none luks,fido2-device=auto'))).toBe(true);
    expect(wantsTokens(parseCrypttab('r UUID=1 none luks,tpm2-device=auto,noauto'))).toBe(false);
  });

  test("the crypt module's plan: the base's crypttab and its key file, the key marked secret (the image is then 0600)", async () => {
    const base = tempDir('cryptbase');
    mkdirSync(join(base, 'etc/keys'), { recursive: true });
    writeFileSync(join(base, 'etc/crypttab'), `${TAB}\nhdr /dev/vdb none luks,header=/etc/keys/vdb.hdr\n`);
    writeFileSync(join(base, 'etc/keys/home.key'), 'k');
    writeFileSync(join(base, 'etc/keys/vdb.hdr'), 'h');
    const ctx: PlanContext = { kernelVersion: '6.1', base, modules: ['crypt'], busyboxApplets: async () => [] };
    const items = (await crypt.plan!(ctx)) as StageItem[];
    expect(items.map((i) => [i.path, i.kind === 'file' ? i.mode : 0, i.secret ?? false])).toEqual([
      ['/etc/crypttab', 0o644, false],
      ['/etc/keys/vdb.hdr', 0o600, false],
      ['/etc/keys/home.key', 0o600, true],
    ]);
    const empty = tempDir('cryptbase');
    expect(await crypt.plan!({ ...ctx, base: empty })).toEqual([]);
  });
});
