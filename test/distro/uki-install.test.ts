// SPDX-License-Identifier: GPL-2.0-or-later
// kernel-install with layout=uki: 50-mkruckus.install writes EFI/Linux/TOKEN-KVER.efi (Debian 12's
// kernel-install has no 90-uki-copy.install to do it), a UKI with the kernel kernel-install was
// given, the second stage embedded, signed with the keys of mkruckus.conf; `remove` deletes it.
// Run as kernel-install runs it, against a temp boot directory.
import { expect, test } from 'bun:test';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, freshDir, KVER, ROOT, sh, useScratch } from '../cli/helpers.ts';
import { missing, testNeeding } from '../unit/need.ts';

useScratch();

const PLUGIN = join(ROOT, 'packaging/kernel/install.d/50-mkruckus.install');
const COPIER = ['/usr/lib/kernel/install.d/90-uki-copy.install', '/etc/kernel/install.d/90-uki-copy.install'];
const TOKEN = '0123456789abcdef0123456789abcdef';
const KERNEL = `/boot/vmlinuz-${KVER}`;
const NEEDS = [
  ...missing('kernel-install', 'sbverify', 'openssl', '/usr/lib/systemd/boot/efi/linuxx64.efi.stub', KERNEL),
  // With systemd's own copier the UKI is staged instead; this test is about the kernel-install without one.
  ...COPIER.filter((c) => existsSync(c)).map((c) => `no ${c}`),
];

testNeeding(NEEDS, 'layout=uki: a signed UKI with an embedded second stage in EFI/Linux, gone on remove', () => {
  const boot = freshDir('esp');
  const conf = freshDir('ki-conf');
  const keys = freshDir('keys');
  writeFileSync(join(conf, 'install.conf'), 'layout=uki\n');
  const key = join(keys, 'db.key');
  const cert = join(keys, 'db.pem');
  expect(sh(['openssl', 'req', '-new', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=ki uki test/']).ok).toBe(true);
  // The wrapper stands for /etc/mkruckus.conf's keys (sign-key, sign-cert) and a two-stage build.
  const bin = freshDir('bin');
  writeFileSync(join(bin, 'mkruckus'), `#!/bin/sh\nexec ${BIN} "$@" --second-stage erofs --sign-key ${key} --sign-cert ${cert}\n`);
  chmodSync(join(bin, 'mkruckus'), 0o755);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KERNEL_INSTALL_')));
  const ki = (...args: string[]) => {
    const r = Bun.spawnSync(['kernel-install', ...args], {
      env: { ...env, PATH: `${bin}:${process.env.PATH}`, KERNEL_INSTALL_CONF_ROOT: conf, BOOT_ROOT: boot, MACHINE_ID: TOKEN, KERNEL_INSTALL_PLUGINS: PLUGIN },
      stdout: 'pipe', stderr: 'pipe',
    });
    return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
  };
  const add = ki('add', KVER, KERNEL);
  expect(add.out).toBe('');
  expect(add.code).toBe(0);
  expect(readdirSync(join(boot, 'EFI/Linux'))).toEqual([`${TOKEN}-${KVER}.efi`]);
  const uki = join(boot, 'EFI/Linux', `${TOKEN}-${KVER}.efi`);
  expect(sh(['sbverify', '--cert', cert, uki]).out).toContain('Signature verification OK');
  const r = Bun.spawnSync([BIN, 'inspect', '--json', uki], { stdout: 'pipe' });
  const j = JSON.parse(r.stdout.toString()) as { uki: { uname: string; cmdline?: string; sections: { name: string; fileOffset: number }[] }; secondStage?: { summary: string } };
  expect(j.uki.uname).toBe(KVER);
  // The kernel kernel-install was given, byte for byte.
  const at = j.uki.sections.find((s) => s.name === '.linux')!.fileOffset;
  const kernel = readFileSync(KERNEL);
  expect(readFileSync(uki).subarray(at, at + kernel.length).equals(kernel)).toBe(true);
  expect(j.secondStage?.summary).toContain('embedded');
  expect(j.uki.cmdline).toBeDefined();
  // No entry directory, no loader entry: systemd-boot finds Type #2 entries in EFI/Linux by itself.
  expect(readdirSync(boot).sort()).toEqual(['EFI']);
  expect(ki('remove', KVER).code).toBe(0);
  expect(readdirSync(join(boot, 'EFI/Linux'))).toEqual([]);
}, 300_000);
