// SPDX-License-Identifier: GPL-2.0-or-later
// The library resolver (src/host/binaries.ts), checked against the host's own ldd (which we never use
// in the product, but which is the reference on a real Debian system).

import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseElf } from '../../src/core/elf.ts';
import type { StageItem } from '../../src/core/stage.ts';
import { BaseFs } from '../../src/host/base.ts';
import { resolveBinaries } from '../../src/host/binaries.ts';
import { describeNeeding, missing, testNeeding } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

// Binaries of packages every machine has or scripts/setup.sh installs: a missing one fails under CI=true.
const SAMPLES = [
  '/usr/bin/ls', '/usr/bin/bash', '/usr/sbin/blkid', '/usr/bin/mksquashfs', '/usr/bin/mkfs.erofs',
  '/usr/bin/qemu-system-x86_64',
];
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const TIMEOUT = 30_000;

const makeTmp = (): string => tempDir('elf');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** ldd's answer as a set of real host paths (the vDSO is not a file). */
function lddSet(path: string): Set<string> {
  const libs = new Set<string>();
  for (const line of run('ldd', [path]).split('\n')) {
    if (line.includes('linux-vdso') || line.trim() === '') continue;
    expect(line).not.toContain('not found');
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m?.[1]) libs.add(realpathSync(m[1]));
  }
  return libs;
}

/** Our answer: the real files we would copy, minus the binary itself. */
function fileSources(items: StageItem[], except: string): Set<string> {
  const out = new Set<string>();
  for (const item of items) if (item.kind === 'file') out.add(realpathSync(item.source));
  out.delete(realpathSync(except));
  return out;
}

describe('resolveBinaries on the host (base /)', () => {
  const host = new BaseFs('/');
  for (const bin of SAMPLES) {
    testNeeding(missing('ldd', 'readlink', bin), `finds the same libraries as ldd for ${bin}`, async () => {
      const { items } = await resolveBinaries(host, [bin]);
      expect(fileSources(items, bin)).toEqual(lddSet(bin));
      // every symlink we record is the host's own link, verbatim
      for (const item of items) if (item.kind === 'symlink') expect(run('readlink', [item.path]).trim()).toBe(item.target);
      const paths = items.map((i) => i.path);
      expect(paths).toEqual([...paths].sort());
      expect(new Set(paths).size).toBe(paths.length);
    }, TIMEOUT);
  }

  test('bare names are searched in sbin/bin; missing ones are errors unless optional', async () => {
    const { items } = await resolveBinaries(host, ['ls']);
    expect(items.some((i) => i.path === realpathSync('/usr/bin/ls') && i.kind === 'file')).toBe(true);
    await expect(resolveBinaries(host, ['no-such-binary-xyz'])).rejects.toThrow('binary not found in base /: no-such-binary-xyz');
    const r = await resolveBinaries(host, ['ls', 'no-such-binary-xyz'], { optional: true });
    expect(r.missing).toEqual(['no-such-binary-xyz']);
  });
});

/** A copy of /usr/bin/ls and its libraries in a fake root, usr-merged or not. */
function buildFakeRoot(merged: boolean): { root: string; extraLib: string } {
  const root = makeTmp();
  const libs = [...lddSet('/usr/bin/ls')];
  const elf = parseElf(readFileSync('/usr/bin/ls'));
  if (!elf?.interp) throw new Error('ls has no interpreter');
  const triplet = basename(dirname(realpathSync(LIBC)));
  const prefix = merged ? '/usr' : '';
  const libDir = `${root}${prefix}/lib/${triplet}`;
  for (const dir of [libDir, `${root}${prefix}/bin`, `${root}${prefix}/lib64`, `${root}/opt/extra`, `${root}/etc/ld.so.conf.d`]) {
    mkdirSync(dir, { recursive: true });
  }
  if (merged) for (const d of ['bin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, `${root}/${d}`);
  copyFileSync('/usr/bin/ls', `${root}${prefix}/bin/ls`);
  const interpReal = realpathSync(elf.interp);
  // One library lives in a directory known only from ld.so.conf; the rest in the multiarch dir.
  const extra = libs.find((l) => l !== interpReal && !basename(l).startsWith('libc.')) as string;
  const extraName = basename(extra).replace(/\.so\.(\d+).*/, '.so.$1');
  for (const lib of libs) {
    if (lib === interpReal) continue;
    if (lib === extra) copyFileSync(lib, `${root}/opt/extra/${extraName}`);
    else copyFileSync(lib, `${libDir}/${basename(lib).replace(/\.so\.(\d+).*/, '.so.$1')}`);
  }
  copyFileSync(interpReal, `${libDir}/${basename(elf.interp)}`);
  // An absolute link, as Debian ships it: must resolve inside the fake root, not on the host.
  symlinkSync(`/lib/${triplet}/${basename(elf.interp)}`, `${root}${prefix}${elf.interp}`);
  writeFileSync(`${root}/etc/ld.so.conf`, 'include /etc/ld.so.conf.d/*.conf\n');
  writeFileSync(`${root}/etc/ld.so.conf.d/extra.conf`, '/opt/extra\n');
  return { root, extraLib: `/opt/extra/${extraName}` };
}

describeNeeding(missing('ldd', LIBC, '/usr/bin/ls'), 'resolveBinaries in a fake base', () => {
  for (const merged of [true, false]) {
    test(`${merged ? 'usr-merged' : 'split /usr'} layout stays inside the base`, async () => {
      const { root, extraLib } = buildFakeRoot(merged);
      const base = new BaseFs(root);
      const { items } = await resolveBinaries(base, ['ls']);
      const byPath = new Map(items.map((i) => [i.path, i]));
      for (const item of items) if (item.kind === 'file') expect(item.source.startsWith(base.root + '/')).toBe(true);
      expect(byPath.get(extraLib)?.kind).toBe('file');
      const mode = statSync('/usr/bin/ls').mode & 0o7777;
      expect(byPath.get(merged ? '/usr/bin/ls' : '/bin/ls')).toMatchObject({ kind: 'file', mode });
      if (merged) {
        expect(byPath.get('/lib')).toEqual({ kind: 'symlink', path: '/lib', target: 'usr/lib' });
        expect(byPath.get('/lib64')).toEqual({ kind: 'symlink', path: '/lib64', target: 'usr/lib64' });
        expect(byPath.get('/usr/lib64/ld-linux-x86-64.so.2')?.kind).toBe('symlink');
      } else {
        expect(byPath.get('/lib64/ld-linux-x86-64.so.2')?.kind).toBe('symlink');
      }
      const files = items.filter((i) => i.kind === 'file').length;
      expect(files).toBe(lddSet('/usr/bin/ls').size + 1);
    }, TIMEOUT);
  }

  test('a library missing from the base is an error naming it, never taken from the host', async () => {
    const { root, extraLib } = buildFakeRoot(true);
    rmSync(join(root, extraLib));
    const err = resolveBinaries(new BaseFs(root), ['/bin/ls']);
    await expect(err).rejects.toThrow(`library ${basename(extraLib)} needed by /usr/bin/ls not found in base`);
  }, TIMEOUT);

  test('symlink loops are reported, `..` cannot leave the base', async () => {
    const root = makeTmp();
    symlinkSync('loop2', `${root}/loop1`);
    symlinkSync('/loop1', `${root}/loop2`);
    symlinkSync('../../../../../etc', `${root}/up`);
    const base = new BaseFs(root);
    expect(() => base.resolve('/loop1/x')).toThrow(/too many levels of symbolic links resolving \/loop1\/x/);
    await expect(resolveBinaries(base, ['/loop1'])).rejects.toThrow(/too many levels/);
    expect(base.resolve('/up/passwd')).toBeNull(); // the host's /etc/passwd must not be found
    mkdirSync(`${root}/etc`);
    writeFileSync(`${root}/etc/passwd`, 'root::0:0::/:/bin/sh\n');
    expect(base.resolve('/up/passwd')).toEqual({ path: '/etc/passwd', links: [{ path: '/up', target: '../../../../../etc' }] });
    expect(base.hostPath('/../../etc/passwd')).toBe(`${base.root}/etc/passwd`);
  });
});

/** Builds app -> libhello (via the app's $ORIGIN) -> libworld (via libhello's ${ORIGIN}). */
function buildOriginApp(dtags: 'new' | 'old'): string {
  const dir = makeTmp();
  const flag = `-Wl,--${dtags === 'new' ? 'enable' : 'disable'}-new-dtags`;
  mkdirSync(`${dir}/app/bin`, { recursive: true });
  mkdirSync(`${dir}/app/lib/private`, { recursive: true });
  writeFileSync(`${dir}/world.c`, 'int world(void) { return 42; }\n');
  writeFileSync(`${dir}/hello.c`, 'int world(void);\nint hello(void) { return world(); }\n');
  writeFileSync(`${dir}/main.c`, 'int hello(void);\nint main(void) { return hello() == 42 ? 0 : 1; }\n');
  run('gcc', ['-shared', '-fPIC', '-o', `${dir}/app/lib/private/libworld.so`, `${dir}/world.c`]);
  run('gcc', ['-shared', '-fPIC', flag, '-Wl,-rpath,${ORIGIN}/private', '-o', `${dir}/app/lib/libhello.so`,
    `${dir}/hello.c`, `-L${dir}/app/lib/private`, '-lworld']);
  run('gcc', [flag, '-Wl,-rpath,$ORIGIN/../lib', '-o', `${dir}/app/bin/app`, `${dir}/main.c`, `-L${dir}/app/lib`, '-lhello',
    `-Wl,-rpath-link,${dir}/app/lib/private`]);
  return realpathSync(dir);
}

describeNeeding(missing('gcc', 'ldd'), '$ORIGIN', () => {
  for (const dtags of ['old', 'new'] as const) {
    test(`expands in ${dtags === 'old' ? 'DT_RPATH' : 'DT_RUNPATH'} of executables and libraries`, async () => {
      const dir = buildOriginApp(dtags);
      const app = `${dir}/app/bin/app`;
      const elf = parseElf(readFileSync(app));
      expect(dtags === 'old' ? elf?.rpath : elf?.runpath).toEqual(['$ORIGIN/../lib']);
      expect(run(app, []).length).toBe(0); // it really runs
      const { items } = await resolveBinaries(new BaseFs('/'), [app]);
      const libs = fileSources(items, app);
      expect(libs.has(`${dir}/app/lib/libhello.so`)).toBe(true);
      expect(libs.has(`${dir}/app/lib/private/libworld.so`)).toBe(true);
      expect(libs).toEqual(lddSet(app));
    }, TIMEOUT);
  }

  test('of the executable is its resolved location, as /proc/self/exe gives it', async () => {
    const dir = buildOriginApp('old');
    mkdirSync(`${dir}/links`);
    symlinkSync('../app/bin/app', `${dir}/links/app`);
    const { items } = await resolveBinaries(new BaseFs('/'), [`${dir}/links/app`]);
    const link = items.find((i) => i.path === `${dir}/links/app`);
    expect(link).toEqual({ kind: 'symlink', path: `${dir}/links/app`, target: '../app/bin/app' });
    expect(fileSources(items, `${dir}/app/bin/app`).has(`${dir}/app/lib/libhello.so`)).toBe(true);
  }, TIMEOUT);
});
