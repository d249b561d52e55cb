// SPDX-License-Identifier: GPL-2.0-or-later
// A --base is data, never code, and never a window onto the host: hostile base trees made here
// (symlinks out of the base, `..`, FIFOs and device nodes, a conf naming host files) must fail with
// one line naming the path or stay inside the base; a canary file outside the base never reaches an
// image; the base's busybox is never executed (its applets are read from its own tables), so builds
// work without bash, on noexec mounts, and for another architecture.
import { describe, expect, test } from 'bun:test';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, testNeeding } from '../unit/need.ts';
import { CAN_MOUNT, expectUserError, freshDir, KVER, mountTmpfs, run, sh, useScratch, type Run } from './helpers.ts';

useScratch();

const FAKE_KVER = '9.9.9-test';
const BUSYBOX = '/usr/bin/busybox';
/**
 * A small host module that names a firmware file (kaweth/trigger_code_fix.bin), as the newest kernel
 * ships it: kaweth.ko (Debian's 6.1) or kaweth.ko.xz (6.12). The base gets the same file name; the
 * image holds it decoded, as kaweth.ko.
 */
const FW_MODULE = (KVER && ['.ko', '.ko.xz'].map((s) => `/lib/modules/${KVER}/kernel/drivers/net/usb/kaweth${s}`).find((p) => existsSync(p))) || '';
const FW_FILE = FW_MODULE.slice(FW_MODULE.lastIndexOf('/') + 1);
const FW_NEEDS = FW_MODULE ? [] : ['a host kernel with kaweth.ko or kaweth.ko.xz'];
const FW_NAME = 'kaweth/trigger_code_fix.bin';

/** A base holding busybox and an empty kernel module tree; `kaweth` adds a module naming firmware. */
function makeBase(name: string, opts: { kaweth?: boolean; busybox?: Uint8Array } = {}): string {
  const base = freshDir(name);
  mkdirSync(join(base, 'usr/bin'), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(base, d));
  const kdir = join(base, 'usr/lib/modules', FAKE_KVER);
  mkdirSync(kdir, { recursive: true });
  if (opts.busybox) writeFileSync(join(base, 'usr/bin/busybox'), opts.busybox, { mode: 0o755 });
  else copyFileSync(BUSYBOX, join(base, 'usr/bin/busybox'));
  chmodSync(join(base, 'usr/bin/busybox'), 0o755);
  writeFileSync(join(kdir, 'modules.dep'), opts.kaweth ? `kernel/drivers/net/${FW_FILE}:\n` : '');
  if (opts.kaweth) {
    mkdirSync(join(kdir, 'kernel/drivers/net'), { recursive: true });
    copyFileSync(FW_MODULE, join(kdir, 'kernel/drivers/net', FW_FILE));
  }
  return base;
}

/** A file outside every base whose content must never appear in an image. */
function canary(): { path: string; token: string } {
  const token = `CANARY-${crypto.randomUUID()}`;
  const path = join(freshDir('canary'), 'secret');
  // A valid newc magic first: as a microcode cpio it would be taken as is.
  writeFileSync(path, `070701${token}\n`);
  return { path, token };
}

function build(base: string, ...args: string[]): { r: Run; image: string } {
  const cwd = freshDir('out');
  const r = run(['--base', base, '--kernel', FAKE_KVER, '--modules', 'base', '--compress', 'none', ...args, 'out.img'], { cwd });
  return { r, image: join(cwd, 'out.img') };
}

function imageBytes(image: string): string {
  return readFileSync(image).toString('latin1');
}

function paths(image: string): string[] {
  const r = run(['inspect', '--json', image]);
  if (r.code !== 0) throw new Error(`inspect failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { segments: { entries: { path: string }[] }[] }).segments.flatMap((s) => s.entries.map((e) => e.path));
}

describe('the base is never executed', () => {
  test("a busybox that would leave a marker if run: the applets come from its tables, the marker never appears", () => {
    const marker = join(freshDir('marker'), 'ran');
    const script = new TextEncoder().encode(`#!/bin/sh\ntouch '${marker}'\nexit 0\n`);
    const bin = new Uint8Array([...script, ...readFileSync(BUSYBOX)]);
    const { r, image } = build(makeBase('script-bb', { busybox: bin }), '--no-ucode');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const all = paths(image);
    expect(all).toContain('/usr/bin/sh');
    expect(all).toContain('/usr/sbin/switch_root');
    expect(all).toContain('/usr/sbin/insmod'); // /usr/sbin/modprobe is the kmod module's own
  });

  test('a busybox without an applet table is a one-line error, never an image without /bin/sh', () => {
    const junk = new TextEncoder().encode('#!/bin/true\nnot really BusyBox v1.99.0, with no tables\n');
    const { r, image } = build(makeBase('junk-bb', { busybox: junk }), '--no-ucode');
    expectUserError(r, /cannot read the applet list of \/usr\/bin\/busybox .*busybox 1\.99\.0/);
    expect(existsSync(image)).toBe(false);
  });

  testNeeding(KVER ? [] : ['an installed kernel'], 'without bash on PATH (a minimal container) the image still has /bin/sh', () => {
    const bin = freshDir('nobash-path');
    for (const dir of ['/usr/bin', '/usr/sbin']) {
      for (const name of readdirSync(dir)) {
        if (name === 'bash' || existsSync(join(bin, name))) continue;
        symlinkSync(join(dir, name), join(bin, name));
      }
    }
    const cwd = freshDir('nobash');
    const r = run(['--kernel', KVER, '--modules', 'base', '--no-ucode', 'out.img'], { cwd, env: { PATH: bin } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(paths(join(cwd, 'out.img'))).toContain('/usr/bin/sh');
  });

  testNeeding(CAN_MOUNT ? [] : ['root and tmpfs mounts'], 'a base on a noexec mount builds an image with /bin/sh', () => {
    const base = makeBase('noexec-src');
    const mnt = freshDir('noexec');
    mountTmpfs(mnt, 'size=16m,noexec');
    expect(sh(['cp', '-a', `${base}/.`, mnt]).ok).toBe(true);
    expect(() => Bun.spawnSync([join(mnt, 'usr/bin/busybox'), 'true'])).toThrow(/EACCES/);
    const { r, image } = build(mnt, '--no-ucode');
    expect(r.stderr).toBe('');
    expect(paths(image)).toContain('/usr/bin/sh');
  });

  test('a tool the build needs, missing from PATH, is one line naming its Debian package, before any work', () => {
    const bin = freshDir('nosquash-path');
    const cwd = freshDir('nosquash');
    const r = run(['--base', makeBase('nosquash-base'), '--kernel', FAKE_KVER, '--second-stage', 'squashfs', 'out.img'], { cwd, env: { PATH: bin } });
    expectUserError(r, /^mkruckus: error: mksquashfs is needed for --second-stage squashfs but is not installed \(Debian package squashfs-tools\)$/);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('--base reads stay inside the base', () => {
  test('index files linked to host files (absolute, relative with ..) never bring the host file in', () => {
    const c = canary();
    const base = makeBase('index-links');
    const kdir = join(base, 'usr/lib/modules', FAKE_KVER);
    symlinkSync(c.path, join(kdir, 'modules.alias'));
    symlinkSync('../../../../../../../../..' + c.path, join(kdir, 'modules.softdep'));
    symlinkSync('/etc/shadow', join(kdir, 'modules.builtin.modinfo'));
    const { r, image } = build(base, '--no-ucode');
    expect(r.code).toBe(0);
    expect(imageBytes(image)).not.toContain(c.token);
    // BASE/etc/shadow does not exist: there is no modules.builtin.modinfo to copy.
    expect(paths(image)).not.toContain(`/lib/modules/${FAKE_KVER}/modules.builtin.modinfo`);
    expect(imageBytes(image)).not.toContain(readFileSync('/etc/shadow', 'latin1').split('\n')[0]!);
  });

  test('microcode links to a host file (absolute, relative with ..) stay inside the base', () => {
    const c = canary();
    const base = makeBase('ucode-links');
    mkdirSync(join(base, 'usr/lib/firmware/intel-ucode'), { recursive: true });
    mkdirSync(join(base, 'usr/lib/firmware/amd-ucode'), { recursive: true });
    symlinkSync(c.path, join(base, 'usr/lib/firmware/intel-ucode/06-55-04'));
    symlinkSync('../../../../../../../../..' + c.path, join(base, 'usr/lib/firmware/amd-ucode/microcode_amd.bin'));
    const { r, image } = build(base);
    expect(r.code).toBe(0);
    expect(imageBytes(image)).not.toContain(c.token);
    expect(paths(image)).not.toContain('/kernel/x86/microcode/GenuineIntel.bin');
  });

  test('a microcode file that is a FIFO is one line naming it, not a hang', () => {
    const base = makeBase('ucode-fifo');
    mkdirSync(join(base, 'usr/lib/firmware/intel-ucode'), { recursive: true });
    expect(sh(['mkfifo', join(base, 'usr/lib/firmware/intel-ucode/06-55-04')]).ok).toBe(true);
    const { r, image } = build(base);
    expectUserError(r, /\/lib\/firmware\/intel-ucode\/06-55-04 in base .* is a FIFO, not a regular file/);
    expect(existsSync(image)).toBe(false);
  });

  test("`ucode = /host/file` in the base's mkruckus.conf names the base's file, never the host's", () => {
    const c = canary();
    const base = makeBase('conf-ucode');
    mkdirSync(join(base, 'etc'));
    writeFileSync(join(base, 'etc/mkruckus.conf'), `ucode = ${c.path}\n`);
    const { r, image } = build(base);
    expectUserError(r, new RegExp(`ucode = ${c.path} in the base's mkruckus.conf: not found in base`));
    expect(existsSync(image)).toBe(false);
    // The same path inside the base is what the key means.
    mkdirSync(join(base, c.path, '..'), { recursive: true });
    writeFileSync(join(base, c.path), '070701 the base own microcode\n');
    const ok = build(base);
    expect(ok.r.code).toBe(0);
    expect(imageBytes(ok.image)).toStartWith('070701 the base own microcode');
  });

  test('a module path in modules.dep climbing out with .. is clamped at the base root', () => {
    const c = canary();
    const base = makeBase('dep-dotdot');
    const kdir = join(base, 'usr/lib/modules', FAKE_KVER);
    writeFileSync(join(kdir, 'modules.dep'), `../../../../../../../../..${c.path.replace(/secret$/, 'evil.ko')}:\n`);
    writeFileSync(c.path.replace(/secret$/, 'evil.ko'), `\x7fELF${c.token}`);
    const { r, image } = build(base, '--no-ucode', '--add-drivers', 'evil');
    expectUserError(r, /not found in base .*evil\.ko/);
    expect(existsSync(image)).toBe(false);
  });

  test('kernel discovery through an absolute lib/modules link looks in the base, not the host', () => {
    const base = freshDir('kernels-link');
    mkdirSync(join(base, 'usr/bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(base, 'usr/bin/busybox'));
    symlinkSync('/usr/lib', join(base, 'lib'));
    const r = run(['--base', base, '--kernel', KVER || '6', '--modules', 'base', 'out.img'], { cwd: freshDir('out') });
    expectUserError(r, /is not installed under .*installed: \(none\)/);
  });
});

describeNeeding(FW_NEEDS, 'firmware of the base', () => {
  test.each([
    ['a FIFO', ['mkfifo'], 'a FIFO'],
    ['a character device', ['mknod', '-m', '0644', '@', 'c', '1', '3'], 'a character device'],
    ['a block device', ['mknod', '-m', '0644', '@', 'b', '7', '0'], 'a block device'],
  ])('a firmware file that is %s is refused with one line naming it', (_, cmd, kind) => {
    const base = makeBase('fw-node', { kaweth: true });
    const fw = join(base, 'usr/lib/firmware', FW_NAME);
    mkdirSync(join(fw, '..'), { recursive: true });
    const argv = cmd.includes('@') ? cmd.map((a) => (a === '@' ? fw : a)) : [...cmd, fw];
    expect(sh(argv).ok).toBe(true);
    const { r, image } = build(base, '--no-ucode', '--add-drivers', 'kaweth');
    expectUserError(r, new RegExp(`/lib/firmware/${FW_NAME} in base .* is ${kind}, not a regular file`));
    expect(existsSync(image)).toBe(false);
  });

  test('a firmware link to a host file is followed inside the base only', () => {
    const c = canary();
    const base = makeBase('fw-link', { kaweth: true });
    const fw = join(base, 'usr/lib/firmware', FW_NAME);
    mkdirSync(join(fw, '..'), { recursive: true });
    symlinkSync(c.path, fw);
    const { r, image } = build(base, '--no-ucode', '--add-drivers', 'kaweth');
    expect(r.code).toBe(0);
    expect(imageBytes(image)).not.toContain(c.token);
    expect(paths(image)).toContain(`/usr/lib/modules/${FAKE_KVER}/kernel/drivers/net/kaweth.ko`);
  });
});

describeNeeding(FW_NEEDS, "additions as keys of the base's mkruckus.conf", () => {
  test('add-drivers, include (paths of the base) and install take effect', () => {
    const base = makeBase('conf-add', { kaweth: true });
    mkdirSync(join(base, 'etc/extra.d'), { recursive: true });
    writeFileSync(join(base, 'etc/extra.d/x.conf'), 'from the base\n');
    writeFileSync(join(base, 'etc/mkruckus.conf'), 'add-drivers = kaweth\ninclude = /etc/extra.d:/etc/extra\ninstall = busybox\n');
    const { r, image } = build(base, '--no-ucode');
    expect(r.stderr).toBe('');
    const all = paths(image);
    expect(all).toContain(`/usr/lib/modules/${FAKE_KVER}/kernel/drivers/net/kaweth.ko`);
    expect(all).toContain('/etc/extra/x.conf');
  });

  test("an include key naming a link out of the base stays in the base (not found there: one line)", () => {
    const c = canary();
    const base = makeBase('conf-include-leak');
    mkdirSync(join(base, 'etc'), { recursive: true });
    symlinkSync(c.path, join(base, 'etc/leak'));
    writeFileSync(join(base, 'etc/mkruckus.conf'), 'include = /etc/leak:/etc/leak\n');
    const { r, image } = build(base, '--no-ucode');
    expectUserError(r, /include = \/etc\/leak:\/etc\/leak in the base's mkruckus\.conf: \/etc\/leak not found in base/);
    expect(existsSync(image)).toBe(false);
  });
});
