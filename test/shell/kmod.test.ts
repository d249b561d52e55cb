// SPDX-License-Identifier: GPL-2.0-or-later
// modules/kmod/kmod.sh under busybox sh and dash, over a fake /sys and a driver table rendered from
// fixture modules.dep/alias/softdep text: the loader insmods exactly the modules whose patterns match
// a device present, dependencies first, each once, again for the devices a driver adds, never a
// blacklisted one nor one already loaded.
import { describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderBootKmodTable } from '../../src/core/boot-kmod-table.ts';
import { parseKmodIndex, resolveKmods } from '../../src/core/kmod.ts';
import { SHELLS } from './shells.ts';
import { tempDir } from '../temp-dirs.ts';

const KMOD_SH = join(import.meta.dir, '../../modules/kmod/kmod.sh');
const MODPROBE_SH = join(import.meta.dir, '../../modules/kmod/modprobe.sh');
const enc = new TextEncoder();

const DEP = `kernel/drivers/scsi/scsi_common.ko:
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/ata_piix.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/ahci.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/block/floppy.ko:
kernel/drivers/nvme/host/nvme.ko:
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
`;
const ALIAS = `alias pci:v00008086d00007010sv*sd*bc*sc*i* ata_piix
alias pci:v*d*sv*sd*bc01sc06i01* ahci
alias pci:v00001AF4d00001001sv*sd*bc*sc*i* virtio_pci
alias pci:v*d*sv*sd*bc01sc08i02* nvme
alias virtio:d00000002v* virtio_blk
alias acpi*:PNP0700:* floppy
alias acpi*:PNP0[67]00:* floppy
alias platform:reg_dummy floppy
alias fs-ext4 ext4
alias crypto-crc32c crc32c_generic
alias crypto-crc32c crc32c_intel
alias cpu:type:x86,ven*fam*mod*:feature:*0094* crc32c_intel
`;
const SOFTDEP = 'softdep ext4 pre: crypto-crc32c\n';

/** A fake sysfs with `devices` (bus/name → modalias), a module dir with the rendered table. */
function fixture(devices: Record<string, string>, loaded: string[] = [], sizes?: Map<string, number>): string {
  const dir = tempDir('kmodsh');
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  for (const [dev, alias] of Object.entries(devices)) {
    const [bus, name] = dev.split('/');
    put(`sys/bus/${bus}/devices/${name}/modalias`, `${alias}\n`);
  }
  for (const m of loaded) mkdirSync(join(dir, 'sys/module', m), { recursive: true });
  mkdirSync(join(dir, 'sys/module'), { recursive: true });
  const index = parseKmodIndex({ dep: DEP, alias: ALIAS, softdep: SOFTDEP });
  const subset = resolveKmods(index, [...index.modules.keys()]).modules;
  for (const [name, text] of renderBootKmodTable(index, subset, (p) => p, sizes).files) put(`mod/ruckusrd/${name}`, text);
  return dir;
}

/** Runs BODY with kmod.sh on the fixture; insmod is a fake that logs, marks the module loaded (in
 * /sys/module as the kernel spells it: `_` for `-`) and,
 * for virtio_pci, adds the virtio device a real one would. */
function run(shell: string[], dir: string, body: string): { out: string; code: number } {
  const script = `set -u
vmsg() { echo "vmsg: $*"; }
warn() { echo "warn: $*"; }
modprobe() { echo "modprobe $*"; }
insmod() {
	_n=\${1##*/}; _n=\${_n%%.*}
	while :; do case $_n in *-*) _n=\${_n%%-*}_\${_n#*-} ;; *) break ;; esac; done
	echo "insmod \${1#${dir}/mod/}"
	mkdir -p "${dir}/sys/module/$_n"
	if [ "$_n" = virtio_pci ]; then mkdir -p ${dir}/sys/bus/virtio/devices/virtio0; echo virtio:d00000002v00001AF4 > ${dir}/sys/bus/virtio/devices/virtio0/modalias; fi
	[ "$_n" != nvme ]
}
. ${KMOD_SH}
KMOD_SYS=${dir}/sys
KMOD_DIR=${dir}/mod
KMOD_TABLE=${dir}/mod/ruckusrd
${body}`;
  const r = Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe' });
  return { out: r.stdout.toString() + r.stderr.toString(), code: r.exitCode };
}

const QEMU = {
  'pci/0000:00:01.1': 'pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80',
  'pci/0000:00:02.0': 'pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00',
  'pci/0000:00:00.0': 'pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00',
  'acpi/PNP0700:00': 'acpi:PNP0700:',
  'acpi/PNP0A03:00': 'acpi:PNP0A03:',
  'platform/reg-dummy': 'platform:reg-dummy',
  'serio/serio0': 'serio:ty01pr00id00ex00',
};

for (const [name, shell] of SHELLS) {
  describe(`kmod.sh under ${name}`, () => {
    test('coldplug loads exactly the drivers of the devices present, dependencies first, each once', () => {
      const dir = fixture(QEMU);
      const r = run(shell, dir, 'kmod_coldplug; echo "rc=$?"');
      const loaded = r.out.split('\n').filter((l) => l.startsWith('insmod ')).map((l) => l.slice(7));
      // the set, whatever the order between independent drivers: no ahci, nvme, ext4 (no device wants them)
      expect(new Set(loaded)).toEqual(new Set([
        'kernel/drivers/scsi/scsi_common.ko', 'kernel/drivers/scsi/scsi_mod.ko', 'kernel/drivers/ata/libata.ko',
        'kernel/drivers/ata/ata_piix.ko', 'kernel/drivers/virtio/virtio.ko', 'kernel/drivers/virtio/virtio_pci.ko',
        'kernel/drivers/block/floppy.ko', 'kernel/drivers/block/virtio_blk.ko',
      ]));
      expect(loaded.length).toBe(8);
      expect(loaded.indexOf('kernel/drivers/scsi/scsi_mod.ko')).toBeLessThan(loaded.indexOf('kernel/drivers/ata/libata.ko'));
      expect(loaded.indexOf('kernel/drivers/virtio/virtio_pci.ko')).toBeLessThan(loaded.indexOf('kernel/drivers/block/virtio_blk.ko'));
      expect(r.out).toContain('rc=0');
    });

    test('a second coldplug with nothing new loads nothing; a new device gets its driver', () => {
      const dir = fixture(QEMU);
      const r = run(shell, dir, `kmod_coldplug >/dev/null; echo ---; kmod_coldplug; echo ---
mkdir -p ${dir}/sys/bus/pci/devices/0000:00:05.0; echo pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01 > ${dir}/sys/bus/pci/devices/0000:00:05.0/modalias
kmod_coldplug`);
      expect(r.out).toBe('---\n---\ninsmod kernel/drivers/ata/ahci.ko\n');
    });

    test('one at a time (a wait): the lightest load chain first, new devices matched before the next; fails when none is left', () => {
      // ata_piix's chain (scsi_common 20 + scsi_mod 600 + libata 800 + 60 KiB) outweighs virtio_pci's (virtio 30 + 50)
      const kib = { scsi_common: 20, scsi_mod: 600, libata: 800, ata_piix: 60, virtio: 30, virtio_pci: 50, virtio_blk: 40, floppy: 100 };
      const dir = fixture(QEMU, [], new Map(Object.entries(kib).map(([k, v]) => [k, v * 1024])));
      const step = 'kmod_coldplug one; echo "rc=$?"';
      const r = run(shell, dir, [step, 'echo ---', step, 'echo ---', step, 'echo ---', step, 'echo ---', step].join('\n'));
      expect(r.out.split('---\n').map((s) => s.trim().split('\n').map((l) => l.replace(/^insmod kernel\/drivers\/\w+\//, '')).join(' '))).toEqual([
        'virtio.ko virtio_pci.ko rc=0', 'virtio_blk.ko rc=0',
        'scsi_common.ko scsi_mod.ko libata.ko ata_piix.ko rc=0', 'floppy.ko rc=0', 'rc=1',
      ]);
    });

    test('one at a time: a legacy PnP device (the floppy controller) waits for every other driver, however light', () => {
      // Lighter than virtio_pci's chain, as in Debian's storage-all (floppy 185 KiB, virtio_pci 215).
      const kib = { scsi_common: 20, scsi_mod: 600, libata: 800, ata_piix: 60, virtio: 30, virtio_pci: 50, virtio_blk: 40, floppy: 10 };
      const dir = fixture(QEMU, [], new Map(Object.entries(kib).map(([k, v]) => [k, v * 1024])));
      const step = 'kmod_coldplug one; echo "rc=$?"';
      const r = run(shell, dir, [step, 'echo ---', step, 'echo ---', step, 'echo ---', step].join('\n'));
      expect(r.out.split('---\n').map((s) => s.trim().split('\n').map((l) => l.replace(/^insmod kernel\/drivers\/\w+\//, '')).join(' '))).toEqual([
        'virtio.ko virtio_pci.ko rc=0', 'virtio_blk.ko rc=0', 'scsi_common.ko scsi_mod.ko libata.ko ata_piix.ko rc=0', 'floppy.ko rc=0',
      ]);
    });

    test('blacklisted and already loaded modules are skipped; a driver that fails is reported, not fatal', () => {
      const dir = fixture({ ...QEMU, 'pci/0000:00:04.0': 'pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02' }, ['scsi_common', 'libata']);
      const r = run(shell, dir, 'KMOD_SKIP=" floppy"; kmod_coldplug; echo "rc=$?"');
      expect(r.out).not.toContain('floppy');
      expect(r.out).not.toContain('scsi_common.ko');
      expect(r.out).not.toContain('libata.ko');
      expect(r.out).toContain('insmod kernel/drivers/scsi/scsi_mod.ko');
      expect(r.out).toContain('vmsg: driver nvme did not load');
      expect(r.out).toContain('rc=0');
    });

    test('kmod_load: a name from the table with its softdeps, an unknown one through modprobe', () => {
      const dir = fixture({});
      const r = run(shell, dir, 'kmod_load ext4 && echo ok1; kmod_load ext4 && echo ok2; kmod_load fs-vfat && echo ok3; kmod_load scsi-common && echo ok4');
      // no CPU modalias in this sysfs: crc32c-intel (the softdep's other match) is tried, as modprobe would
      expect(r.out).toBe('insmod kernel/crypto/crc32c_generic.ko\ninsmod kernel/arch/x86/crypto/crc32c-intel.ko\ninsmod kernel/lib/crc16.ko\ninsmod kernel/fs/ext4/ext4.ko\nok1\nok2\nmodprobe -q fs-vfat\nok3\ninsmod kernel/drivers/scsi/scsi_common.ko\nok4\n');
    });

    test('a module with cpu: aliases loads only on a CPU that has the feature (crc32c-intel: SSE4.2)', () => {
      const dir = fixture({});
      const cpu = (features: string) => {
        mkdirSync(join(dir, 'sys/devices/system/cpu'), { recursive: true });
        writeFileSync(join(dir, 'sys/devices/system/cpu/modalias'), `cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001${features}\n`);
      };
      cpu(',0058,0090');
      const without = run(shell, dir, 'kmod_load ext4 && echo ok; kmod_load crc32c_intel || echo refused');
      expect(without.out).toBe('insmod kernel/crypto/crc32c_generic.ko\ninsmod kernel/lib/crc16.ko\ninsmod kernel/fs/ext4/ext4.ko\nok\nrefused\n');
      rmSync(join(dir, 'sys/module'), { recursive: true, force: true });
      mkdirSync(join(dir, 'sys/module'));
      cpu(',0058,0094');
      expect(run(shell, dir, 'kmod_load ext4 && echo ok').out).toContain('insmod kernel/arch/x86/crypto/crc32c-intel.ko\n');
    });

    test('a cold module (.ko.gz) is decompressed before insmod, which never sees the compressed file', () => {
      const dir = fixture({});
      writeFileSync(join(dir, 'mod/ruckusrd/dep/crc16'), `crc16 kernel/lib/crc16.ko.gz\n`);
      mkdirSync(join(dir, 'mod/kernel/lib'), { recursive: true });
      writeFileSync(join(dir, 'mod/kernel/lib/crc16.ko.gz'), Bun.gzipSync(enc.encode('ELF of crc16\n')));
      mkdirSync(join(dir, 'tmp'));
      const r = run(shell, dir, `KMOD_TMP=${dir}/tmp
insmod() { echo "insmod \${1##*/}: $(cat "$1")"; }
kmod_insmod crc16; echo "rc=$? left=$(ls -A ${dir}/tmp)"`);
      expect(r.out).toMatch(/^insmod \.ruckusrd-module\.\d+\.ko: ELF of crc16\nrc=0 left=\n$/);
      writeFileSync(join(dir, 'mod/kernel/lib/crc16.ko.gz'), 'not gzip');
      expect(run(shell, dir, `KMOD_TMP=${dir}/tmp\ninsmod() { echo insmod; }\nkmod_insmod crc16; echo "rc=$? left=$(ls -A ${dir}/tmp)"`).out).toBe('rc=1 left=\n');
    });

    test("kmod_request (the kernel's module helper): a name, or every module of a plain-name alias; blacklisted ones left out; unknown fails", () => {
      const dir = fixture({});
      const r = run(shell, dir, 'kmod_request crypto-crc32c && echo ok1; kmod_request fs-ext4 && echo ok2; kmod_request virtio-blk && echo ok3; kmod_request fs-vfat; echo "unknown rc=$?"');
      expect(r.out).toBe(['insmod kernel/crypto/crc32c_generic.ko', 'insmod kernel/arch/x86/crypto/crc32c-intel.ko', 'ok1',
        'insmod kernel/lib/crc16.ko', 'insmod kernel/fs/ext4/ext4.ko', 'ok2',
        'insmod kernel/drivers/virtio/virtio.ko', 'insmod kernel/drivers/block/virtio_blk.ko', 'ok3', 'unknown rc=2', ''].join('\n'));
      const skip = fixture({});
      expect(run(shell, skip, 'KMOD_SKIP=" crc32c_intel"; kmod_request crypto-crc32c && echo ok').out)
        .toBe('insmod kernel/crypto/crc32c_generic.ko\nok\n');
    });

    test("the image's /sbin/modprobe: names and aliases through the table, -a for several, the rest to busybox as asked", () => {
      const dir = fixture({});
      // modprobe.sh as installed, its kmod.sh pointed at the fixture, insmod and busybox's modprobe fakes
      const script = readFileSync(MODPROBE_SH, 'utf8').replace(/^\. \/lib\/ruckusrd\/kmod\.sh$/m, `. ${KMOD_SH}
KMOD_SYS=${dir}/sys KMOD_DIR=${dir}/mod KMOD_TABLE=${dir}/mod/ruckusrd
insmod() { n=\${1##*/}; n=\${n%%.*}; echo "insmod $n"; mkdir -p "${dir}/sys/module/$n"; }
kmod_modprobe() { echo "busybox modprobe $*"; }`);
      writeFileSync(join(dir, 'modprobe'), script);
      const modprobe = (...args: string[]) => {
        const r = Bun.spawnSync([...shell, join(dir, 'modprobe'), ...args], { cwd: dir });
        return `${r.stdout.toString()}${r.stderr.toString()}rc=${r.exitCode}`;
      };
      expect(modprobe('-q', '--', 'fs-ext4')).toBe('insmod crc32c_generic\ninsmod crc32c-intel\ninsmod crc16\ninsmod ext4\nrc=0');
      expect(modprobe('-qa', 'virtio_blk', 'scsi_common')).toBe('insmod virtio\ninsmod virtio_blk\ninsmod scsi_common\nrc=0');
      expect(modprobe('-q', 'fs-vfat')).toBe('busybox modprobe -q fs-vfat\nrc=0');
      expect(modprobe('ahci', 'foo=1')).toBe('busybox modprobe ahci foo=1\nrc=0');
      expect(modprobe('-r', 'ext4')).toBe('busybox modprobe -r ext4\nrc=0');
      expect(modprobe('-q', '*')).toBe('busybox modprobe -q *\nrc=0');
    });

    test('kmod_words splits a comma list without a fork', () => {
      const dir = fixture({});
      expect(run(shell, dir, 'kmod_words "a,b_c,d"; echo "[$REPLY]"').out).toBe('[ a b_c d]\n');
    });
  });
}
