// SPDX-License-Identifier: GPL-2.0-or-later
// The storage modules' pure shell (modules/crypt/crypt.sh, modules/lvm/lvm.sh) under busybox sh and
// dash: which LUKS devices a command line and a crypttab ask for, the passphrase loop against a fake
// cryptsetup, LV names from device paths, and the signature scan that decides whether cryptsetup,
// lvm and mdadm run at all (fake devices: files and a /proc/partitions of their own). Opening and
// activating for real is test/boot/storage.boot.test.ts.
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderParamsAllowlist } from '../../src/core/params.ts';
import { SHELLS } from './shells.ts';
import { tempDir } from '../temp-dirs.ts';

const ROOT = join(import.meta.dir, '../..');

interface Run { out: string; code: number | null; dir: string; read: (name: string) => string }

/** Sources the libraries as /init does, with params from `cmdline`, then runs `body`. */
function runLib(shell: string[], cmdline: string, body: string, files: Record<string, string> = {}): Run {
  const dir = tempDir('storage-sh');
  mkdirSync(join(dir, 'run/params'), { recursive: true });
  writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
  writeFileSync(join(dir, 'allow'), renderParamsAllowlist());
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const script = `
set -u
RD_RUN=${dir}/run
fatal() { echo "FATAL: $*"; echo "fatal=$*" >> "$RD_RUN/state"; exit 3; }
vmsg() { :; }
msg() { echo "MSG: $*"; }
warn() { echo "WARN: $*"; }
lock_consoles() { echo "LOCK: $*"; }
load_module() { echo "KMOD $1" >> "$RD_RUN/kmod"; }
load_device_drivers() { echo "ALL DRIVERS" >> "$RD_RUN/kmod"; }
. ${ROOT}/templates/lib/params.sh
RD_CMDLINE=${dir}/cmdline; RD_PARAM_LIST=${dir}/allow
. ${ROOT}/templates/lib/storage.sh
. ${ROOT}/modules/crypt/crypt.sh
. ${ROOT}/modules/crypt/crypt-key.sh
RD_CONSOLES=${dir}/active; RD_SD_CRYPTSETUP=
. ${ROOT}/modules/lvm/lvm.sh
. ${ROOT}/modules/mdraid/md.sh
RD_CRYPTTAB=${dir}/crypttab; RD_CONSOLE=${dir}/console; RD_DEVICE_STEPS=; RD_LATE_STEPS=
T=${dir}
ST_DEV=${dir}/dev; ST_PARTITIONS=${dir}/partitions; RD_BLOCK_SEEN=1
mkdir -p "$ST_DEV"; : > "$ST_PARTITIONS"
parse_cmdline
${body}
`;
  const p = Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe' });
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  return { out: p.stdout.toString() + p.stderr.toString(), code: p.exitCode, dir, read };
}

/**
 * Shell that makes fake block devices under $ST_DEV, 1 MiB each, listed in $ST_PARTITIONS in order:
 * NAME:KIND with KIND luks (magic at 0), lvm (LABELONE in sector 1), md12 (md magic at 4096), md10
 * (at the end, metadata 1.0), or plain.
 */
function disks(...specs: string[]): string {
  const magic: Record<string, string> = {
    luks: "printf 'LUKS\\272\\276\\000\\002' | dd of=\"$f\" conv=notrunc 2>/dev/null",
    lvm: "printf LABELONE | dd of=\"$f\" bs=512 seek=1 conv=notrunc 2>/dev/null",
    md12: "printf '\\374\\116\\053\\251' | dd of=\"$f\" bs=4096 seek=1 conv=notrunc 2>/dev/null",
    md10: "printf '\\374\\116\\053\\251' | dd of=\"$f\" bs=4096 seek=254 conv=notrunc 2>/dev/null",
    plain: ':',
  };
  return specs.map((spec, i) => {
    const [name, kind] = spec.split(':') as [string, string];
    return `f=$ST_DEV/${name}; head -c 1048576 /dev/zero > "$f"; ${magic[kind]}; echo " 253 ${i} 1024 ${name}" >> "$ST_PARTITIONS"`;
  }).join('\n');
}

const U1 = '1b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e01';
const U2 = '2b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e02';

for (const [name, shell] of SHELLS) {
  describe(`crypt.sh under ${name}`, () => {
    const plan = (cmdline: string, crypttab?: string) => {
      const r = runLib(shell, cmdline, 'crypt_plan; echo "STEPS=$RD_DEVICE_STEPS"', crypttab === undefined ? {} : { crypttab });
      return { want: r.read('run/crypt.want').split('\n').filter(Boolean), out: r.out };
    };

    test.each([
      [`rd.luks.uuid=${U1}`, [`UUID=${U1} luks-${U1} none -`]],
      [`rd.luks.uuid=luks-${U1} rd.luks.uuid=${U2}`, [`UUID=${U1} luks-${U1} none -`, `UUID=${U2} luks-${U2} none -`]],
      [`rd.luks.name=${U1}=cryptroot rd.luks.uuid=${U1}`, [`UUID=${U1} cryptroot none -`]],
      [`rd.luks.uuid=${U1} rd.luks.options=discard`, [`UUID=${U1} luks-${U1} none discard`]],
      [`rd.luks.uuid=${U1} rd.luks.uuid=${U2} rd.luks.options=${U2}=tries=1,discard rd.luks.options=readonly`,
        [`UUID=${U1} luks-${U1} none readonly`, `UUID=${U2} luks-${U2} none tries=1,discard`]],
      [`cryptdevice=UUID=${U1}:croot:allow-discards`, [`UUID=${U1} croot none discard`]],
      ['cryptdevice=/dev/sda2:croot', ['/dev/sda2 croot none -']],
      ['root=/dev/vda', ['auto auto none -']],
      [`rd.luks=0 rd.luks.uuid=${U1}`, []],
    ])('%s', (cmdline, want) => expect(plan(cmdline).want).toEqual(want));

    test('a device step is registered unless rd.luks=0', () => {
      expect(plan('root=/dev/vda').out).toContain('STEPS= crypt_step');
      expect(plan('rd.luks=no').out).toContain('STEPS=\n');
    });

    test("Debian's crypttab: boot entries only; a key file must be in the image; a parameter wins over the file", () => {
      const tab = [
        '# <target> <source> <key> <options>',
        `vda5_crypt UUID=${U1} none luks,discard`,
        'home PARTUUID=abc-02 /etc/keys/home.key luks',
        `data UUID=${U2} /nonexistent/key luks`,
        'swap /dev/sdb2 /dev/urandom swap,cipher=aes-xts-plain64',
        'later /dev/sdc1 none luks,noauto',
        '',
      ].join('\n');
      expect(plan('root=/dev/mapper/vda5_crypt', tab).want).toEqual([`UUID=${U1} vda5_crypt none luks,discard`]);
      expect(plan(`rd.luks.uuid=${U2}`, tab).want).toEqual([`UUID=${U2} luks-${U2} none -`]);
      const withKey = runLib(shell, 'root=/dev/vda', `echo k > "$T/home.key"; sed "s|/etc/keys|$T|" "$T/crypttab" > "$T/tab2"; RD_CRYPTTAB=$T/tab2; crypt_plan`, { crypttab: tab });
      expect(withKey.read('run/crypt.want')).toContain(`PARTUUID=abc-02 home ${withKey.dir}/home.key luks\n`);
    });

    test.each(['cryptdevice=/dev/sda2:a/b', 'cryptdevice=/dev/sda2:..', 'cryptdevice=sda2:x'])('%s is ignored with a warning', (cmdline) => {
      const r = plan(cmdline);
      expect(r.want).toEqual([]);
      expect(r.out).toContain('WARN: crypt: ignoring');
    });

    // A fake cryptsetup: the passphrase arrives on stdin, never as an argument; `good` (or a key
    // file holding it) opens.
    const FAKE = `cryptsetup() { IFS= read -r k || :; echo "ARGS=$*" >> "$T/args"; case $* in *"--key-file /"*) read -r k < "$T/key" ;; esac; [ "$k" = good ] && return 0; return \${FAKE_RC:-2}; }`;
    const open = (console: string, extra = '') =>
      runLib(shell, 'root=/dev/vda', `${FAKE}\n${extra}\ncrypt_open /dev/vdb cr none "discard,tries=4"`, { console });

    test('the typed passphrase opens the device; the state names it, never the passphrase', () => {
      const r = open('good\n');
      // Before the prompt: dm_crypt, and every device's driver (the keyboard's).
      expect(r.read('run/kmod')).toBe('KMOD dm_crypt\nALL DRIVERS\n');
      expect(r.read('run/state')).toBe('luks=cr /dev/vdb passphrase\n');
      expect(r.read('args')).toBe('ARGS=open --type luks --allow-discards --key-file=- /dev/vdb cr\n');
      expect(r.read('console')).toContain('ruckusrd: Enter passphrase for /dev/vdb (cr): ');
    });

    test('a key file opens without a prompt and locks the consoles (a key in the image: nobody typed anything)', () => {
      const r = runLib(shell, 'root=/dev/vda', `${FAKE}\necho good > "$T/key"\ncrypt_open /dev/vdb cr "$T/key" -`, { console: '' });
      expect(r.read('args')).toBe(`ARGS=open --type luks --key-file ${r.dir}/key /dev/vdb cr\n`);
      expect(r.read('run/state')).toBe('luks=cr /dev/vdb keyfile\n');
      expect(r.out).toContain('LOCK: /dev/vdb was unlocked with a key in the image');
      expect(r.read('console')).toBe('');
    });

    test('wrong passphrases: tries= of them, one line each, then fatal', () => {
      const r = open('bad-secret\n');
      expect(r.out).toContain('FATAL: cannot unlock /dev/vdb (cr): wrong passphrase 4 times');
      expect(r.read('args').split('\n').filter(Boolean)).toHaveLength(4);
      expect(r.read('console').match(/wrong passphrase for \/dev\/vdb \(cr\), try \d of 4/g)).toHaveLength(4);
      expect(r.read('run/state')).not.toContain('bad-secret');
      expect(r.out).not.toContain('bad-secret');
    });

    test('another cryptsetup failure is fatal at once; no console input is fatal too', () => {
      expect(open('bad\n', 'FAKE_RC=5').out).toContain('FATAL: cannot unlock /dev/vdb (cr): cryptsetup failed (5)');
      expect(open('').out).toContain('FATAL: cannot unlock /dev/vdb (cr): no passphrase could be read from the console');
    });

    test.each([
      // rd.luks.options reach crypttab entries (by their UUID, else the global ones), before the entry's own
      [`rd.luks.options=${U1}=readonly rd.luks.options=tries=1`, `cr UUID=${U1} none luks,discard`, [`UUID=${U1} cr none readonly,luks,discard`]],
      ['rd.luks.options=tries=1,header=/etc/h', 'cr /dev/vdb none luks', ['/dev/vdb cr none tries=1,header=/etc/h,luks']],
      // rd.luks.key: a UUID's own, else the global one; marked `+` (falls back to the passphrase)
      ['rd.luks.key=/k1:LABEL=KEYS', `cr UUID=${U1} none luks`, [`UUID=${U1} cr +/k1:LABEL=KEYS luks`]],
      [`rd.luks.key=/k1 rd.luks.key=${U1}=/k2`, `cr UUID=${U1} none -`, [`UUID=${U1} cr +/k2 -`]],
    ])('%s with the crypttab line %p', (cmdline, tab, want) => expect(plan(cmdline, `${tab}\n`).want).toEqual(want));

    test.each([
      [`rd.luks.uuid=${U1} rd.luks.key=/k1 rd.luks.key=${U2}=/k2:UUID=9`, [`UUID=${U1} luks-${U1} +/k1 -`]],
      [`rd.luks.uuid=${U2} rd.luks.key=/k1 rd.luks.key=${U2}=/k2:UUID=9`, [`UUID=${U2} luks-${U2} +/k2:UUID=9 -`]],
      ['cryptdevice=/dev/sda2:croot rd.luks.options=readonly rd.luks.key=/k1', ['/dev/sda2 croot +/k1 readonly']],
    ])('%s', (cmdline, want) => expect(plan(cmdline).want).toEqual(want));

    test('found LUKS devices (no name given) get the global options and key too; each is opened once', () => {
      const fake = `cryptsetup() { echo "CS $*" >> "$T/args"; echo ${U1}; }; crypt_open() { echo "OPEN $*"; }`;
      const body = `${fake}\n${disks('vda:plain', 'vdb:luks')}\ncrypt_auto\nRD_BLOCK_SEEN=2\ncrypt_auto`;
      const r = runLib(shell, 'root=/dev/vda rd.luks.options=readonly,tries=2 rd.luks.key=/k1', body);
      expect(r.out).toMatch(new RegExp(`^OPEN ${r.dir}/dev/vdb luks-${U1} \\+/k1 readonly,tries=2$`, 'm'));
      expect(r.out.match(/^OPEN /gm)).toHaveLength(1);
      expect(r.read('args')).toBe(`CS luksUUID ${r.dir}/dev/vdb\n`);
    });

    test('no LUKS magic on any device: cryptsetup never runs, dm_crypt is never loaded', () => {
      const fake = 'cryptsetup() { echo "CS $*" >> "$T/args"; }';
      const r = runLib(shell, 'root=/dev/vda', `${fake}\n${disks('vda:plain', 'vdb:lvm', 'vdc:md12')}\ncrypt_plan\nfor s in $RD_DEVICE_STEPS; do "$s"; done`);
      expect(r.read('run/crypt.want')).toBe('auto auto none -\n');
      expect(r.read('args')).toBe('');
      expect(r.read('run/kmod')).toBe('');
    });

    test('a detached header (header=) goes to cryptsetup as --header', () => {
      const r = open('good\n').read('args');
      expect(r).not.toContain('--header');
      const h = runLib(shell, 'root=/dev/vda', `${FAKE}\ncrypt_open /dev/vdb cr none "header=/etc/keys/vdb.hdr,discard"`, { console: 'good\n' });
      expect(h.read('args')).toBe('ARGS=open --type luks --allow-discards --header /etc/keys/vdb.hdr --key-file=- /dev/vdb cr\n');
    });

    test('rd.luks.key on a device: mounted read-only, used, let go; missing, the device waits, then the passphrase', () => {
      const body = `${FAKE}\nfind_device_once() { [ -n "\${KEYDEV:-}" ] && REPLY=$KEYDEV; }; fs_type() { REPLY=ext4; }; modprobe() { :; }
mount() { echo "MOUNT $*" >> "$T/args"; }; umount() { echo "UMOUNT $*" >> "$T/args"; }; grep() { return 0; }
echo good > "$T/key"`;
      const missing = runLib(shell, 'root=/dev/vda', `${body}\ncrypt_open /dev/vdb cr +/k:LABEL=KEYS - || echo NOT-YET`, { console: '' });
      expect(missing.out).toContain('NOT-YET');
      expect(missing.read('args')).toBe('');
      const late = runLib(shell, 'root=/dev/vda', `${body}\nCRYPT_KEYDEV_LATE=1\necho bad > "$T/key"\ncrypt_open /dev/vdb cr +/k:LABEL=KEYS -`, { console: 'good\n' });
      expect(late.out).toContain('WARN: crypt: the key device LABEL=KEYS did not appear');
      expect(late.read('run/state')).toBe('luks=cr /dev/vdb passphrase\n');
      const found = runLib(shell, 'root=/dev/vda', `${body}\nKEYDEV=/dev/vdc\ncrypt_open /dev/vdb cr +/k:LABEL=KEYS -`, { console: '' });
      const keydir = `${found.dir}/run/keydev`;
      expect(found.read('args')).toBe(`MOUNT -t ext4 -o ro /dev/vdc ${keydir}\nARGS=open --type luks --key-file ${keydir}/k /dev/vdb cr\nUMOUNT ${keydir}\n`);
      expect(found.read('run/state')).toBe('luks=cr /dev/vdb keyfile\n');
    });

    test("rd.luks.key that does not unlock: a warning and the passphrase (crypttab's key file stays fatal)", () => {
      const r = runLib(shell, 'root=/dev/vda', `${FAKE}\necho bad > "$T/key"\ncrypt_open /dev/vdb cr +/etc/k -`, { console: 'good\n' });
      expect(r.out).toContain('WARN: crypt: the key file /etc/k does not unlock /dev/vdb (cr); asking for the passphrase');
      expect(r.read('run/state')).toBe('luks=cr /dev/vdb passphrase\n');
      const tab = runLib(shell, 'root=/dev/vda', `${FAKE}\necho bad > "$T/key"\ncrypt_open /dev/vdb cr /etc/k -`, { console: 'good\n' });
      expect(tab.out).toContain('FATAL: cannot unlock /dev/vdb (cr) with the key file /etc/k');
    });

    // systemd-cryptsetup is the base's; here a script that records its arguments and exits $SD_RC.
    const token = (dump: string, rc: number) => runLib(shell, 'root=/dev/vda', `${FAKE}
cryptsetup() { case $1 in luksDump) printf '${dump}' ;; *) IFS= read -r k || :; echo "ARGS=$*" >> "$T/args"; [ "$k" = good ] ;; esac; }
printf '#!/bin/sh\\necho "SD=$*" >> "${'$'}{0%%/*}/args"\\nexit ${rc}\\n' > "$T/sdc"; chmod +x "$T/sdc"; RD_SD_CRYPTSETUP=$T/sdc
crypt_open /dev/vdb cr none discard`, { console: 'good\n' });

    test('a LUKS2 systemd-tpm2 token: handed to systemd-cryptsetup attach, headless, with the options; no prompt', () => {
      const r = token('Tokens:\\n  0: systemd-tpm2\\n\\tpcrs: 7\\n', 0);
      expect(r.read('args')).toBe('SD=attach cr /dev/vdb none tpm2-device=auto,headless=true,discard\n');
      expect(r.read('run/state')).toBe('luks=cr /dev/vdb tpm2\n');
      expect(r.read('console')).not.toContain('passphrase');
      expect(token('Tokens:\\n  0: systemd-fido2\\n', 0).read('args')).toContain('fido2-device=auto,headless=true');
    });

    test('a token that does not unlock, or none: the passphrase as before', () => {
      const failed = token('Tokens:\\n  0: systemd-tpm2\\n', 1);
      expect(failed.out).toContain('WARN: crypt: the systemd-tpm2 token did not unlock /dev/vdb (cr); asking for the passphrase');
      expect(failed.read('run/state')).toBe('luks=cr /dev/vdb passphrase\n');
      const none = token('Tokens:\\n  0: clevis\\n', 0);
      expect(none.read('args')).not.toContain('SD=');
      expect(none.read('run/state')).toBe('luks=cr /dev/vdb passphrase\n');
    });
  });

  describe(`lvm.sh under ${name}`, () => {
    test.each([
      ['/dev/mapper/rvg-root', 'rvg/root'],
      ['/dev/mapper/my--vg-my--lv', 'my-vg/my-lv'],
      ['/dev/mapper/vg-lv--x', 'vg/lv-x'],
      ['/dev/rvg/root', 'rvg/root'],
      ['/dev/vda', ''],
      ['/dev/disk/by-id/x', ''],
      ['/dev/mapper/x--y', ''],
      ['/dev/mapper/control', ''],
      ['/dev/md/root', ''],
      ['/dev/a/b/c', ''],
    ])('%s names the LV %p', (path, lv) => {
      const r = runLib(shell, 'root=/dev/vda', `lvm_lv_of '${path}' && echo "LV=$REPLY" || echo LV=`);
      expect(r.out.trim()).toBe(`LV=${lv}`);
    });

    test('the LVs to activate: the ones root= and resume= name', () => {
      const r = runLib(shell, 'root=/dev/mapper/rvg-root resume=/dev/rvg/swap sqsh_layerdev=UUID=1', 'lvm_named_lvs; echo "LVS=$REPLY"');
      expect(r.out.trim()).toBe('LVS= rvg/root rvg/swap');
    });
  });

  describe(`md.sh under ${name}`, () => {
    const FAKE = 'mdadm() { echo "ARGS=$*" >> "$T/args"; }; mkdir() { :; }';
    test.each([
      ['root=/dev/md0', 'ARGS=--assemble --scan\n'],
      ['rd.md.uuid=3b1c0a4e:0d5c4f0e rd.md.uuid=aa:bb', 'ARGS=--assemble --scan --uuid=3b1c0a4e:0d5c4f0e\nARGS=--assemble --scan --uuid=aa:bb\n'],
      ['rd.md=0', ''],
    ])('%s: mdadm runs as %p', (cmdline, args) => {
      const r = runLib(shell, cmdline, `${FAKE}\n${disks('vda:md12')}\nmd_plan\nfor s in $RD_DEVICE_STEPS; do "$s"; done`);
      expect(r.read('args')).toBe(args);
    });

    const rounds = (...bodies: string[]) => runLib(shell, 'root=UUID=1', `${FAKE}\nmd_plan\n${bodies.map((b, i) =>
      `${b}\nRD_BLOCK_SEEN=${i + 2}; for s in $RD_DEVICE_STEPS; do "$s"; done; echo ROUND >> "$T/args"`).join('\n')}`);

    test('mdadm runs only when a member (superblock 1.2 at 4 KiB, 1.0 at the end) is new since its last run', () => {
      const r = rounds(disks('vda:plain', 'vdb:lvm', 'vdc:luks'), disks('vdd:md10'), ':', disks('vde:md12'));
      expect(r.read('args')).toBe('ROUND\nARGS=--assemble --scan\nROUND\nROUND\nARGS=--assemble --scan\nROUND\n');
      expect(r.read('run/kmod')).toBe('KMOD md_mod\nKMOD raid1\n');
    });

    test('a read that falls short (a device smaller than /proc/partitions says): every device may be a member', () => {
      const r = rounds(`${disks('vda:plain', 'vdb:plain')}\nhead -c 65536 /dev/zero > "$ST_DEV/vda"`);
      expect(r.read('args')).toBe('ARGS=--assemble --scan\nROUND\n');
    });
  });

  describe(`lvm.sh gating under ${name}`, () => {
    const FAKE = 'lvm() { echo "LVM $*" >> "$T/args"; }; mkdir() { :; }';
    test('lvm runs only when a PV (LABELONE) is new since its last run; dm_mod is loaded then', () => {
      const r = runLib(shell, 'root=/dev/rvg/root', `${FAKE}\n${disks('vda:plain', 'vdb:luks', 'vdc:md12')}\nlvm_plan
lvm_step; echo ROUND >> "$T/args"
${disks('vdd:lvm')}\nRD_BLOCK_SEEN=2; lvm_step; echo ROUND >> "$T/args"
: > "$ST_DEV/vde"; RD_BLOCK_SEEN=3; lvm_step; echo ROUND >> "$T/args"`);
      expect(r.read('args')).toBe('ROUND\nLVM lvchange -ay --sysinit rvg/root\nROUND\nROUND\n');
      expect(r.read('run/kmod')).toBe('KMOD dm_mod\n');
    });
  });

  describe(`device.sh's coldplug_devices under ${name}`, () => {
    // coldplug_devices alone (device.sh sources the image's blockid.sh), with a fake sysfs and a
    // fake driver loader that has two drivers to load, then none.
    const fn = readFileSync(join(ROOT, 'templates/lib/device.sh'), 'utf8').match(/^coldplug_devices\(\) \{\n[^]*?\n\}\n/m)![0];
    test('one driver per try with storage steps too; the steps run only when the set of block devices changed, never before the first', () => {
      const body = `PT_SYS=$T/sys; mkdir -p "$PT_SYS/class/block"; RD_BLOCK_SEEN=; N=0
load_next_driver() { N=$((N + 1)); [ $N -le 2 ] || return 1; echo "DRIVER $N" >> "$T/log"; }
step() { echo STEP >> "$T/log"; }
${fn}RD_DEVICE_STEPS=step
coldplug_devices; echo "rc=$?" >> "$T/log"
mkdir "$PT_SYS/class/block/vda"; coldplug_devices; echo "rc=$?" >> "$T/log"
coldplug_devices; echo "rc=$?" >> "$T/log"
mkdir "$PT_SYS/class/block/vda1"; coldplug_devices; echo "rc=$?" >> "$T/log"`;
      const r = runLib(shell, 'root=/dev/vda', body);
      expect(r.read('log')).toBe('DRIVER 1\nrc=0\nDRIVER 2\nSTEP\nrc=0\nrc=1\nSTEP\nrc=1\n');
    });
  });

  describe(`params.sh keeps every value of a multi parameter, under ${name}`, () => {
    test('rd.luks.uuid twice: both, in order; root twice: the last', () => {
      const r = runLib(shell, `root=/dev/vda rd.luks.uuid=${U1} root=/dev/vdb rd.luks.uuid=${U2} rd.lvm.lv=a/b`, 'true');
      expect(r.read('run/params/rd.luks.uuid')).toBe(`${U1}\n${U2}\n`);
      expect(r.read('run/params/root')).toBe('/dev/vdb\n');
      expect(r.read('run/params/rd.lvm.lv')).toBe('a/b\n');
    });
  });
}
