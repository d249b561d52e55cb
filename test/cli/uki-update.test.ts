// SPDX-License-Identifier: GPL-2.0-or-later
// `update` and `remove` with UKIs, in a --base (never the real /boot): the image at --dest stays a
// plain initramfs even with `uki = yes` in mkruckus.conf; the UKIs mkruckus made for the kernel in
// EFI/Linux are rebuilt in place with the current configuration (keeping their command line when
// there is no other) and deleted by `remove`; UKIs mkruckus did not make, or of another kernel,
// are left alone.
import { expect, test } from 'bun:test';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewc } from '../../src/archive/cpio.ts';
import { makeUki } from '../../src/uki/uki.ts';
import { describeNeeding, missing } from '../unit/need.ts';
import { CAN_OVERLAY, freshDir, KVER, run, runInBase, sh, sha256, useScratch } from './helpers.ts';

useScratch();

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const NEEDS = [
  ...(KVER && existsSync(`/boot/vmlinuz-${KVER}`) ? [] : ['an installed kernel with its /boot/vmlinuz']),
  ...(CAN_OVERLAY ? [] : ['root and overlay mounts (unshare -m)']),
  ...missing(STUB),
];

interface UkiJson { uki: { uname: string; cmdline?: string }; segments: { compression: string }[] }
const inspectJson = (file: string) => JSON.parse(run(['inspect', '--json', file]).stdout) as UkiJson;

/** A UKI not made by mkruckus: its initramfs lacks /etc/ruckusrd/build.conf (or has it, for another kernel). */
function foreignUki(out: string, uname: string, withBuildConf: boolean): void {
  const enc = new TextEncoder();
  const entries = [
    { path: '/etc', type: 'dir' as const, mode: 0o755 },
    { path: withBuildConf ? '/etc/ruckusrd/build.conf' : '/etc/other-builder', type: 'file' as const, mode: 0o644, data: enc.encode('x\n') },
    ...(withBuildConf ? [{ path: '/etc/ruckusrd', type: 'dir' as const, mode: 0o755 }] : []),
  ].sort((a, b) => a.path.localeCompare(b.path));
  const initrd = writeNewc(entries, { mtime: 0 });
  writeFileSync(out, makeUki(readFileSync(STUB), { linux: readFileSync(`/boot/vmlinuz-${KVER}`), initrd, osrel: enc.encode('ID=x\n'), uname, cmdline: 'foreign' }));
}

describeNeeding(NEEDS, 'update and remove rebuild and delete the UKIs mkruckus made', () => {
  test('uki = yes: --dest stays plain; own UKI rebuilt with the new config and its command line; others untouched; remove', () => {
    const base = freshDir('ukibase');
    for (const d of ['usr', 'etc', 'boot/efi/EFI/Linux']) mkdirSync(join(base, d), { recursive: true });
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(base, d));
    sh(['cp', '-a', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/os-release', join(base, 'etc/')]);
    copyFileSync(`/boot/vmlinuz-${KVER}`, join(base, `boot/vmlinuz-${KVER}`));
    const extra = freshDir('ukibase-usr');
    const linux = join(base, 'boot/efi/EFI/Linux');
    const own = join(linux, `test-${KVER}.efi`);
    const made = runInBase(base, extra, ['--kernel', KVER, '--uki', '--cmdline', 'root=LABEL=keep', own], base);
    expect(made.stderr).toBe('');
    // the cpio compressed as configured; the cold modules' stored archive after it, as it is
    expect(inspectJson(own).segments.map((s) => s.compression)).toEqual(['zstd', 'none']);
    foreignUki(join(linux, 'other-builder.efi'), KVER, false);
    foreignUki(join(linux, 'other-kernel.efi'), '9.9.9-other', true);
    const untouched = ['other-builder.efi', 'other-kernel.efi'].map((n) => sha256(join(linux, n)));

    writeFileSync(join(base, 'etc/mkruckus.conf'), 'uki = yes\ncompress = gzip\n');
    // An image elsewhere is a build of its own: the system's UKIs are left as they are.
    mkdirSync(join(base, 'out'));
    const before = sha256(own);
    const elsewhere = runInBase(base, extra, ['update', '-k', KVER, '--dest', '/out/initrd.img-{kver}'], base);
    expect(elsewhere.stdout.trim().split('\n')).toHaveLength(1);
    expect(sha256(own)).toBe(before);
    const r = runInBase(base, extra, ['update', '-k', KVER, '--dest', '/boot/initrd.img-{kver}'], base);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toStartWith(`${KVER}: ${join(base, 'boot/initrd.img-' + KVER)} (`);
    expect(lines[1]).toStartWith(`${KVER}: ${own} (UKI, `);
    // The image a boot loader loads as an initrd is never a PE file.
    expect(readFileSync(join(base, `boot/initrd.img-${KVER}`)).subarray(0, 2).toString()).not.toBe('MZ');
    const rebuilt = inspectJson(own);
    expect(rebuilt.segments.map((s) => s.compression)).toEqual(['gzip', 'none']);
    expect(rebuilt.uki).toMatchObject({ uname: KVER, cmdline: 'root=LABEL=keep' });
    expect(['other-builder.efi', 'other-kernel.efi'].map((n) => sha256(join(linux, n)))).toEqual(untouched);

    const rm = runInBase(base, extra, ['remove', '-k', KVER, '--dest', '/boot/initrd.img-{kver}'], base);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`${KVER}: removed ${own}\n`);
    expect(existsSync(own)).toBe(false);
    expect(existsSync(join(base, `boot/initrd.img-${KVER}`))).toBe(false);
    expect(['other-builder.efi', 'other-kernel.efi'].map((n) => sha256(join(linux, n)))).toEqual(untouched);
  }, 300_000);
});
