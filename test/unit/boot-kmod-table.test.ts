// SPDX-License-Identifier: GPL-2.0-or-later
// /init's driver table (src/core/boot-kmod-table.ts read by modules/kmod/kmod.sh) against the host's
// own kmod on every installed kernel: for each device modalias, the modules the table's `case` lines
// pick under busybox sh are the ones `modprobe -R` resolves (within the image's modules), and each
// dep/NAME is `modprobe --show-depends`' insmod order.
import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { aliasBucket, casePattern, renderBootKmodTable } from '../../src/core/boot-kmod-table.ts';
import { resolveKmods, uncompressedModulePath } from '../../src/core/kmod.ts';
import { readKmodIndex } from '../../src/host/kmod.ts';
import { FILESYSTEMS, STORAGE_DRIVERS } from '../../modules/kmod/drivers.ts';
import storageAll from '../../modules/storage-all/module.ts';
import { describeNeeding, missing } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const KMOD_SH = join(import.meta.dir, '../../modules/kmod/kmod.sh');
const MODPROBE = ['/usr/sbin/modprobe', '/sbin/modprobe'].find(existsSync);
const BUSYBOX = '/bin/busybox';

/** Device modaliases of QEMU's pc machine, and of this host: what a boot will see. */
const QEMU = [
  'pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00', 'pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80',
  'pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01', 'pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02',
  'pci:v00001000d00000012sv00001AF4sd00000008bc01sc00i00', 'pci:v00008086d000024CDsv00001AF4sd00001100bc0Csc03i20',
  'acpi:PNP0700:', 'acpi:PNP0A03:', 'virtio:d00000002v00001AF4', 'virtio:d00000008v00001AF4', 'platform:i8042',
  'usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00', 'scsi:t-0x00', 'scsi:t-0x05',
];
function hostAliases(): string[] {
  const out: string[] = [];
  for (const bus of existsSync('/sys/bus') ? readdirSync('/sys/bus') : []) {
    const dir = `/sys/bus/${bus}/devices`;
    for (const dev of existsSync(dir) ? readdirSync(dir) : []) {
      try {
        out.push(readFileSync(`${dir}/${dev}/modalias`, 'utf8').trim());
      } catch {
        // a device without a modalias
      }
    }
  }
  return out.filter((a) => a && !/\s/.test(a));
}

function modprobe(kver: string, args: string[]): string {
  const r = spawnSync(MODPROBE as string, ['-S', kver, '-C', '/nonexistent', ...args], { env: { ...process.env, LC_ALL: 'C' } });
  return r.stdout.toString();
}

/** The table written as the image holds it; `kmod_match` run under busybox sh for each alias. */
function shellMatches(table: Map<string, string>, aliases: string[]): string[][] {
  const dir = tempDir('kmodtable');
  for (const [name, text] of table) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const quoted = aliases.map((a) => `'${a}'`).join(' ');
  const script = `set -u\nvmsg() { :; }\n. ${KMOD_SH}\nKMOD_TABLE=${dir}\nfor a in ${quoted}; do KMOD_WANT=; kmod_match "$a"; echo "=$KMOD_WANT"; done`;
  const r = spawnSync(BUSYBOX, ['sh', '-c', script]);
  if (r.status !== 0) throw new Error(`busybox sh: ${r.stderr}`);
  return r.stdout.toString().trimEnd().split('\n').map((l) => l.slice(1).split(' ').filter(Boolean));
}

describe('table syntax', () => {
  test.each([
    ['pci:v00008086d00002922sv*sd*bc*sc*i*', 'pci:v00008086'],
    ['pci:v*d*sv*sd*bc01sc06i01*', 'pci'],
    ['pci:v0000808?d*', 'pci'],
    ['usb:v0781p5567d*', 'usb:v0781'],
    ['acpi*:PNP0A03:*', '_any'],
    ['crypto-aes', '_name'],
    ['fs-ext4', '_name'],
    ['crypto-*', '_any'],
    ['virtio:d00000002v*', 'virtio'],
  ])('%s is in bucket %s', (pattern, bucket) => expect(aliasBucket(pattern)).toBe(bucket));
  test('patterns become case patterns with the same meaning, or are left to modprobe', () => {
    expect(casePattern('dmi*:rn*HERO(WI_FI)*:')).toBe('dmi*:rn*HERO\\(WI_FI\\)*:');
    expect(casePattern('dmi:*:[^bs]vn*')).toBe('dmi:*:[!bs]vn*');
    expect(casePattern('ishtp:{33AE}')).toBe('ishtp:\\{33AE\\}');
    expect(casePattern('x:[$(reboot)]')).toBeUndefined();
  });
});

const KERNELS = existsSync('/lib/modules') ? readdirSync('/lib/modules').filter((k) => existsSync(`/lib/modules/${k}/modules.alias`)) : [];
describeNeeding(missing(BUSYBOX, ...(MODPROBE ? [] : ['modprobe'])), 'driver table against the host kmod', () => {
  if (KERNELS.length === 0) test.skip('no kernel with modules.alias in /lib/modules', () => {});
  for (const kver of KERNELS) {
    const requests = [...STORAGE_DRIVERS, ...FILESYSTEMS, ...(storageAll.coldKernelModules ?? [])];
    test(`${kver}: a module with cpu: aliases gets a cpu/NAME gate with those patterns (crc32c-intel: feature 0094)`, async () => {
      const index = await readKmodIndex('/', kver);
      const table = renderBootKmodTable(index, resolveKmods(index, ['crc32c', 'ext4']).modules, uncompressedModulePath);
      const gated = [...table.files.keys()].filter((k) => k.startsWith('cpu/'));
      if (index.modules.has('crc32c_intel')) expect(table.files.get('cpu/crc32c_intel')).toContain('cpu:type:x86,ven*fam*mod*:feature:*0094*)');
      for (const k of gated) expect(index.aliases.some((a) => a.module === k.slice(4) && a.pattern.startsWith('cpu:'))).toBe(true);
    });
    test(`${kver}: each device alias picks what modprobe -R picks among the image's modules`, async () => {
      const index = await readKmodIndex('/', kver);
      const subset = resolveKmods(index, requests).modules;
      const names = new Set(subset.map((e) => e.name));
      const table = renderBootKmodTable(index, subset, uncompressedModulePath);
      const aliases = [...new Set([...QEMU, ...hostAliases()])];
      const got = shellMatches(table.files, aliases);
      let matched = 0;
      aliases.forEach((alias, i) => {
        const want = [...new Set(modprobe(kver, ['-R', alias]).split('\n').filter((n) => names.has(n.replaceAll('-', '_'))))];
        expect({ alias, modules: [...(got[i] ?? [])].sort() }).toEqual({ alias, modules: want.map((n) => n.replaceAll('-', '_')).sort() });
        if (want.length) matched++;
      });
      expect(matched).toBeGreaterThan(3); // virtio_pci, ata_piix, floppy, virtio_blk, ... at least
    }, 60_000);
    test(`${kver}: dep/NAME loads what modprobe --show-depends loads, each module after its dependencies`, async () => {
      const index = await readKmodIndex('/', kver);
      const subset = resolveKmods(index, requests).modules;
      const table = renderBootKmodTable(index, subset, uncompressedModulePath);
      const depsOf = new Map(subset.map((e) => [uncompressedModulePath(e.path), e.deps.map(uncompressedModulePath)]));
      let checked = 0;
      for (const name of ['ext4', 'ahci', 'virtio_blk', 'dm_crypt', 'raid456', 'usb_storage', 'btrfs']) {
        const line = table.files.get(`dep/${name}`);
        if (!line) continue;
        const words = line.trim().split(' ');
        const paths = words.filter((_, i) => i % 2 === 1);
        const want = [...modprobe(kver, ['--show-depends', name]).matchAll(/^insmod \S*?\/lib\/modules\/[^/]+\/(\S+)/gm)];
        // softdep targets modprobe would also take (sha256 for btrfs) may come on top: never fewer
        expect(paths).toEqual(expect.arrayContaining(want.map((m) => uncompressedModulePath(m[1] as string))));
        expect(words.at(-2)).toBe(name);
        paths.forEach((p, i) => {
          const late = (depsOf.get(p) ?? []).filter((d) => !paths.slice(0, i).includes(d));
          expect({ p, late }).toEqual({ p, late: [] });
        });
        checked++;
      }
      expect(checked).toBeGreaterThan(3);
    }, 60_000);
  }
});
