// SPDX-License-Identifier: GPL-2.0-or-later
// The amd64 binary packagers get must start on every CPU Bun's runtime supports (x86-64-v2: SSE4.2,
// POPCNT; Nehalem, Bulldozer), not only on the builder's: the .deb's /usr/bin/mkruckus and
// `--target all`'s mkruckus-linux-amd64 run under qemu-x86_64 (qemu-user) with an emulated CPU
// without AVX, so without AVX2. Bun 1.3's default x64 runtime died there at once (SIGILL, exit 132);
// 1.4 ships one Nehalem runtime (README: Binaries). qemu-user traps an instruction the emulated CPU
// lacks (a vpaddd on ymm under -cpu Nehalem is checked to be SIGILL), so a pass means something.
// Below that floor the .deb's preinst refuses to install, read from a /proc/cpuinfo bound over.
import { beforeAll, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, freshDir, KVER, ROOT, useScratch } from '../cli/helpers.ts';
import { describeNeeding, missing } from '../unit/need.ts';
import { buildDeb } from './debian-tree.ts';

useScratch();

/** A CPU without AVX and AVX2 (Intel, 2008): what Bun's runtime needs and no more. */
const CPU = 'Nehalem';
const amd64 = Bun.spawnSync(['dpkg', '--print-architecture']).stdout?.toString().trim() === 'amd64';
const needs = [
  ...missing('qemu-x86_64', 'dpkg-deb', 'as', 'ld', 'unshare'),
  ...(amd64 ? [] : ['an amd64 machine']),
  ...(KVER ? [] : ['an installed kernel']),
  ...(process.getuid?.() === 0 ? [] : ['root (a mount namespace)']),
];
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

function sh(argv: string[], env: Record<string, string> = {}): string {
  const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...env } });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} (${r.exitCode ?? r.signalCode}): ${r.stdout}${r.stderr}`);
  return r.stdout.toString();
}

/** A program that runs one AVX2 instruction and exits 0: assembled with binutils. */
function avx2Probe(dir: string): string {
  writeFileSync(join(dir, 'avx2.s'), '.globl _start\n_start:\n vpaddd %ymm0, %ymm1, %ymm2\n mov $60, %eax\n xor %edi, %edi\n syscall\n');
  sh(['as', '-o', join(dir, 'avx2.o'), join(dir, 'avx2.s')]);
  sh(['ld', '-o', join(dir, 'avx2'), join(dir, 'avx2.o')]);
  return join(dir, 'avx2');
}

describeNeeding(needs, `the amd64 binaries on a CPU without AVX2 (qemu-x86_64 -cpu ${CPU})`, () => {
  let dir = '';
  let packaged = '';
  let deb = '';
  beforeAll(() => {
    dir = freshDir('cpu');
    const x = join(dir, 'deb');
    deb = buildDeb(join(dir, 'mkruckus.deb'));
    sh(['dpkg-deb', '-x', deb, x]);
    packaged = join(x, 'usr/bin/mkruckus');
  }, 300_000);

  test('the emulated CPU traps AVX2: the probe dies of SIGILL there and runs on Haswell', () => {
    const probe = avx2Probe(dir);
    const on = (cpu: string) => Bun.spawnSync(['qemu-x86_64', '-cpu', cpu, probe], { stdout: 'pipe', stderr: 'pipe' });
    expect(on(CPU).signalCode).toBe('SIGILL');
    expect(on('Haswell').exitCode).toBe(0);
  });

  test('the .deb\'s binary prints its version and builds the image it builds natively, byte for byte', () => {
    expect(sh(['qemu-x86_64', '-cpu', CPU, packaged, '--version']).trim()).toBe(VERSION);
    // The default modules (kmod decodes the kernel's .ko.xz, zstd compresses): the JIT tiers up.
    const args = (out: string) => ['--kernel', KVER, '--no-ucode', join(dir, out)];
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    sh(['qemu-x86_64', '-cpu', CPU, packaged, ...args('emulated.img')], env);
    sh([packaged, ...args('native.img')], env);
    expect(Bun.hash(readFileSync(join(dir, 'emulated.img')))).toBe(Bun.hash(readFileSync(join(dir, 'native.img'))));
    expect(sh([BIN, 'inspect', join(dir, 'emulated.img')])).toMatch(/\/usr\/lib\/modules\/\S+\/kernel\/fs\/overlayfs\/overlay\.ko/);
  }, 300_000);

  test('scripts/build-binary.ts --target\'s amd64 binary starts there too', () => {
    sh([process.execPath, join(ROOT, 'scripts/build-binary.ts'), '--outdir', dir, '--target', 'bun-linux-x64-baseline']);
    expect(sh(['qemu-x86_64', '-cpu', CPU, join(dir, 'mkruckus-linux-amd64'), '--version']).trim()).toBe(VERSION);
  }, 300_000);

  test('the .deb\'s preinst refuses a CPU without SSE4.2 and POPCNT (Core 2) and takes one without AVX', () => {
    const ctl = join(dir, 'ctl');
    sh(['dpkg-deb', '--control', deb, ctl]);
    const host = readFileSync('/proc/cpuinfo', 'utf8');
    /** DEBIAN/preinst install, as dpkg runs it, with CPUINFO bound over /proc/cpuinfo. */
    const preinst = (name: string, cpuinfo: string) => {
      writeFileSync(join(dir, name), cpuinfo);
      const bind = 'mount --bind "$1" /proc/cpuinfo && exec "$2" install';
      const argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', bind, 'sh', join(dir, name), join(ctl, 'preinst')];
      return Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' });
    };
    const core2 = preinst('core2.cpuinfo', host.replace(/ (sse4_2|popcnt)\b/g, ''));
    expect(core2.exitCode).toBe(1);
    expect(core2.stderr.toString()).toMatch(/^mkruckus: error: this CPU lacks sse4_2 popcnt \(\/proc\/cpuinfo flags\); /);
    const nehalem = preinst('nehalem.cpuinfo', host.replace(/ avx\w*\b/g, ''));
    expect(nehalem.stderr.toString()).toBe('');
    expect(nehalem.exitCode).toBe(0);
  });
});
