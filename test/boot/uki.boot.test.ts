// SPDX-License-Identifier: GPL-2.0-or-later
// Unified kernel images booted straight from the firmware: OVMF finds the UKI as
// \EFI\BOOT\BOOTX64.EFI on a FAT ESP (mkfs.vfat + mtools, nothing mounted), the systemd stub hands
// the embedded kernel its embedded initramfs and command line, and the guest root's init prints its
// token. A plain root from a single-stage UKI; a sqsh_layers root from a UKI with an embedded
// erofs second stage, that one found by systemd-boot in EFI/Linux (a Type #2 entry); with Secure
// Boot enforced (Debian's snakeoil OVMF), the same UKI signed with the snakeoil key boots straight
// from the firmware and the unsigned one is refused by it.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missing } from '../unit/need.ts';
import { buildImage } from './build.ts';
import { IDS, makeExt4, makeGuestRoot, randomToken, run, tempDir } from './disks.ts';
import { makeLayerTrees, makeSquashfs, PROBE_ACTION } from './layers.ts';
import { boot, canBoot, section, type BootResult } from './qemu.ts';

const OVMF = '/usr/share/OVMF';
const CODE = `${OVMF}/OVMF_CODE_4M.fd`;
const VARS = `${OVMF}/OVMF_VARS_4M.fd`;
const SB_CODE = `${OVMF}/OVMF_CODE_4M.snakeoil.fd`;
const SB_VARS = `${OVMF}/OVMF_VARS_4M.snakeoil.fd`;
const SNAKEOIL_KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
const SNAKEOIL_CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';
const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const SD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
const NEEDS = missing(CODE, VARS, SB_CODE, SB_VARS, SNAKEOIL_KEY, SNAKEOIL_CERT, STUB, SD_BOOT, 'mkfs.vfat', 'mcopy', 'mmd', 'openssl');
if (NEEDS.length) {
  const why = `UKI boot tests need ${NEEDS.join(', ')} (ovmf, systemd-boot-efi, sbsigntool, dosfstools, mtools, openssl)`;
  if (process.env.CI === 'true') throw new Error(`CI: ${why}`);
  console.warn(`SKIPPING the UKI boot tests: ${why}`);
}

const END = /=== end\n/;
// The firmware found nothing it would start (a refused UKI): it then waits for a key, forever.
const NOTHING_BOOTED = /No bootable option or device was found/;
const END_OR_REFUSED = new RegExp(`${END.source}|${NOTHING_BOOTED.source}`);
// Each boot's console as the kernel sees it: the fixed settings of boot(), then the test's own.
const CONSOLE = 'console=ttyS0 panic=-1 oops=panic loglevel=4';
// Debian's kernel locks itself down (integrity) when the firmware says Secure Boot is on.
const SHOW = `
echo "CMDLINE=$(cat /proc/cmdline)"
[ -d /sys/firmware/efi ] && echo EFI=yes || echo EFI=no
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
echo "LOCKDOWN=$(cat /sys/kernel/security/lockdown 2>/dev/null)"
`;

let dir = '';
let token = '';
const esp: Record<string, string> = {};
let plainDisk = '';
let layeredDisk = '';
const cmdlines = {
  plain: `${CONSOLE} root=LABEL=${IDS.root.label} test.action=show`,
  layered: `${CONSOLE} root=LABEL=${IDS.layers.label} sqsh_layers=extra:server:base rw test.action=show`,
};

/**
 * A FAT image, made without mounting, holding `uki` as the removable-media boot path; or, with
 * `systemdBoot`, systemd-boot there and the UKI in EFI/Linux, where it finds Type #2 entries.
 */
function makeEsp(uki: string, out: string, systemdBoot = false): string {
  run(['mkfs.vfat', '-C', '-n', 'ESP', out, String(Math.ceil(Bun.file(uki).size / 1024) + 4096)]);
  run(['mmd', '-i', out, '::EFI', '::EFI/BOOT']);
  if (!systemdBoot) {
    run(['mcopy', '-i', out, uki, '::EFI/BOOT/BOOTX64.EFI']);
    return out;
  }
  const conf = `${out}.loader.conf`;
  writeFileSync(conf, 'timeout 1\n'); // the menu is drawn (and read here), then the entry boots
  run(['mmd', '-i', out, '::EFI/Linux', '::loader']);
  run(['mcopy', '-i', out, SD_BOOT, '::EFI/BOOT/BOOTX64.EFI']);
  run(['mcopy', '-i', out, uki, '::EFI/Linux/mkruckus-test.efi']);
  run(['mcopy', '-i', out, conf, '::loader/loader.conf']);
  return out;
}

/** One firmware boot with a fresh copy of the variable store. */
function bootUki(name: string, disk: string, secureBoot = false, until = END_OR_REFUSED): Promise<BootResult> {
  const vars = join(dir, `vars-${name}-${Date.now()}.fd`);
  copyFileSync(secureBoot ? SB_VARS : VARS, vars);
  return boot({
    initrd: '', append: '', until, memoryMB: 1024, timeoutMs: 300_000,
    firmware: { code: secureBoot ? SB_CODE : CODE, vars, esp: esp[name]!, secureBoot },
    disks: [{ file: disk }],
  });
}

describe.if(canBoot && NEEDS.length === 0)('unified kernel images from the firmware (QEMU + OVMF)', () => {
  beforeAll(() => {
    dir = tempDir('uki');
    token = randomToken();
    makeGuestRoot(join(dir, 'plain'), token, { show: SHOW });
    plainDisk = join(dir, 'plain.img');
    makeExt4(join(dir, 'plain'), plainDisk, IDS.root);
    const trees = makeLayerTrees(join(dir, 'trees'), token);
    writeFileSync(join(trees.base, 'actions/show'), `#!/bin/sh\n${PROBE_ACTION}\n${SHOW}`, { mode: 0o755 });
    const top = join(dir, 'layers');
    mkdirSync(top);
    for (const n of ['base', 'server', 'extra'] as const) makeSquashfs(trees[n], join(top, `${n}.sqsh`));
    layeredDisk = join(dir, 'layered.img');
    makeExt4(top, layeredDisk, IDS.layers);
    // The snakeoil key ships encrypted (password "snakeoil"); sbsign reads only plain PEM keys.
    const key = join(dir, 'snakeoil.key');
    run(['openssl', 'pkey', '-in', SNAKEOIL_KEY, '-passin', 'pass:snakeoil', '-out', key]);
    const uki = (name: string, ...args: string[]) => buildImage(join(dir, `${name}.efi`), '--uki', ...args);
    esp.plain = makeEsp(uki('plain', '--cmdline', cmdlines.plain), join(dir, 'esp-plain.img'));
    const layered = ['--second-stage', 'erofs', '--cmdline', cmdlines.layered];
    const layeredUki = uki('layered', ...layered);
    esp.layered = makeEsp(layeredUki, join(dir, 'esp-layered.img'));
    esp.sdboot = makeEsp(layeredUki, join(dir, 'esp-sdboot.img'), true);
    esp.signed = makeEsp(uki('signed', ...layered, '--sign-key', key, '--sign-cert', SNAKEOIL_CERT), join(dir, 'esp-signed.img'));
  });

  test('single-stage UKI: the firmware boots it to a plain root with its embedded command line', async () => {
    const r = await bootUki('plain', plainDisk);
    expect(r.console).toContain('EFI stub: Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'pid').trim()).toBe('1');
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/vdb \/ ext4 ro/m);
    expect(section(r.console, 'state')).toContain('mode=traditional');
    const action = section(r.console, 'action');
    expect(action).toContain(`CMDLINE=${cmdlines.plain}`);
    expect(action).toContain('EFI=yes');
    expect(action).toContain('LOCKDOWN=[none] integrity confidentiality');
  });

  test('UKI with an embedded erofs second stage, listed and started by systemd-boot: a sqsh_layers root from its .cmdline', async () => {
    const r = await bootUki('sdboot', layeredDisk);
    // systemd-boot's menu (on the serial console) names the entry by the .osrel's PRETTY_NAME.
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))![1]!;
    expect(r.console).toContain(`   ${pretty}   `);
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'action')).toContain('WHO=extra');
    expect(section(r.console, 'action')).toContain('DELETED=gone');
    const state = section(r.console, 'state');
    expect(state).toContain('mode=layered');
    expect(state).toContain('stage2=erofs embedded');
    expect(section(r.console, 'action')).toContain(`CMDLINE=${cmdlines.layered}`);
  });

  test('Secure Boot enforced: the UKI signed with the enrolled (snakeoil) key boots, second stage and all', async () => {
    const r = await bootUki('signed', layeredDisk, true);
    expect(r.console).toContain('EFI stub: UEFI Secure Boot is enabled.');
    expect(section(r.console, 'token').trim()).toBe(token);
    const action = section(r.console, 'action');
    expect(action).toContain('WHO=extra');
    expect(action).toContain('LOCKDOWN=none [integrity] confidentiality');
    expect(section(r.console, 'state')).toContain('stage2=erofs embedded');
  });

  test('Secure Boot enforced: the firmware refuses the unsigned UKI', async () => {
    const r = await bootUki('layered', layeredDisk, true, NOTHING_BOOTED);
    expect(r.console).toMatch(/BdsDxe: failed to load Boot0001 [^\n]*: Access Denied/);
    expect(r.console).not.toContain('Linux version');
    expect(r.console).not.toContain('=== token');
  });
});
