// SPDX-License-Identifier: GPL-2.0-or-later
// The cross-build: an image for an arm64 base built on this (amd64) machine, which can run nothing of
// that base, then booted under qemu-system-aarch64 (TCG) to a root. The base is Debian's arm64
// busybox-static, libc6 and kernel packages, fetched with `apt-get download` and unpacked with
// `dpkg-deb -x` (the kernel package's postinst would run depmod: the test runs the host's depmod -b).
// The .debs are kept in a cache directory between runs.
import { beforeAll, expect, test } from 'bun:test';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ensureBinary } from '../binary.ts';
import { describeNeeding, missing } from '../unit/need.ts';
import { makeExt4, randomToken, run, tempDir } from './disks.ts';

const CACHE = join(tmpdir(), 'mkruckus-arm64-debs');
const foreign = Bun.spawnSync(['dpkg', '--print-foreign-architectures']).stdout?.toString().split('\n') ?? [];
const needs = [
  ...missing('qemu-system-aarch64', 'dpkg-deb', 'apt-get', 'apt-cache', 'depmod', 'mke2fs'),
  ...(foreign.includes('arm64') ? [] : ['the arm64 apt architecture (dpkg --add-architecture arm64 && apt-get update)']),
];

let dir = '';
let base = '';
let kver = '';
let image = '';
let rootImg = '';
let token = '';

/** The kernel package the arm64 meta-package points at (linux-image-6.1.0-N-arm64). */
function kernelPackage(): string {
  const deps = run(['apt-cache', 'depends', 'linux-image-arm64:arm64']);
  const m = /Depends: (linux-image-[0-9][^:\s]*-arm64)/.exec(deps);
  if (!m) throw new Error(`no arm64 kernel package in: ${deps}`);
  return m[1]!;
}

function fetchDebs(pkgs: string[]): string[] {
  mkdirSync(CACHE, { recursive: true });
  const have = () => readdirSync(CACHE).filter((f) => f.endsWith('_arm64.deb'));
  const lacking = pkgs.filter((p) => !have().some((f) => f.startsWith(`${p}_`)));
  if (lacking.length) run(['sh', '-c', 'cd "$1" && shift && apt-get download "$@" 2>/dev/null', 'sh', CACHE, ...lacking.map((p) => `${p}:arm64`)]);
  return have().filter((f) => pkgs.some((p) => f.startsWith(`${p}_`))).map((f) => join(CACHE, f));
}

describeNeeding(needs, 'an arm64 base, cross-built and booted (qemu-system-aarch64)', () => {
  beforeAll(() => {
    ensureBinary();
    dir = tempDir('arm64');
    base = join(dir, 'base');
    const kpkg = kernelPackage();
    kver = kpkg.replace(/^linux-image-/, '');
    for (const deb of fetchDebs(['busybox-static', 'libc6', kpkg])) run(['dpkg-deb', '-x', deb, base]);
    run(['depmod', '-b', base, kver]);
    image = join(dir, 'initrd.img');
    const r = Bun.spawnSync([BIN, '--base', base, '--kernel', kver, '--no-ucode', image], { stdout: 'pipe', stderr: 'pipe' });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    // The root: the same arm64 busybox, an init that prints a token and the state, then powers off.
    token = randomToken();
    const tree = join(dir, 'tree');
    for (const d of ['bin', 'sbin', 'proc', 'sys', 'dev', 'run', 'tmp']) mkdirSync(join(tree, d), { recursive: true });
    copyFileSync(join(base, 'bin/busybox'), join(tree, 'bin/busybox'));
    chmodSync(join(tree, 'bin/busybox'), 0o755);
    symlinkSync('busybox', join(tree, 'bin/sh'));
    writeFileSync(join(tree, 'sbin/init'), [
      '#!/bin/sh',
      `echo "=== ARM64 ${token} $(/bin/busybox uname -m) pid $$"`,
      '/bin/busybox cat /run/ruckusrd/state',
      'echo "=== end"',
      '/bin/busybox poweroff -f',
      '',
    ].join('\n'), { mode: 0o755 });
    rootImg = join(dir, 'root.img');
    makeExt4(tree, rootImg, {});
  }, 600_000);

  test('the image was built without running the base: an aarch64 busybox, modules for the arm64 kernel', () => {
    const listing = run([BIN, 'inspect', image]);
    expect(listing).toContain(`/usr/lib/modules/${kver}/kernel/drivers/block/virtio_blk.ko`);
    expect(run(['file', '-L', join(base, 'bin/busybox')])).toMatch(/ARM aarch64/);
    expect(run([BIN, 'verify', image])).not.toContain(': error:');
  });

  test('it boots an arm64 guest (virt, cortex-a57, TCG) to its root', async () => {
    // The base has no blkid (util-linux is not fetched): the root's type is given.
    const p = Bun.spawn([
      'qemu-system-aarch64', '-M', 'virt', '-cpu', 'cortex-a57', '-m', '512', '-smp', '1', '-nodefaults', '-display', 'none',
      '-no-reboot', '-serial', 'stdio', '-monitor', 'none',
      '-kernel', join(base, `boot/vmlinuz-${kver}`), '-initrd', image,
      '-append', 'console=ttyAMA0 panic=-1 root=/dev/vda rootfstype=ext4',
      '-drive', `file=${rootImg},if=none,id=d0,format=raw`, '-device', 'virtio-blk-pci,drive=d0',
    ], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
    const timer = setTimeout(() => p.kill('SIGKILL'), 240_000);
    const out = await new Response(p.stdout).text();
    clearTimeout(timer);
    expect(out).not.toContain('ruckusrd: fatal:');
    expect(out).toContain(`=== ARM64 ${token} aarch64 pid 1`);
    expect(out).toMatch(/rootdev=\/dev\/vda\r?\n/);
    expect(out).toContain('mode=traditional');
  }, 300_000);
});

