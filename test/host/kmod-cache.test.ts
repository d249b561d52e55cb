// SPDX-License-Identifier: GPL-2.0-or-later
// The decoded-module cache (src/host/kmod-cache.ts): a module is decoded once, then read back; a bad
// entry is decoded again; a cache that cannot be written costs nothing but the saving.
import { describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BOOT_TABLE_DIR } from '../../src/core/boot-kmod-table.ts';
import { planKernelModules } from '../../src/host/kmod.ts';
import { cachedColdArchive, cachedGzip, cachedXz, kmodCacheDir } from '../../src/host/kmod-cache.ts';
import type { CpioEntry } from '../../src/archive/cpio.ts';
import { coldArchiveBytes, type ColdArchive } from '../../src/core/cold.ts';
import { makeElf } from '../unit/modelf.ts';
import { missing, testNeeding } from '../unit/need.ts';
import { tempDir } from '../temp-dirs.ts';

const elf = (tag: number) => new Uint8Array([0x7f, 0x45, 0x4c, 0x46, tag, tag, tag]);
/** Stands in for xz: "compressed" is the tag byte alone; records what it was asked to decode. */
function fakeDecoder() {
  const calls: number[][] = [];
  const decode = async (files: { data: Uint8Array }[]) => {
    calls.push(files.map((f) => f.data[0]!));
    return files.map((f) => elf(f.data[0]!));
  };
  return { calls, decode };
}
const input = (tag: number) => ({ path: `/m/${tag}.ko.xz`, data: new Uint8Array([tag]) });
const tmp = () => tempDir('kmodcache');

describe('cachedXz', () => {
  test('decodes only what the cache lacks, in one call, and returns everything in input order', async () => {
    const dir = join(tmp(), 'c');
    const first = fakeDecoder();
    expect(await cachedXz([input(1), input(2)], first.decode, dir)).toEqual([elf(1), elf(2)]);
    expect(first.calls).toEqual([[1, 2]]);
    expect(readdirSync(dir)).toHaveLength(2);
    const second = fakeDecoder();
    expect(await cachedXz([input(3), input(2), input(1)], second.decode, dir)).toEqual([elf(3), elf(2), elf(1)]);
    expect(second.calls).toEqual([[3]]);
    const third = fakeDecoder();
    expect(await cachedXz([input(2), input(3)], third.decode, dir)).toEqual([elf(2), elf(3)]);
    expect(third.calls).toEqual([]);
  });

  test('an entry that is not an ELF file (truncated, foreign) is decoded again and replaced', async () => {
    const dir = join(tmp(), 'c');
    await cachedXz([input(1)], fakeDecoder().decode, dir);
    const [name] = readdirSync(dir);
    writeFileSync(join(dir, name!), 'junk');
    const again = fakeDecoder();
    expect(await cachedXz([input(1)], again.decode, dir)).toEqual([elf(1)]);
    expect(again.calls).toEqual([[1]]);
    expect(await cachedXz([input(1)], fakeDecoder().decode, dir)).toEqual([elf(1)]);
  });

  test('a cache directory that cannot be written still yields the decoded bytes', async () => {
    const file = join(tmp(), 'not-a-dir');
    writeFileSync(file, '');
    const d = fakeDecoder();
    expect(await cachedXz([input(1)], d.decode, join(file, 'c'))).toEqual([elf(1)]);
    const ro = tmp();
    chmodSync(ro, 0o500);
    // root ignores the mode; either way the bytes come back
    expect(await cachedXz([input(2)], fakeDecoder().decode, join(ro, 'c'))).toEqual([elf(2)]);
  });

  test('without a cache directory everything is decoded', async () => {
    const d = fakeDecoder();
    expect(await cachedXz([input(1), input(2)], d.decode, null)).toEqual([elf(1), elf(2)]);
    expect(d.calls).toEqual([[1, 2]]);
  });

  test('entries unused for 30 days go when a build adds entries; recent ones stay', async () => {
    const dir = join(tmp(), 'c');
    await cachedXz([input(1), input(2)], fakeDecoder().decode, dir);
    const [old, recent] = readdirSync(dir);
    const days = (n: number) => (Date.now() - n * 86_400_000) / 1000;
    utimesSync(join(dir, old!), days(31), days(31));
    utimesSync(join(dir, recent!), days(29), days(31));
    await cachedXz([input(3)], fakeDecoder().decode, dir);
    expect(existsSync(join(dir, old!))).toBe(false);
    expect(existsSync(join(dir, recent!))).toBe(true);
    expect(readdirSync(dir)).toHaveLength(2);
  });

  /** Stands in for xz -d over files: FILE.xz holding a tag byte becomes FILE holding elf(tag). */
  function fakeUnpack(fail = false) {
    const calls: string[][] = [];
    const unpack = async (paths: string[]) => {
      calls.push(paths);
      if (fail) throw new Error('xz -d: broken');
      for (const p of paths) {
        writeFileSync(p.slice(0, -3), elf(readFileSync(p)[0]!));
        rmSync(p);
      }
    };
    return { calls, unpack };
  }

  test('missing modules are decoded as files into the cache, not in memory; the same bytes twice once', async () => {
    const dir = join(tmp(), 'c');
    const mem = fakeDecoder();
    const files = fakeUnpack();
    expect(await cachedXz([input(1), input(2), input(1)], mem.decode, dir, files.unpack)).toEqual([elf(1), elf(2), elf(1)]);
    expect(mem.calls).toEqual([]);
    expect(files.calls).toHaveLength(1);
    expect(files.calls[0]!.map((p) => readdirSync(dir).includes(basename(p).slice(0, -3)))).toEqual([true, true]);
    // only the entries are left: the private directory is gone
    expect(readdirSync(dir).sort()).toEqual(files.calls[0]!.map((p) => basename(p).slice(0, -3)).sort());
    const again = fakeUnpack();
    expect(await cachedXz([input(2)], mem.decode, dir, again.unpack)).toEqual([elf(2)]);
    expect(again.calls).toEqual([]);
  });

  test('when xz over files fails, the in-memory decoder decodes and the entries are stored', async () => {
    const dir = join(tmp(), 'c');
    const mem = fakeDecoder();
    expect(await cachedXz([input(1), input(2)], mem.decode, dir, fakeUnpack(true).unpack)).toEqual([elf(1), elf(2)]);
    expect(mem.calls).toEqual([[1, 2]]);
    expect(readdirSync(dir)).toHaveLength(2);
  });

  test("a dead build's private directory goes with the next build that adds entries; a running one's stays", async () => {
    const dir = join(tmp(), 'c');
    const dead = Bun.spawnSync(['true']).pid;
    mkdirSync(join(dir, `.unpack-${dead}-abc`), { recursive: true });
    writeFileSync(join(dir, `.unpack-${dead}-abc`, 'x.xz'), 'x');
    mkdirSync(join(dir, `.unpack-${process.ppid}-def`));
    await cachedXz([input(1)], fakeDecoder().decode, dir, fakeUnpack().unpack);
    expect(readdirSync(dir).filter((n) => n.startsWith('.unpack-'))).toEqual([`.unpack-${process.ppid}-def`]);
  });

  test('the directory: $XDG_CACHE_HOME, else ~/.cache, else none', () => {
    expect(kmodCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/mkruckus/kmod-xz');
    expect(kmodCacheDir({ XDG_CACHE_HOME: '', HOME: '/h' })).toBe('/h/.cache/mkruckus/kmod-xz');
    expect(kmodCacheDir({})).toBeUndefined();
  });
});

describe('planKernelModules with .ko.xz modules', () => {
  testNeeding(missing('xz'), 'the decoded bytes are stored by the first build and read back by the next', async () => {
    const base = tmp();
    const kver = '9.9.9-cache';
    const mods = join(base, 'lib/modules', kver);
    mkdirSync(join(mods, 'kernel'), { recursive: true });
    const [a, b] = ['a', 'b'].map((n) => makeElf([{ name: '.modinfo', data: new TextEncoder().encode(`name=${n}\0`) }], true, true));
    const xzA = Bun.spawnSync(['xz', '-c', '--check=crc32'], { stdin: a }).stdout;
    writeFileSync(join(mods, 'kernel/a.ko.xz'), xzA);
    writeFileSync(join(mods, 'kernel/b.ko.xz'), Bun.spawnSync(['xz', '-c', '--check=crc32'], { stdin: b }).stdout);
    writeFileSync(join(mods, 'modules.dep'), 'kernel/a.ko.xz: kernel/b.ko.xz\nkernel/b.ko.xz:\n');
    const staged = async (name: string) => {
      const plan = await planKernelModules(base, kver, ['a'], { firmware: false });
      return (plan.items.find((i) => i.path === `/lib/modules/${kver}/kernel/${name}.ko`) as { data: Uint8Array }).data;
    };
    expect(await staged('a')).toEqual(a!);
    const entry = join(kmodCacheDir()!, new Bun.CryptoHasher('sha256').update(xzA).digest('hex'));
    expect(existsSync(entry)).toBe(true);
    // a's entry now holds b's bytes: the next build serves them, so it read the cache, not xz
    writeFileSync(entry, b!);
    expect(await staged('a')).toEqual(b!);
  });
});

describe('cachedGzip', () => {
  const modules = [1, 2].map((k) => new Uint8Array([0x7f, 0x45, 0x4c, 0x46, ...new Uint8Array(5000).map((_, i) => (i * 31 * k) % 7)]));
  test('gzip -6 of each module, written once and read back the same; a bad entry is made again', () => {
    const root = tmp();
    const dir = join(root, 'kmod-xz');
    const first = cachedGzip(modules, dir);
    first.forEach((gz, i) => expect(new Uint8Array(Bun.gunzipSync(gz as Uint8Array<ArrayBuffer>))).toEqual(modules[i]!));
    const entries = readdirSync(join(root, 'kmod-gz'));
    expect(entries).toHaveLength(2);
    expect(cachedGzip(modules, dir).map((b) => Buffer.from(b))).toEqual(first.map((b) => Buffer.from(b)));
    writeFileSync(join(root, 'kmod-gz', entries[0]!), 'truncated');
    expect(cachedGzip(modules, dir).map((b) => Buffer.from(b))).toEqual(first.map((b) => Buffer.from(b)));
    expect(readFileSync(join(root, 'kmod-gz', entries[0]!)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    rmSync(root, { recursive: true, force: true });
  });
  test('without a cache, or one that cannot be written, the same bytes', () => {
    const file = join(tmp(), 'f');
    writeFileSync(file, '');
    const plain = cachedGzip(modules, null).map((b) => Buffer.from(b));
    expect(cachedGzip(modules, join(file, 'c')).map((b) => Buffer.from(b))).toEqual(plain);
  });
});

describe('cachedColdArchive', () => {
  const file = (path: string, text: string, mode = 0o755): CpioEntry => ({ path, type: 'file', mode, data: new TextEncoder().encode(text) });
  const dirs: CpioEntry[] = [{ path: '/usr', type: 'dir', mode: 0o755 }, { path: '/usr/sbin', type: 'dir', mode: 0o755 }];
  const archive = (over: Partial<ColdArchive> = {}, lvm = 'bytes of lvm 1'): ColdArchive =>
    ({ entries: [...dirs, file('/usr/sbin/lvm', lvm), file('/usr/sbin/mdadm', 'bytes of mdadm')], mtime: 7, ...over });
  const fresh = (a: ColdArchive) => Buffer.from(Bun.gzipSync(coldArchiveBytes(a) as Uint8Array<ArrayBuffer>, { level: 6 }));
  const entriesOf = (root: string) => readdirSync(join(root, 'kmod-gz')).filter((n) => n.startsWith('archive-'));

  test('a warm build reads the gzip back without making the archive; a changed file, mode or mtime makes it again', () => {
    const root = tmp();
    const dir = join(root, 'kmod-xz');
    expect(Buffer.from(cachedColdArchive(archive(), dir))).toEqual(fresh(archive()));
    const [entry] = entriesOf(root);
    // the entry is what a warm build serves: a stand-in gzip under its key comes back as it is
    const marker = Bun.gzipSync(new TextEncoder().encode('served from the cache'));
    writeFileSync(join(root, 'kmod-gz', entry!), marker);
    expect(Buffer.from(cachedColdArchive(archive(), dir))).toEqual(Buffer.from(marker));
    // stale for any other input: same-length bytes, a mode, the mtime, a path
    for (const changed of [archive({}, 'bytes of lvm 2'), archive({ mtime: 8 }), { ...archive(), entries: [...dirs, file('/usr/sbin/lvm', 'bytes of lvm 1', 0o700), file('/usr/sbin/mdadm', 'bytes of mdadm')] },
      { ...archive(), entries: [...dirs, file('/usr/sbin/lvm2', 'bytes of lvm 1'), file('/usr/sbin/mdadm', 'bytes of mdadm')] }]) {
      expect(Buffer.from(cachedColdArchive(changed, dir))).toEqual(fresh(changed));
    }
    expect(entriesOf(root)).toHaveLength(5);
    // a corrupt entry (not gzip) is made again and replaced
    writeFileSync(join(root, 'kmod-gz', entry!), 'truncated');
    expect(Buffer.from(cachedColdArchive(archive(), dir))).toEqual(fresh(archive()));
    expect(readFileSync(join(root, 'kmod-gz', entry!))).toEqual(fresh(archive()));
    rmSync(root, { recursive: true, force: true });
  });
  test('without a cache: the same bytes', () => {
    expect(Buffer.from(cachedColdArchive(archive(), null))).toEqual(fresh(archive()));
  });
});

describe('module facts (cold .ko.xz not decoded by a warm build)', () => {
  testNeeding(missing('xz'), 'the second build decodes no cold module; a changed module is decoded again, its new firmware seen', async () => {
    const base = tmp();
    const kver = '9.9.9-facts';
    const mods = join(base, 'lib/modules', kver);
    mkdirSync(join(mods, 'kernel'), { recursive: true });
    const put = (name: string, firmware: string) => {
      const modinfo = new TextEncoder().encode(`name=${name}\0firmware=${firmware}\0`);
      const elf = makeElf([{ name: '.modinfo', data: modinfo }, { name: '.text', data: new Uint8Array(5000).fill(7) }], true, true);
      writeFileSync(join(mods, `kernel/${name}.ko.xz`), Bun.spawnSync(['xz', '-c', '--check=crc32'], { stdin: elf }).stdout);
      return elf.length;
    };
    put('hot', 'hot.bin');
    const coldSize = put('cold', 'cold-1.bin');
    writeFileSync(join(mods, 'modules.dep'), 'kernel/hot.ko.xz:\nkernel/cold.ko.xz:\n');
    writeFileSync(join(mods, 'modules.alias'), 'alias pci:v00001AF4d* hot\nalias pci:v00008086d* cold\n');
    const plan = () => planKernelModules(base, kver, ['hot'], { firmware: true, cold: { requests: ['cold'], compress: true } });
    const decoded = () => readdirSync(kmodCacheDir()!).length;
    const first = await plan();
    expect(first.missingFirmware).toEqual(['cold-1.bin', 'hot.bin']);
    expect(first.items.map((i) => i.path)).toContain(`/lib/modules/${kver}/kernel/cold.ko.xz`);
    const table = (p: typeof first) => p.items.filter((i) => i.kind === 'bytes' && i.path.includes(`/${BOOT_TABLE_DIR}/`))
      .map((i) => new TextDecoder().decode((i as { data: Uint8Array }).data)).join('\n');
    // the driver table weighs each module by its decoded size (KiB)
    expect(table(first)).toContain(`kmod_found cold ${Math.ceil(coldSize / 1024)} ;;`);
    // every decoded entry removed: the next build decodes the hot module alone (one entry comes back)
    rmSync(kmodCacheDir()!, { recursive: true, force: true });
    const second = await plan();
    expect(decoded()).toBe(1);
    expect(second.missingFirmware).toEqual(first.missingFirmware);
    expect(table(second)).toBe(table(first));
    // the cold module changed: its facts are made again from its new bytes
    put('cold', 'cold-2.bin');
    expect((await plan()).missingFirmware).toEqual(['cold-2.bin', 'hot.bin']);
    expect(decoded()).toBe(2);
  });
});

