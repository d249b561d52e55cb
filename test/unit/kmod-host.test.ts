// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel modules from a base into stage items (src/host/kmod.ts, with kmod-index, kmod-files,
// kmod-decompress and firmware.ts): a fake base with every compression, then the host's own kmod
// (modprobe --show-depends, depmod, modinfo) as the reference on every installed kernel's modules tree.

import { beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as kmod from '../../src/core/kmod.ts';
import { parseModinfo } from '../../src/core/modinfo.ts';
import type { StageItem } from '../../src/core/stage.ts';
import { planKernelModules } from '../../src/host/kmod.ts';
import { xzUncompressedSize } from '../../src/host/kmod-decompress.ts';
import { makeElf, MODINFO } from './modelf.ts';
import { describeNeeding, missing, testNeeding } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const makeTmp = (): string => tempDir('kmod');

function run(cmd: string, args: string[], input?: Uint8Array): { out: string; bytes: Buffer } {
  const r = spawnSync(cmd, args, { input, env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { out: r.stdout.toString(), bytes: r.stdout };
}

function writeItems(root: string, items: StageItem[]): void {
  for (const item of items) {
    const dest = join(root, item.path);
    mkdirSync(dirname(dest), { recursive: true });
    if (item.kind === 'bytes') writeFileSync(dest, item.data);
    else if (item.kind === 'file') copyFileSync(item.source, dest);
    else if (item.kind === 'symlink') symlinkSync(item.target, dest);
  }
}

function put(root: string, path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
}

const KVER_FAKE = '9.9.9-test';

describe('xz sizes', () => {
  testNeeding(missing('xz'), 'single, multi-block and concatenated streams with padding', () => {
    const data = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
    const one = run('xz', ['-c', '--check=crc32'], data).bytes;
    const blocks = run('xz', ['-c', '--block-size=50000'], data).bytes;
    expect(xzUncompressedSize(one)).toBe(data.length);
    expect(xzUncompressedSize(blocks)).toBe(data.length);
    expect(xzUncompressedSize(Buffer.concat([one, new Uint8Array(8), blocks]))).toBe(2 * data.length);
    expect(xzUncompressedSize(one.subarray(0, one.length - 1))).toBeUndefined();
  });
});

describe('planKernelModules on a fake base', () => {
  const KVER = KVER_FAKE;
  const fake = makeElf([{ name: '.modinfo', data: new TextEncoder().encode(MODINFO) }], true, true);
  const other = makeElf([{ name: '.modinfo', data: new TextEncoder().encode('name=other\0') }], true, true);
  testNeeding(missing('xz'), 'decompresses every format and follows /lib -> usr/lib inside the base', async () => {
    const base = makeTmp();
    symlinkSync('usr/lib', join(base, 'lib'));
    const dir = `usr/lib/modules/${KVER}`;
    put(base, `${dir}/kernel/fake.ko.xz`, run('xz', ['-c'], fake).bytes);
    put(base, `${dir}/kernel/other-a.ko.zst`, Bun.zstdCompressSync(other));
    put(base, `${dir}/kernel/other-b.ko.gz`, Bun.gzipSync(other));
    put(base, `${dir}/kernel/other-c.ko.xz`, run('xz', ['-c'], other).bytes);
    put(base, `${dir}/modules.dep`, `kernel/fake.ko.xz: kernel/other-a.ko.zst kernel/other-c.ko.xz kernel/other-b.ko.gz\nkernel/other-a.ko.zst:\nkernel/other-b.ko.gz:\nkernel/other-c.ko.xz:\n`);
    put(base, `${dir}/modules.softdep`, 'softdep fake post: other_a\n');
    put(base, 'usr/lib/firmware/real/bar.bin', 'BAR');
    symlinkSync('../real/bar.bin', join(base, 'usr/lib/firmware/foo-bar.bin'));
    mkdirSync(join(base, 'usr/lib/firmware/foo'));
    symlinkSync('../real/bar.bin', join(base, 'usr/lib/firmware/foo/bar.bin'));
    symlinkSync('/usr/lib/firmware/real/bar.bin', join(base, 'usr/lib/firmware/abs.bin'));
    put(base, 'usr/lib/firmware/glob/a.fw', 'A');
    put(base, 'usr/lib/firmware/glob/b.fw', 'B');
    put(base, 'usr/lib/firmware/zonly.bin.zst', 'Z');

    const plan = await planKernelModules(base, KVER, ['fake'], { firmware: true });
    expect(plan.loaded).toEqual(['other_b', 'other_c', 'other_a', 'fake']);
    expect(plan.firmware).toEqual(['abs.bin', 'foo/bar.bin', 'glob/*.fw', 'zonly.bin']);
    expect(plan.missingFirmware).toEqual(['missing.bin']);
    const byPath = new Map(plan.items.map((i) => [i.path, i]));
    const img = `/lib/modules/${KVER}`;
    expect(byPath.get(`${img}/kernel/fake.ko`)).toMatchObject({ kind: 'bytes', data: fake });
    for (const m of ['a', 'b', 'c']) expect(byPath.get(`${img}/kernel/other-${m}.ko`)).toMatchObject({ data: other });
    const text = (p: string): string => new TextDecoder().decode((byPath.get(p) as { data: Uint8Array }).data);
    expect(text(`${img}/modules.dep`)).toBe(
      'kernel/fake.ko: kernel/other-a.ko kernel/other-c.ko kernel/other-b.ko\nkernel/other-a.ko:\nkernel/other-b.ko:\nkernel/other-c.ko:\n',
    );
    expect([...byPath.values()].filter((i) => i.path.startsWith('/lib/firmware/'))).toEqual([
      { kind: 'file', path: '/lib/firmware/abs.bin', mode: 0o644, source: join(base, 'usr/lib/firmware/real/bar.bin') },
      { kind: 'symlink', path: '/lib/firmware/foo/bar.bin', target: '../real/bar.bin' },
      { kind: 'file', path: '/lib/firmware/real/bar.bin', mode: 0o644, source: join(base, 'usr/lib/firmware/real/bar.bin') },
      { kind: 'file', path: '/lib/firmware/glob/a.fw', mode: 0o644, source: join(base, 'usr/lib/firmware/glob/a.fw') },
      { kind: 'file', path: '/lib/firmware/glob/b.fw', mode: 0o644, source: join(base, 'usr/lib/firmware/glob/b.fw') },
      { kind: 'file', path: '/lib/firmware/zonly.bin.zst', mode: 0o644, source: join(base, 'usr/lib/firmware/zonly.bin.zst') },
    ]);
  });
  test('a kernel without modules is a user error', async () => {
    await expect(planKernelModules(makeTmp(), KVER, ['x'], { firmware: false })).rejects.toThrow(/no kernel modules/);
  });
});

/** modprobe, depmod, modinfo: in /usr/sbin, or /sbin on an unmerged system. */
const sbin = (name: string): string | undefined => [`/usr/sbin/${name}`, `/sbin/${name}`].find((p) => existsSync(p));
const [MODPROBE, DEPMOD, MODINFO_TOOL] = [sbin('modprobe'), sbin('depmod'), sbin('modinfo')];
const KMOD_TOOLS = Object.entries({ modprobe: MODPROBE, depmod: DEPMOD, modinfo: MODINFO_TOOL }).flatMap(([n, p]) => (p ? [] : [n]));
const REAL = ['ext4', 'virtio_blk', 'squashfs', 'overlay', 'erofs', 'loop'];
/** Modules that declare firmware on Debian's kernels, so the modinfo comparison has something to compare. */
const WITH_FIRMWARE = ['isci', 'tg3', 'bnx2', 'r8169', 'e100', 'qla2xxx'];

/** `6.1.0-9` < `6.1.0-10` < `6.12.1`: numeric runs compared as numbers. */
function compareKernelVersions(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i]!, pb[i]!];
    const c = i % 2 ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

test('kernel versions sort numerically', () => {
  expect(['6.12.1-amd64', '6.1.0-10-amd64', '6.1.0-9-amd64', '5.10.0-1'].sort(compareKernelVersions)).toEqual([
    '5.10.0-1', '6.1.0-9-amd64', '6.1.0-10-amd64', '6.12.1-amd64',
  ]);
});

/** Every installed kernel with a depmod index: each is checked, whichever and however many there are. */
const KVERS = existsSync('/lib/modules')
  ? readdirSync('/lib/modules').filter((k) => existsSync(`/lib/modules/${k}/modules.dep`)).sort(compareKernelVersions)
  : [];

/** kmod's answer, host configuration ignored: insmod paths relative to the modules dir, and built-ins. */
function showDepends(kver: string, name: string, dir = '/'): { insmod: string[]; builtin: string[] } {
  const out = run(MODPROBE as string, ['-d', dir, '-S', kver, '-C', '/nonexistent', '--show-depends', name]).out;
  const marker = `/lib/modules/${kver}/`;
  const insmod = [...out.matchAll(/^insmod (\S+)/gm)].map((m) => {
    const path = m[1] as string;
    return path.slice(path.indexOf(marker) + marker.length);
  });
  return { insmod, builtin: [...out.matchAll(/^builtin (\S+)/gm)].map((m) => m[1] as string) };
}

/** A module file as the system's own tools decompress it: the reference for our decompression. */
function systemDecompressed(path: string): Uint8Array {
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : undefined;
  return new Uint8Array(tool ? run(tool, ['-dc', path]).bytes : readFileSync(path));
}

/** modinfo(8)'s firmware list for module bytes, read from an uncompressed copy (kmod may lack zlib). */
function modinfoFirmware(elf: Uint8Array): string[] {
  const path = join(makeTmp(), 'module.ko');
  writeFileSync(path, elf);
  return run(MODINFO_TOOL as string, ['-F', 'firmware', path]).out.split('\n').filter(Boolean);
}

/** The staged (decompressed) bytes of `entry` from a plan of kernel `kver`. */
function stagedModule(items: StageItem[], kver: string, entry: kmod.KmodEntry): Uint8Array {
  const item = items.find((i) => i.path === `/lib/modules/${kver}/${kmod.uncompressedModulePath(entry.path)}`);
  if (item?.kind !== 'bytes') throw new Error(`${entry.path} was not staged as bytes`);
  return item.data;
}

const NO_KERNEL = KVERS.length ? [] : ['an installed kernel (/lib/modules/*/modules.dep)'];
const lacking = [...KMOD_TOOLS, ...missing('xz', 'zstd', 'gzip'), ...NO_KERNEL];
for (const kver of KVERS.length ? KVERS : ['(none)']) {
  describeNeeding(lacking, `the host modules tree of ${kver}`, () => {
    const modDir = `/lib/modules/${kver}`;
    const read = (n: string): string => (existsSync(`${modDir}/${n}`) ? readFileSync(`${modDir}/${n}`, 'utf8') : '');
    let real: kmod.KmodIndex;
    beforeAll(() => {
      real = kmod.parseKmodIndex({
        dep: read('modules.dep'), alias: read('modules.alias'), softdep: read('modules.softdep'),
        builtin: read('modules.builtin'), order: read('modules.order'), builtinModinfo: read('modules.builtin.modinfo'),
      });
    });
    test.each(REAL)('%s resolves as modprobe --show-depends does', (name) => {
      const r = kmod.resolveKmods(real, [name]);
      const want = showDepends(kver, name);
      expect(new Set(r.modules.map((e) => e.path))).toEqual(new Set(want.insmod));
      expect(r.builtin).toEqual(want.builtin.map(kmod.normalizeModname));
      const pos = new Map(r.modules.map((e, i) => [e.path, i]));
      for (const [i, e] of r.modules.entries()) for (const d of e.deps) expect(pos.get(d)).toBeLessThan(i);
    });
    // a module with firmware when the kernel has one; otherwise any: the comparisons run either way
    const sample = (): kmod.KmodEntry => {
      const entry = WITH_FIRMWARE.map((n) => real.modules.get(n)).find(Boolean) ?? real.modules.values().next().value;
      if (!entry) throw new Error(`${modDir}/modules.dep lists no module`);
      return entry;
    };
    test('modinfo firmware matches modinfo(8), the module decompressed as the build does', async () => {
      const entry = sample();
      const plan = await planKernelModules('/', kver, [entry.name], { firmware: false });
      const ours = stagedModule(plan.items, kver, entry);
      const reference = systemDecompressed(`${modDir}/${entry.path}`);
      expect(Buffer.from(ours).equals(reference)).toBe(true);
      const want = modinfoFirmware(reference);
      expect(parseModinfo(ours).firmware).toEqual(want);
      if (WITH_FIRMWARE.includes(entry.name)) expect(want.length).toBeGreaterThan(0);
    });
    test('the same module compressed as xz, zstd and gzip decompresses to the same bytes', async () => {
      const elf = systemDecompressed(`${modDir}/${sample().path}`);
      const packed: Record<string, Uint8Array> = {
        xz: run('xz', ['-c', '--check=crc32'], elf).bytes, zst: Bun.zstdCompressSync(elf), gz: Bun.gzipSync(new Uint8Array(elf)),
      };
      const base = makeTmp();
      const dir = `lib/modules/${KVER_FAKE}`;
      const dep = Object.keys(packed).map((ext) => `kernel/m_${ext}.ko.${ext}:\n`).join('');
      for (const [ext, data] of Object.entries(packed)) put(base, `${dir}/kernel/m_${ext}.ko.${ext}`, data);
      put(base, `${dir}/modules.dep`, dep);
      const plan = await planKernelModules(base, KVER_FAKE, Object.keys(packed).map((ext) => `m_${ext}`), { firmware: false });
      expect(plan.loaded).toEqual(['m_xz', 'm_zst', 'm_gz']);
      for (const e of kmod.parseModulesDep(dep)) expect(Buffer.from(stagedModule(plan.items, KVER_FAKE, e)).equals(elf)).toBe(true);
    });
    test('cold requests: what only they reach is stored compressed, under that name in every index', async () => {
      const cold = { requests: ['xfs', 'ext4'], compress: true };
      const plan = await planKernelModules('/', kver, ['ext4'], { firmware: false, cold });
      const byPath = new Map(plan.items.map((i) => [i.path, i]));
      const at = (rel: string) => byPath.get(`/lib/modules/${kver}/${rel}`);
      const xfs = real.modules.get('xfs')!;
      // the base's .ko.xz as it is; a plain .ko gzip'd
      const stored = xfs.path.endsWith('.ko.xz') ? xfs.path : `${kmod.uncompressedModulePath(xfs.path)}.gz`;
      const item = at(stored);
      expect(item?.kind).toBe('bytes');
      const data = (item as { data: Uint8Array }).data;
      if (stored.endsWith('.xz')) expect(Buffer.from(data).equals(readFileSync(`${modDir}/${xfs.path}`))).toBe(true);
      else expect(Buffer.from(Bun.gunzipSync(data as Uint8Array<ArrayBuffer>)).equals(systemDecompressed(`${modDir}/${xfs.path}`))).toBe(true);
      // ext4 and everything it needs: asked for hot as well, so stored as they load
      for (const e of kmod.resolveKmods(real, ['ext4']).modules) expect(stagedModule(plan.items, kver, e)[0]).toBe(0x7f);
      const text = (rel: string) => new TextDecoder().decode((at(rel) as { data: Uint8Array }).data);
      const dep = kmod.parseModulesDep(text('modules.dep'));
      expect(dep.find((e) => e.name === 'xfs')?.path).toBe(stored);
      for (const e of dep) for (const p of [e.path, ...e.deps]) expect(at(p)).toBeDefined();
      expect(text('ruckusrd/dep/xfs').trim().split(' ').at(-1)).toBe(stored);
      // for a second stage (compress: false) the same modules, all stored as they load
      const flat = await planKernelModules('/', kver, ['ext4'], { firmware: false, cold: { ...cold, compress: false } });
      expect(flat.loaded).toEqual(plan.loaded);
      expect(flat.items.filter((i) => /\.ko\.(gz|xz)$/.test(i.path))).toEqual([]);
    });
    test('the staged tree gives depmod and modprobe the same answers', async () => {
      const plan = await planKernelModules('/', kver, [...REAL, 'kernel/drivers/ata/'], { firmware: true });
      const root = makeTmp();
      writeItems(root, plan.items);
      const ours = (n: string): string => readFileSync(join(root, 'lib/modules', kver, n), 'utf8');
      const [dep, alias, softdep] = [ours('modules.dep'), ours('modules.alias'), ours('modules.softdep')];
      run(DEPMOD as string, ['-b', root, kver]);
      const depSets = (text: string): Map<string, Set<string>> =>
        new Map(kmod.parseModulesDep(text).map((e) => [e.path, new Set(e.deps)]));
      expect(depSets(dep)).toEqual(depSets(ours('modules.dep')));
      const sorted = (text: string): string[] => text.split('\n').sort();
      expect(sorted(alias)).toEqual(sorted(ours('modules.alias')));
      expect(sorted(softdep)).toEqual(sorted(ours('modules.softdep')));
      for (const name of REAL) {
        const want = showDepends(kver, name);
        expect(showDepends(kver, name, root)).toEqual({ insmod: want.insmod.map(kmod.uncompressedModulePath), builtin: want.builtin });
      }
    });
  });
}
