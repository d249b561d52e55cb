// SPDX-License-Identifier: GPL-2.0-or-later
// The binaries for other machines (scripts/build-binary.ts --target): the arm64 glibc one run under
// qemu-aarch64 (qemu-user) with Debian's arm64 libc unpacked by dpkg-deb -x, building an image of an
// arm64 base that is byte for byte the one the amd64 binary builds; the amd64 musl one's needs read
// with readelf (Debian has no musl libstdc++ to run it); the arm64 .deb of scripts/build-deb.sh.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ensureBinary, ROOT } from '../binary.ts';
import { describeNeeding, missing } from '../unit/need.ts';

// Shared with test/boot/arm64.boot.test.ts: the same .debs, fetched once.
const CACHE = join(tmpdir(), 'mkruckus-arm64-debs');
const foreign = Bun.spawnSync(['dpkg', '--print-foreign-architectures']).stdout?.toString().split('\n') ?? [];
const needs = [
  ...missing('qemu-aarch64', 'readelf', 'dpkg-deb', 'apt-get', 'apt-cache', 'depmod'),
  ...(foreign.includes('arm64') ? [] : ['the arm64 apt architecture (dpkg --add-architecture arm64 && apt-get update)']),
];

function sh(argv: string[], env: Record<string, string> = {}): string {
  const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...env } });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} (${r.exitCode}): ${r.stdout}${r.stderr}`);
  return r.stdout.toString();
}

function fetchDebs(pkgs: string[]): string[] {
  mkdirSync(CACHE, { recursive: true });
  const have = () => readdirSync(CACHE).filter((f) => f.endsWith('_arm64.deb'));
  const lacking = pkgs.filter((p) => !have().some((f) => f.startsWith(`${p}_`)));
  if (lacking.length) sh(['sh', '-c', 'cd "$1" && shift && apt-get download "$@"', 'sh', CACHE, ...lacking.map((p) => `${p}:arm64`)]);
  return have().filter((f) => pkgs.some((p) => f.startsWith(`${p}_`))).map((f) => join(CACHE, f));
}

/** NEEDED libraries and the program interpreter of an ELF file, by readelf. */
function elfNeeds(file: string): { needed: string[]; interpreter: string | undefined; glibc: string[] } {
  const dyn = sh(['readelf', '-d', '-W', file]);
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const interpreter = /Requesting program interpreter: ([^\]]+)\]/.exec(sh(['readelf', '-l', '-W', file]))?.[1];
  const glibc = [...new Set(sh(['readelf', '-V', '-W', file]).match(/GLIBC_[0-9.]+/g) ?? [])];
  return { needed, interpreter, glibc };
}

const newer = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

describeNeeding(needs, 'binaries for arm64 and musl', () => {
  let dir = '';
  let sysroot = '';
  let base = '';
  let kver = '';
  const arm = () => join(dir, 'mkruckus-linux-arm64');
  /** The arm64 binary under qemu-aarch64 on an ARMv8.0 core, its libraries from the unpacked libc6:arm64. */
  const runArm = (args: string[], env: Record<string, string> = {}) => sh(['qemu-aarch64', '-cpu', 'cortex-a53', '-L', sysroot, arm(), ...args], env);

  beforeAll(() => {
    ensureBinary(); // also brings src/generated up to date
    dir = mkdtempSync(join(tmpdir(), 'mkruckus-cross-'));
    sh([process.execPath, join(ROOT, 'scripts/build-binary.ts'), '--outdir', dir, '--target', 'bun-linux-arm64', 'bun-linux-x64-musl']);
    const kpkg = /Depends: (linux-image-[0-9][^:\s]*-arm64)/.exec(sh(['apt-cache', 'depends', 'linux-image-arm64:arm64']))![1]!;
    kver = kpkg.replace(/^linux-image-/, '');
    sysroot = join(dir, 'sysroot');
    base = join(dir, 'base');
    const [libc] = fetchDebs(['libc6']);
    sh(['dpkg-deb', '-x', libc!, sysroot]);
    for (const deb of fetchDebs(['busybox-static', 'libc6', kpkg])) sh(['dpkg-deb', '-x', deb, base]);
    sh(['depmod', '-b', base, kver]);
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the arm64 binary needs glibc >= 2.17 and nothing else; the musl one musl and libstdc++', () => {
    const a = elfNeeds(arm());
    expect(sh(['file', '-b', arm()])).toMatch(/ARM aarch64/);
    expect(a.interpreter).toBe('/lib/ld-linux-aarch64.so.1');
    expect(a.needed.sort()).toEqual(['ld-linux-aarch64.so.1', 'libc.so.6', 'libdl.so.2', 'libm.so.6', 'libpthread.so.0']);
    expect(a.glibc.sort(newer).at(-1)).toBe('GLIBC_2.17');
    const m = elfNeeds(join(dir, 'mkruckus-linux-amd64-musl'));
    expect(m.interpreter).toBe('/lib/ld-musl-x86_64.so.1');
    expect(m.needed.sort()).toEqual(['libc.musl-x86_64.so.1', 'libstdc++.so.6']);
    expect(m.glibc).toEqual([]);
    // The host binary: the same glibc floor as the README states.
    expect(elfNeeds(BIN).glibc.sort(newer).at(-1)).toBe('GLIBC_2.17');
  });

  test('under qemu-aarch64 it builds the image of an arm64 base, byte for byte the amd64 binary\'s', () => {
    expect(runArm(['--version']).trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    // Uncompressed: Bun's zstd gives other bytes on arm64 than on amd64 (the archive itself is the same).
    const args = (out: string) => ['--base', base, '--kernel', kver, '--no-ucode', '--compress', 'none', out];
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    runArm(args(join(dir, 'arm.img')), env);
    sh([BIN, ...args(join(dir, 'amd64.img'))], env);
    expect(Bun.hash(readFileSync(join(dir, 'arm.img')))).toBe(Bun.hash(readFileSync(join(dir, 'amd64.img'))));
    expect(sh([BIN, 'inspect', join(dir, 'arm.img')])).toContain(`/usr/lib/modules/${kver}/kernel/drivers/block/virtio_blk.ko`);
  }, 300_000);

  test('scripts/build-deb.sh makes the arm64 package around that binary', () => {
    const deb = join(dir, 'mkruckus_arm64.deb');
    sh([join(ROOT, 'scripts/build-deb.sh'), deb], { DEB_ARCH: 'arm64', BINARY: arm(), NO_BUILD: '1' });
    expect(sh(['dpkg-deb', '--field', deb, 'Architecture']).trim()).toBe('arm64');
    const x = join(dir, 'x');
    sh(['dpkg-deb', '-x', deb, x]);
    expect(sh(['file', '-b', join(x, 'usr/bin/mkruckus')])).toMatch(/ARM aarch64/);
    expect(sh(['cmp', join(x, 'usr/bin/mkruckus'), arm()])).toBe('');
  });
});
