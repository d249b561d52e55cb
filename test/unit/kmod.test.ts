// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel module resolution on fixture depmod text, and the .modinfo reader: pure, no host tools.
// The same code against the host's own kmod is in kmod-host.test.ts.

import { describe, expect, test } from 'bun:test';
import * as kmod from '../../src/core/kmod.ts';
import { findElfSection, parseModinfo, parseModinfoRecords } from '../../src/core/modinfo.ts';
import { makeElf, MODINFO } from './modelf.ts';

const DEP = `kernel/fs/ext4/ext4.ko.zst: kernel/lib/crc16.ko.zst kernel/fs/mbcache.ko.zst kernel/fs/jbd2/jbd2.ko.zst
kernel/fs/jbd2/jbd2.ko.zst:
kernel/fs/mbcache.ko.zst:
kernel/lib/crc16.ko.zst:
kernel/arch/x86/crypto/crc32c-intel.ko.zst:
kernel/crypto/crc32c_generic.ko.zst:
kernel/drivers/virtio/virtio_ring.ko.zst:
kernel/drivers/block/virtio_blk.ko.zst: kernel/drivers/virtio/virtio_ring.ko.zst
kernel/drivers/ata/libata.ko.zst: kernel/drivers/scsi/scsi_mod.ko.zst
kernel/drivers/ata/ahci.ko.zst: kernel/drivers/ata/libahci.ko.zst kernel/drivers/ata/libata.ko.zst kernel/drivers/scsi/scsi_mod.ko.zst
kernel/drivers/ata/libahci.ko.zst: kernel/drivers/ata/libata.ko.zst kernel/drivers/scsi/scsi_mod.ko.zst
kernel/drivers/scsi/scsi_mod.ko.zst:
kernel/drivers/char/ipmi/ipmi_msghandler.ko.zst:
kernel/drivers/char/ipmi/ipmi_devintf.ko.zst: kernel/drivers/char/ipmi/ipmi_msghandler.ko.zst
kernel/drivers/usb/storage/usb-storage.ko.zst:
`;
const ALIAS = `# Aliases extracted from modules themselves.
alias fs-ext4 ext4
alias crypto-crc32c crc32c_intel
alias crypto-crc32c crc32c_generic
alias virtio:d00000002v* virtio_blk
alias pci:v*d*sv*sd*bc01sc06i01* ahci
alias usb:v13FDp3940d0[0-2]*dc*dsc*dp*ic*isc*ip*in* usb_storage
`;
const SOFTDEP = `# Soft dependencies extracted from modules themselves.
softdep ext4 pre: crypto-crc32c
softdep jbd2 pre: crypto-crc32c
softdep cifs gcm
softdep ipmi_msghandler post: ipmi_devintf
softdep virtio_blk pre: sha256 post: no-such-thing
`;
const BUILTIN = 'kernel/crypto/sha256_generic.ko\nkernel/fs/binfmt_script.ko\n';
const ORDER = 'kernel/fs/jbd2/jbd2.ko\nkernel/fs/ext4/ext4.ko\nkernel/lib/crc16.ko\n';
const BUILTIN_MODINFO = 'sha256_generic.license=GPL\0sha256_generic.alias=sha256\0sha256_generic.alias=crypto-sha256\0';
const index = kmod.parseKmodIndex({ dep: DEP, alias: ALIAS, softdep: SOFTDEP, builtin: BUILTIN, order: ORDER, builtinModinfo: BUILTIN_MODINFO });

describe('resolveKmods on fixtures', () => {
  const EXT4 = ['crc32c_intel', 'crc32c_generic', 'jbd2', 'mbcache', 'crc16', 'ext4'];
  const cases: [string[], string[], string[], string[]][] = [
    // requests, modules in load order, builtin, missing
    [['ext4'], EXT4, [], []],
    [['fs-ext4'], EXT4, [], []],
    [['ext4', 'jbd2', 'ext4'], EXT4, [], []],
    [['crypto-crc32c'], ['crc32c_intel', 'crc32c_generic'], [], []],
    [['crc32c-intel'], ['crc32c_intel'], [], []],
    [['virtio-blk'], ['virtio_ring', 'virtio_blk'], ['sha256_generic'], []],
    [['virtio:d00000002v00001AF4'], ['virtio_ring', 'virtio_blk'], ['sha256_generic'], []],
    [['pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01'], ['scsi_mod', 'libata', 'libahci', 'ahci'], [], []],
    [['usb:v13FDp3940d0150dc00dsc00dp00ic08isc06ip50in00'], ['usb_storage'], [], []],
    [['usb:v13FDp3940d0350dc00dsc00dp00ic08isc06ip50in00'], [], [], ['usb:v13FDp3940d0350dc00dsc00dp00ic08isc06ip50in00']],
    [['kernel/drivers/ata/'], ['scsi_mod', 'libata', 'libahci', 'ahci'], [], []],
    [['ipmi_msghandler'], ['ipmi_msghandler', 'ipmi_devintf'], [], []],
    [['sha256-generic', 'crypto-sha256', 'binfmt_script'], [], ['sha256_generic', 'binfmt_script'], []],
    [['nope', 'kernel/nowhere/', 'cifs', 'kernel/fs/ext4'], [], [], ['nope', 'kernel/nowhere/', 'cifs', 'kernel/fs/ext4']],
  ];
  test.each(cases)('%p', (requests, modules, builtin, missing) => {
    const r = kmod.resolveKmods(index, requests);
    expect(r.modules.map((e) => e.name)).toEqual(modules);
    expect(r.builtin).toEqual(builtin);
    expect(r.missing).toEqual(missing);
  });
});

describe('resolveKmodsInTwo', () => {
  const names = (r: { modules: kmod.KmodEntry[] }) => r.modules.map((e) => e.name);
  const requests = ['ext4', 'virtio:d00000002v00001af4', 'ahci', 'kernel/drivers/char/', 'no-such', 'crc16', 'ipmi_msghandler', 'sha256'];
  test('the first requests\' modules first, as resolved alone; all of them as resolved at once', () => {
    for (let cut = 0; cut <= requests.length; cut++) {
      const [first, then] = [requests.slice(0, cut), requests.slice(cut)];
      const two = kmod.resolveKmodsInTwo(index, first, then);
      const all = kmod.resolveKmods(index, requests);
      expect(names(two)).toEqual(names(all));
      expect([two.builtin, two.missing]).toEqual([all.builtin, all.missing]);
      expect(names(two).slice(0, two.firstCount)).toEqual(names(kmod.resolveKmods(index, first)));
    }
  });
});

describe('parsers', () => {
  test.each([
    ['a*b', 'aXYb', true], ['a*b', 'aXYc', false], ['a?c', 'abc', true], ['a?c', 'ac', false],
    ['*', '', true], ['[0-2]x', '1x', true], ['[0-2]x', '3x', false], ['[!0-2]x', '3x', true],
    ['[^a]', 'a', false], ['[]]', ']', true], ['a\\*', 'a*', true], ['a\\*', 'ab', false], ['[ab', '[ab', true],
    ['pci:v*d*sv*sd*bc01sc06i01*', 'pci:v1d2sv3sd4bc01sc06i01', true], ['*a*a*', 'banana', true],
  ] as [string, string, boolean][])('glob %p ~ %p = %p', (pattern, text, want) => {
    expect(kmod.globMatch(pattern, text)).toBe(want);
  });
  test.each([
    ['kernel/arch/x86/crypto/crc32c-intel.ko.zst', 'crc32c_intel'], ['kernel/fs/ext4/ext4.ko', 'ext4'],
    ['updates/dkms/zfs.ko.xz', 'zfs'],
  ])('modname %p = %p', (path, name) => expect(kmod.modnameFromPath(path)).toBe(name));
  test.each([
    ['pre: a b post: c', ['a', 'b'], ['c']], ['post: c pre: a', ['a'], ['c']], ['gcm', [], []], ['', [], []],
  ] as [string, string[], string[]][])('softdep %p', (text, pre, post) => {
    expect(kmod.parseSoftdepValue(text)).toEqual({ pre, post });
  });
  test('alias normalisation leaves ranges alone', () => {
    expect(kmod.normalizeAlias('crypto-crc32c')).toBe('crypto_crc32c');
    expect(kmod.normalizeAlias('usb:v[0-9]-x')).toBe('usb:v[0-9]_x');
  });
});

describe('renderers', () => {
  const subset = kmod.resolveKmods(index, ['ext4']).modules;
  test('modules.dep keeps depmod order and drops compression suffixes', () => {
    expect(kmod.renderModulesDep(subset, kmod.uncompressedModulePath)).toBe(
      'kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n' +
        'kernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\nkernel/lib/crc16.ko:\n' +
        'kernel/arch/x86/crypto/crc32c-intel.ko:\nkernel/crypto/crc32c_generic.ko:\n',
    );
  });
  test('alias, softdep, builtin, order', () => {
    expect(kmod.renderModulesAlias(index, subset)).toBe(
      '# Aliases extracted from modules themselves.\nalias fs-ext4 ext4\n' +
        'alias crypto-crc32c crc32c_intel\nalias crypto-crc32c crc32c_generic\n',
    );
    expect(kmod.renderModulesSoftdep(index, subset)).toBe(
      '# Soft dependencies extracted from modules themselves.\nsoftdep ext4 pre: crypto-crc32c\nsoftdep jbd2 pre: crypto-crc32c\n',
    );
    expect(kmod.renderModulesBuiltin(index)).toBe(BUILTIN);
    expect(kmod.renderModulesOrder(index, subset, kmod.uncompressedModulePath)).toBe(
      'kernel/fs/jbd2/jbd2.ko\nkernel/fs/ext4/ext4.ko\nkernel/lib/crc16.ko\nkernel/fs/mbcache.ko\n' +
        'kernel/arch/x86/crypto/crc32c-intel.ko\nkernel/crypto/crc32c_generic.ko\n',
    );
  });
});

describe('modinfo', () => {
  test.each([[true, true], [true, false], [false, true], [false, false]])('ELF64=%p LE=%p', (is64, le) => {
    const elf = makeElf([{ name: '.text', data: new Uint8Array(3) }, { name: '.modinfo', data: new TextEncoder().encode(MODINFO) }], is64, le);
    expect(parseModinfo(elf)).toEqual({
      name: 'fake',
      firmware: ['foo/bar.bin', 'glob/*.fw', 'abs.bin', 'zonly.bin', 'missing.bin'],
      softdep: ['pre: crc32c'],
      depends: ['jbd2', 'mbcache'],
      alias: ['fs-fake'],
    });
    expect(findElfSection(elf, '.modinf')).toBeUndefined();
  });
  test('rejects what is not ELF', () => {
    expect(() => parseModinfo(new Uint8Array(64))).toThrow(/not a valid ELF/);
  });
});

describe('parser edges', () => {
  test.each([
    ['ext4.ko', 'ext4'], ['kernel/x/noext', 'noext'], ['a/b-c.d-e.ko', 'b_c'], ['crc-t10dif.ko.zst', 'crc_t10dif'],
  ])('modname %p = %p', (path, name) => expect(kmod.modnameFromPath(path)).toBe(name));
  test.each([
    ['k/a.ko.xz', 'k/a.ko'], ['k/a.ko.zst', 'k/a.ko'], ['k/a.ko.gz', 'k/a.ko'], ['k/a.ko', 'k/a.ko'],
    ['k/a.ko.bz2', 'k/a.ko.bz2'], ['k/a.ko.xz.sig', 'k/a.ko.xz.sig'], ['k/a.kozst', 'k/a.kozst'], ['k/a.xz.ko.xz', 'k/a.xz.ko'],
  ])('uncompressed path of %p = %p', (path, want) => expect(kmod.uncompressedModulePath(path)).toBe(want));
  test.each([
    ['a-b[x-y]-c', 'a_b[x-y]_c'], ['[a-b]-[c-d]', '[a-b]_[c-d]'], ['plain', 'plain'], ['a-b', 'a_b'],
  ])('alias %p normalises to %p', (alias, want) => expect(kmod.normalizeAlias(alias)).toBe(want));
  test('normalizeModname', () => {
    expect(kmod.normalizeModname('a-b-c')).toBe('a_b_c');
    expect(kmod.normalizeModname('a_b')).toBe('a_b');
  });

  test('modules.dep: comments, blank lines, lines without a colon, extra spaces', () => {
    const text = '# comment\n\n   \nkernel/a.ko:  kernel/b.ko   kernel/c.ko \nno colon here\n kernel/b.ko :\nkernel/c.ko:\n';
    expect(kmod.parseModulesDep(text)).toEqual([
      { name: 'a', path: 'kernel/a.ko', deps: ['kernel/b.ko', 'kernel/c.ko'], seq: 0 },
      { name: 'b', path: 'kernel/b.ko', deps: [], seq: 1 },
      { name: 'c', path: 'kernel/c.ko', deps: [], seq: 2 },
    ]);
    expect(kmod.parseModulesDep('')).toEqual([]);
  });
  test('modules.alias: tabs, trailing fields, names normalised, anything else ignored', () => {
    const text = '# Aliases\nalias\tfs-ext4\text4\nalias pci:v* snd-hda-intel extra\n#alias x y\n aliasx a b\nalias lonely\nsoftdep a pre: b\n';
    expect(kmod.parseModulesAlias(text)).toEqual([
      { pattern: 'fs-ext4', module: 'ext4' },
      { pattern: 'pci:v*', module: 'snd_hda_intel' },
    ]);
  });
  test('modules.softdep: the value is kept verbatim but trimmed; lines without one are skipped', () => {
    const text = '# Soft\nsoftdep  crc-t10dif  pre: crct10dif  post: x  \nsoftdep lonely\nsoftdep bare \nalias a b\n';
    expect(kmod.parseModulesSoftdep(text)).toEqual([
      { module: 'crc_t10dif', text: 'pre: crct10dif  post: x', pre: ['crct10dif'], post: ['x'] },
      { module: 'bare', text: '', pre: [], post: [] },
    ]);
  });
  test('modules.builtin.modinfo: only name.alias=pattern records', () => {
    const text = 'a-b.alias=x\0a-b.license=GPL\0c.alias=\0d.e.alias=y\0f.alias=z=1\0.alias=q\0alias=r\0';
    expect(kmod.parseBuiltinModinfoAliases(text)).toEqual([
      { pattern: 'x', module: 'a_b' },
      { pattern: 'z=1', module: 'f' },
    ]);
  });
  test('parseKmodIndex: trimmed builtin and order lines, their names; missing files are empty', () => {
    const idx = kmod.parseKmodIndex({ dep: 'k/a.ko:\n', builtin: ' kernel/x-y.ko \n# c\n\nkernel/z.ko\n', order: 'k/a.ko \n' });
    expect(idx.builtin).toEqual(['kernel/x-y.ko', 'kernel/z.ko']);
    expect([...idx.builtinNames]).toEqual(['x_y', 'z']);
    expect(idx.order).toEqual(['k/a.ko']);
    expect([idx.aliases, idx.softdeps, idx.builtinAliases]).toEqual([[], [], []]);
    expect([...idx.modules.keys()]).toEqual(['a']);
  });
});

describe('globMatch edges', () => {
  test.each([
    ['', '', true], ['', 'a', false], ['a', '', false], ['?', '', false], ['*a', '', false], ['**', 'x', true],
    ['a*', 'a', true], ['a*b*c', 'aXbYbZc', true], ['a*b*c', 'aXbYbZ', false], ['*.ko', 'x.ko.xz', false],
    ['abc', 'abd', false], ['abc', 'ab', false], ['ab', 'abc', false], ['a\\', 'a\\', true], ['a\\', 'ab', false],
    ['[a-]', '-', true], ['[a-]', 'b', false], ['[!]]', 'a', true], ['[!]]', ']', false], ['[z-a]', 'm', false],
    ['[a-c]', 'a', true], ['[a-c]', 'c', true], ['[a-c]', 'd', false], ['[a-c]', '`', false], ['[ab]c', 'bc', true],
    ['[ab]c', 'cc', false], ['[^ab]', 'c', true], ['[!a-c]x', 'bx', false], ['x[', 'x[', true], ['x[', 'xa', false],
    ['*[0-2]', 'abc1', true], ['*[0-2]', 'abc3', false], ['a?c*', 'abcdef', true], ['\\?', '?', true], ['\\?', 'a', false],
  ] as [string, string, boolean][])('%p ~ %p = %p', (pattern, text, want) => {
    expect(kmod.globMatch(pattern, text)).toBe(want);
  });
});

describe('lookupKmod and alias buckets', () => {
  const idx = kmod.parseKmodIndex({
    dep: 'k/a.ko:\nk/b.ko:\nk/c-d.ko:\nk/sub/e.ko:\nk/sub2/f.ko:\n',
    alias: 'alias x* a\nalias xy* b\nalias exact-name c_d\nalias exact-name a\nalias pci:v1* b\nalias pci:v1* b\nalias gone* nothere\n',
    builtin: 'kernel/g.ko\n',
    builtinModinfo: 'g.alias=gee\0h.alias=aitch\0',
  });
  const names = (r: kmod.KmodLookup): [string[], string[]] => [r.modules.map((e) => e.name), r.builtin];
  test.each([
    ['k/sub/', [['e'], []]],
    ['k/', [['a', 'b', 'c_d', 'e', 'f'], []]],
    ['k/nothing/', [[], []]],
    ['c-d', [['c_d'], []]],
    ['g', [[], ['g']]],
    ['x', [['a'], []]], // a short literal prefix: the patterns outside the buckets
    ['xyz', [['a', 'b'], []]],
    ['exact_name', [['c_d', 'a'], []]],
    ['pci:v12', [['b'], []]], // one module, however many patterns name it
    ['pci:w', [[], []]],
    ['gonex', [[], []]], // an alias of a module that is not in modules.dep
    ['gee', [[], ['g']]],
    ['aitch', [[], []]], // a built-in alias of a module not listed as built in
    ['nope', [[], []]],
  ] as [string, [string[], string[]]][])('%p', (request, want) => {
    expect(names(kmod.lookupKmod(idx, request))).toStrictEqual(want);
  });
});

describe('resolveKmods edges', () => {
  test('a dependency missing from modules.dep is reported by name; the module still loads', () => {
    const idx = kmod.parseKmodIndex({ dep: 'k/a.ko: k/b-x.ko.zst k/c.ko\nk/c.ko:\n' });
    const r = kmod.resolveKmods(idx, ['a']);
    expect([r.modules.map((e) => e.name), r.missing, r.builtin]).toEqual([['c', 'a'], ['b_x'], []]);
  });
  test('softdeps: pre before, post after, each module once, several lines for one module', () => {
    const idx = kmod.parseKmodIndex({
      dep: 'k/a.ko: k/d.ko\nk/b.ko:\nk/c.ko:\nk/d.ko:\nk/e.ko:\n',
      softdep: 'softdep a pre: b post: c\nsoftdep a pre: e\nsoftdep d pre: b\n',
    });
    expect(kmod.resolveKmods(idx, ['a', 'b', 'c']).modules.map((e) => e.name)).toEqual(['b', 'e', 'd', 'a', 'c']);
  });
  test('a request that is only built in is neither loaded nor missing', () => {
    const idx = kmod.parseKmodIndex({ dep: '', builtin: 'kernel/z.ko\n' });
    expect(kmod.resolveKmods(idx, ['z', 'z'])).toEqual({ modules: [], builtin: ['z'], missing: [] });
  });
});

describe('renderer edges', () => {
  const idx = kmod.parseKmodIndex({
    dep: 'k/a.ko.xz: k/b.ko.xz\nk/b.ko.xz:\nextra/oot.ko:\nk/c.ko.xz:\n',
    order: 'k/c.ko\nk/b.ko\nk/gone.ko\nk/a.ko\n',
    alias: 'alias one a\nalias two c\n',
    softdep: 'softdep c pre: a\n',
  });
  const subset = ['oot', 'a', 'b'].map((n) => idx.modules.get(n)!);
  test('modules.order: the listed ones in its order, then the unlisted in modules.dep order; paths mapped', () => {
    expect(kmod.renderModulesOrder(idx, subset)).toBe('k/b.ko.xz\nk/a.ko.xz\nextra/oot.ko\n');
    expect(kmod.renderModulesOrder(idx, subset, kmod.uncompressedModulePath)).toBe('k/b.ko\nk/a.ko\nextra/oot.ko\n');
  });
  test('modules.dep in depmod order, paths kept as they are without a mapping', () => {
    expect(kmod.renderModulesDep(subset)).toBe('k/a.ko.xz: k/b.ko.xz\nk/b.ko.xz:\nextra/oot.ko:\n');
    expect(kmod.renderModulesDep([])).toBe('');
  });
  test('alias and softdep keep only the subset; the header stays when nothing does', () => {
    expect(kmod.renderModulesAlias(idx, subset)).toBe('# Aliases extracted from modules themselves.\nalias one a\n');
    expect(kmod.renderModulesSoftdep(idx, subset)).toBe('# Soft dependencies extracted from modules themselves.\n');
    expect(kmod.renderModulesBuiltin(idx)).toBe('');
  });
});

describe('modinfo edges', () => {
  const elf64 = (): Uint8Array<ArrayBuffer> =>
    makeElf([{ name: '.text', data: new Uint8Array(3) }, { name: '.modinfo', data: new TextEncoder().encode('name=x\0firmware=a.bin\0') }], true, true);
  const view = (b: Uint8Array<ArrayBuffer>): DataView => new DataView(b.buffer);
  const shoff = (b: Uint8Array<ArrayBuffer>): number => Number(view(b).getBigUint64(0x28, true));
  test('extended numbering: section count and string table index from section 0', () => {
    const b = elf64();
    const count = view(b).getUint16(0x3c, true);
    const strndx = view(b).getUint16(0x3e, true);
    view(b).setUint16(0x3c, 0, true);
    view(b).setBigUint64(shoff(b) + 32, BigInt(count), true); // section 0's sh_size
    view(b).setUint16(0x3e, 0xffff, true);
    view(b).setUint32(shoff(b) + 40, strndx, true); // section 0's sh_link
    expect(parseModinfo(b)).toMatchObject({ name: 'x', firmware: ['a.bin'] });
  });
  test('no section headers: no .modinfo, an empty answer', () => {
    const b = elf64();
    view(b).setBigUint64(0x28, 0n, true);
    expect(findElfSection(b, '.modinfo')).toBeUndefined();
    expect(parseModinfo(b)).toEqual({ name: undefined, firmware: [], softdep: [], depends: [], alias: [] });
  });
  test('a module without .modinfo gives an empty answer', () => {
    expect(parseModinfo(makeElf([{ name: '.text', data: new Uint8Array(8) }], true, true)).firmware).toEqual([]);
  });
  test.each([
    ['too short', () => new Uint8Array(51), 'not a valid ELF module: bad magic'],
    ['bad magic', () => Object.assign(elf64(), { 1: 0x46 }), 'not a valid ELF module: bad magic'],
    ['bad class', () => Object.assign(elf64(), { 4: 3 }), 'not a valid ELF module: unknown class or byte order'],
    ['bad byte order', () => Object.assign(elf64(), { 5: 0 }), 'not a valid ELF module: unknown class or byte order'],
    ['string table index past the sections', () => {
      const b = elf64();
      view(b).setUint16(0x3e, view(b).getUint16(0x3c, true), true);
      return b;
    }, 'not a valid ELF module: bad string table index'],
    ['section headers past the end', () => {
      const b = elf64();
      view(b).setBigUint64(0x28, BigInt(b.length - 10), true);
      return b;
    }, 'not a valid ELF module: header out of bounds'],
    ['a section past the end', () => {
      const b = elf64();
      const at = shoff(b) + 64 * 2; // .modinfo
      view(b).setBigUint64(at + 32, BigInt(b.length), true);
      return b;
    }, 'not a valid ELF module: section out of bounds'],
  ] as [string, () => Uint8Array, string][])('%s: %s', (_name, make, message) => {
    expect(() => parseModinfo(make())).toThrow(message);
  });
  test('a section name must match whole, not as a prefix or suffix', () => {
    const b = makeElf([{ name: '.modinfo.x', data: new TextEncoder().encode('name=a\0') }, { name: 'x.modinfo', data: new Uint8Array(1) }], true, true);
    expect(findElfSection(b, '.modinfo')).toBeUndefined();
    expect(findElfSection(b, '.modinfo.x')).toEqual(new TextEncoder().encode('name=a\0'));
  });
  test('records: without "=" or with an empty key are skipped; values keep their "="; depends splits on commas', () => {
    const text = 'noequals\0=nokey\0alias=a=b\0depends=,x,,y,\0depends=\0softdep=pre: a\0name=\0firmware=f\0';
    expect(parseModinfoRecords(new TextEncoder().encode(text))).toEqual([
      ['alias', 'a=b'], ['depends', ',x,,y,'], ['depends', ''], ['softdep', 'pre: a'], ['name', ''], ['firmware', 'f'],
    ]);
    const b = makeElf([{ name: '.modinfo', data: new TextEncoder().encode(text) }], false, false);
    expect(parseModinfo(b)).toEqual({ name: '', firmware: ['f'], softdep: ['pre: a'], depends: ['x', 'y'], alias: ['a=b'] });
  });
});

describe('index whitespace', () => {
  test('several blanks between alias fields; an indented softdep line is not one; blank-looking builtin lines are dropped', () => {
    expect(kmod.parseModulesAlias('alias  fs-x \t x\n')).toEqual([{ pattern: 'fs-x', module: 'x' }]);
    expect(kmod.parseModulesSoftdep(' softdep a pre: b\nxsoftdep c pre: d\n')).toEqual([]);
    expect(kmod.parseKmodIndex({ dep: '', builtin: '  \nkernel/z.ko\n\t\n' }).builtin).toEqual(['kernel/z.ko']);
  });
});

describe('glob and alias-table survivors', () => {
  test.each([
    ['*a', 'a', true], ['\\*', 'x', false], ['[b', 'xb', false], ['[a]', 'xa]', false], ['*b', 'ab', true],
  ] as [string, string, boolean][])('%p ~ %p = %p', (pattern, text, want) => expect(kmod.globMatch(pattern, text)).toBe(want));
  test('patterns sharing a bucket prefix are all kept', () => {
    const idx = kmod.parseKmodIndex({ dep: 'k/a.ko:\nk/b.ko:\n', alias: 'alias pci:v1* b\nalias pci:v2* a\n' });
    expect(kmod.lookupKmod(idx, 'pci:v1x').modules.map((e) => e.name)).toStrictEqual(['b']);
    expect(kmod.lookupKmod(idx, 'pci:v2x').modules.map((e) => e.name)).toStrictEqual(['a']);
  });
  test('softdep values: surrounding blanks add no empty names', () => {
    expect(kmod.parseSoftdepValue(' pre: a  b  post: c ')).toStrictEqual({ pre: ['a', 'b'], post: ['c'] });
  });
});
