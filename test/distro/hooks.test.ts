// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel hooks of packaging/, run as Debian's run-parts and systemd's kernel-install run them
// (the same arguments and environment), against temp boot directories: never the real /boot. The
// hooks find `mkruckus` on PATH; here that is the compiled dist/mkruckus, or a wrapper adding flags.
import { describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../../src/archive/read.ts';
import { parseConfig } from '../../src/core/config.ts';
import { BIN, freshDir, KVER, ROOT, useScratch } from '../cli/helpers.ts';
import { describeNeeding, missing } from '../unit/need.ts';

useScratch();

const POSTINST = join(ROOT, 'packaging/kernel/postinst.d/zz-mkruckus');
const POSTRM = join(ROOT, 'packaging/kernel/postrm.d/zz-mkruckus');
const PLUGIN = join(ROOT, 'packaging/kernel/install.d/50-mkruckus.install');
const LOADERENTRY = '/usr/lib/kernel/install.d/90-loaderentry.install';
const S2 = '--second-stage erofs --second-stage-placement boot';

/** A directory holding `mkruckus`: the binary itself, or a wrapper that adds `extra` flags. */
function binDir(extra = ''): string {
  const dir = freshDir('bin');
  writeFileSync(join(dir, 'mkruckus'), `#!/bin/sh\nexec ${BIN} "$@" ${extra}\n`);
  chmodSync(join(dir, 'mkruckus'), 0o755);
  return dir;
}

function runHook(argv: string[], env: Record<string, string> = {}, bin = binDir()) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(INITRD|DEB_MAINT_PARAMS|KERNEL_INSTALL_)/.test(k)));
  const r = Bun.spawnSync(argv, { env: { ...clean, PATH: `${bin}:${process.env.PATH}`, ...env }, stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

async function fileIn(image: string, path: string): Promise<string> {
  const e = (await readImageFile(image, { data: true })).flatMap((s) => s.entries).find((x) => x.path === path);
  return e?.data ? new TextDecoder().decode(e.data) : '';
}

describe('the default /etc/mkruckus.conf', () => {
  test('sets nothing, and every commented key is a key mkruckus reads', () => {
    const text = readFileSync(join(ROOT, 'packaging/mkruckus.conf'), 'utf8');
    expect(parseConfig(text, 'mkruckus.conf')).toEqual({});
    const uncommented = text.split('\n').filter((l) => /^#[a-z-]+ *=/.test(l)).map((l) => l.slice(1)).join('\n');
    expect(uncommented.split('\n').length).toBeGreaterThanOrEqual(6);
    expect(() => parseConfig(uncommented, 'uncommented')).not.toThrow();
  });
});

describeNeeding(KVER ? [] : ['an installed kernel'], '/etc/kernel/postinst.d and postrm.d (run-parts KVER IMAGE)', () => {
  test('postinst: the image beside the kernel image, with its second stage; nothing for INITRD=No or a non-configure call', () => {
    const boot = freshDir('boot');
    const vmlinuz = join(boot, `vmlinuz-${KVER}`);
    const bin = binDir(S2);
    expect(runHook([POSTINST, KVER, vmlinuz], { INITRD: 'No' }, bin).code).toBe(0);
    expect(runHook([POSTINST, KVER, vmlinuz], { DEB_MAINT_PARAMS: "'abort-upgrade' '1'" }, bin).code).toBe(0);
    expect(readdirSync(boot)).toEqual([]);
    const none = runHook([POSTINST], {}, bin);
    expect(none.code).toBe(2);
    expect(none.out).toContain('did not pass a version number');
    const r = runHook([POSTINST, KVER, vmlinuz], { DEB_MAINT_PARAMS: "'configure' ''", DPKG_MAINTSCRIPT_PACKAGE: `linux-image-${KVER}` }, bin);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${KVER}: ${boot}/initrd.img-${KVER} (`);
    // The second stage is named by its content: initrd.img-KVER.stage2-HASH.
    expect(readdirSync(boot).sort()).toEqual([`initrd.img-${KVER}`, expect.stringMatching(/\.stage2-[0-9a-f]{16}$/)]);
  });

  test('postrm: the image and its second stage go on remove, not on purge or with INITRD=No', () => {
    const boot = freshDir('boot-rm');
    const vmlinuz = join(boot, `vmlinuz-${KVER}`);
    for (const f of [`initrd.img-${KVER}`, `initrd.img-${KVER}.stage2-0123456789abcdef`, 'initrd.img-other']) writeFileSync(join(boot, f), 'x');
    expect(runHook([POSTRM, KVER, vmlinuz], { DEB_MAINT_PARAMS: "'purge'" }).code).toBe(0);
    expect(runHook([POSTRM, KVER, vmlinuz], { INITRD: 'No' }).code).toBe(0);
    expect(readdirSync(boot).length).toBe(3);
    const r = runHook([POSTRM, KVER, vmlinuz], { DEB_MAINT_PARAMS: "'remove'" });
    expect(r.code).toBe(0);
    expect(readdirSync(boot)).toEqual(['initrd.img-other']);
  });
});

const KI_NEEDS = [...missing('kernel-install', LOADERENTRY), ...(KVER && existsSync(`/boot/vmlinuz-${KVER}`) ? [] : ['an installed kernel with its /boot/vmlinuz'])];

describeNeeding(KI_NEEDS, "kernel-install's 50-mkruckus.install", () => {
  function kernelInstall(layout: string, bootRoot: string, bin: string, ...args: string[]) {
    const conf = freshDir('ki-conf');
    writeFileSync(join(conf, 'install.conf'), `layout=${layout}\n`);
    return runHook(['kernel-install', ...args], {
      KERNEL_INSTALL_CONF_ROOT: conf,
      BOOT_ROOT: bootRoot,
      MACHINE_ID: '0123456789abcdef0123456789abcdef',
      KERNEL_INSTALL_PLUGINS: `${PLUGIN} ${LOADERENTRY}`,
    }, bin);
  }

  test('bls: the staged initrd becomes the entry\'s only initrd; the second stage sits in the entry, recorded there', async () => {
    const boot = freshDir('esp');
    const bin = binDir(S2);
    const add = kernelInstall('bls', boot, bin, 'add', KVER, `/boot/vmlinuz-${KVER}`);
    expect(add.code).toBe(0);
    const entry = join(boot, '0123456789abcdef0123456789abcdef', KVER);
    const s2 = readdirSync(entry).sort()[2]!;
    expect(readdirSync(entry).sort()).toEqual(['initrd', 'linux', expect.stringMatching(/^mkruckus\.stage2-[0-9a-f]{16}$/)]);
    const conf = readFileSync(join(boot, 'loader/entries', `0123456789abcdef0123456789abcdef-${KVER}.conf`), 'utf8');
    expect(conf.split('\n').filter((l) => l.startsWith('initrd'))).toEqual([`initrd     ${entry}/initrd`]);
    // The boot file system here is the host's /, so the path at boot is the absolute one.
    expect(await fileIn(join(entry, 'initrd'), '/etc/ruckusrd/stage2.conf')).toContain(`\npath=${entry}/${s2}\n`);
    expect(kernelInstall('bls', boot, bin, 'remove', KVER).code).toBe(0);
    expect(existsSync(entry)).toBe(false);
  });

  test('other (Debian\'s default): BOOT_ROOT/initrd.img-KVER, removed by remove', () => {
    const boot = freshDir('boot-other');
    expect(kernelInstall('other', boot, binDir(), 'add', KVER, `/boot/vmlinuz-${KVER}`).code).toBe(0);
    expect(readdirSync(boot)).toEqual([`initrd.img-${KVER}`]);
    expect(kernelInstall('other', boot, binDir(), 'remove', KVER).code).toBe(0);
    expect(readdirSync(boot)).toEqual([]);
  });

  test('another initrd generator chosen: nothing is built', () => {
    const boot = freshDir('boot-gen');
    mkdirSync(join(boot, 'x'));
    const r = runHook([PLUGIN, 'add', KVER, join(boot, 'x'), `/boot/vmlinuz-${KVER}`], { KERNEL_INSTALL_INITRD_GENERATOR: 'dracut', KERNEL_INSTALL_BOOT_ROOT: boot, KERNEL_INSTALL_LAYOUT: 'other' });
    expect(r.code).toBe(0);
    expect(readdirSync(boot)).toEqual(['x']);
  });
});

describeNeeding(missing('shellcheck'), 'the hooks as shell', () => {
  test.each([[POSTINST], [POSTRM], [PLUGIN]])('%s passes shellcheck -s sh and is executable', (hook) => {
    const r = Bun.spawnSync(['shellcheck', '-s', 'sh', hook], { stdout: 'pipe' });
    expect(r.stdout.toString()).toBe('');
    expect(r.exitCode).toBe(0);
    expect(Bun.spawnSync(['test', '-x', hook]).exitCode).toBe(0);
  });
});
