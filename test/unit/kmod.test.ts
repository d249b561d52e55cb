// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel module resolution on fixture depmod text, and the .modinfo reader: pure, no host tools.
// The same code against the host's own kmod is in kmod-host.test.ts.

import { describe, expect, test } from 'bun:test';
import * as kmod from '../../src/core/kmod.ts';
import { findElfSection, parseModinfo } from '../../src/core/modinfo.ts';
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
