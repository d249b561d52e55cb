// SPDX-License-Identifier: GPL-2.0-or-later
// The module files of a build: mapped from --base as stored there, decoded to ELF images (the
// decoded-module cache first), their facts (sizes, firmware names), and the bytes the image stores
// for each: decompressed, or a cold module compressed (as the base has it, or gzip'd).

import { parseModinfo } from '../core/modinfo.ts';
import { uncompressedModulePath, type KmodEntry } from '../core/kmod.ts';
import { UserError } from '../log.ts';
import type { BaseFs } from './base.ts';
import { cachedGzip, cachedXz, moduleFactsKey, readModuleFacts, writeModuleFacts, type ModuleFacts } from './kmod-cache.ts';
import { decompressOne, decompressXz } from './kmod-decompress.ts';

export interface ModuleFile {
  path: string;
  /** as the base has it (.ko, .ko.xz, ...) */
  data: Uint8Array;
}

/** Every module through the base resolver, as it is stored there, in the order given (mapped, never changed). */
export function readModuleFiles(fs: BaseFs, dir: string, modules: readonly KmodEntry[]): ModuleFile[] {
  return modules.map((e) => ({ path: `${dir}/${e.path}`, data: fs.mapFile(`${dir}/${e.path}`) }));
}

/** The modules' ELF images, decompressed, in the order given; undefined where `need` says no. */
export async function decodeModules(files: ModuleFile[], need: (i: number) => boolean = () => true): Promise<(Uint8Array | undefined)[]> {
  const xzAt = files.flatMap((f, i) => (f.path.endsWith('.xz') && need(i) ? [i] : []));
  const plain = files.map((f, i) => (f.path.endsWith('.xz') || !need(i) ? undefined : decompressOne(f.path, f.data)));
  const xz = await cachedXz(xzAt.map((i) => files[i]!), decompressXz);
  xzAt.forEach((at, k) => (plain[at] = xz[k]));
  return plain.map((data, i) => {
    if (need(i) && (!data || data[0] !== 0x7f || data[1] !== 0x45)) throw new UserError(`${files[i]?.path}: not a kernel module (no ELF header)`);
    return data;
  });
}

/** A cold module stored as the base has it (busybox insmod decodes both): its suffix. */
const keptSuffix = (path: string) => ['.xz', '.gz'].find((suffix) => path.endsWith(`.ko${suffix}`));

/**
 * The ELF images the image needs (every hot module's; a cold one's only to gzip it) and every
 * module's facts. A cold .ko.xz/.ko.gz is decoded only while its set's facts are not in the cache
 * (src/host/kmod-cache.ts); a tree without one decodes everything as before (plain .ko costs nothing).
 */
export async function decodeWithFacts(modules: readonly KmodEntry[], files: ModuleFile[], cold: (e: KmodEntry) => boolean): Promise<{ elves: (Uint8Array | undefined)[]; facts: ModuleFacts }> {
  const key = modules.some((e, i) => cold(e) && keptSuffix(files[i]!.path)) ? moduleFactsKey(files) : undefined;
  const known = key ? readModuleFacts(key, files.length) : undefined;
  const elves = await decodeModules(files, (i) => !known || !cold(modules[i]!) || !keptSuffix(files[i]!.path));
  if (known) return { elves, facts: known };
  const all = elves as Uint8Array[];
  const facts = { sizes: all.map((d) => d.length), firmware: firmwareNames(modules, all) };
  if (key) writeModuleFacts(key, facts);
  return { elves, facts };
}

function firmwareNames(modules: readonly KmodEntry[], data: readonly Uint8Array[]): string[] {
  const names = new Set<string>();
  data.forEach((elf, i) => {
    try {
      for (const name of parseModinfo(elf).firmware) names.add(name);
    } catch (e) {
      throw new UserError(`${modules[i]?.path}: ${(e as Error).message}`);
    }
  });
  return [...names].sort();
}

/**
 * Image path (relative to /lib/modules/KVER) and bytes of every module: decompressed, or, when cold,
 * the base's .ko.xz/.ko.gz as they are (busybox insmod decompresses both; Debian's use xz's CRC32
 * check, which it reads) and anything else gzip'd (-6: as small as zstd -3 on modules; busybox has
 * no zstd for insmod, and Debian's kmod no zlib, which modinject minds).
 */
export function storedModules(
  modules: readonly KmodEntry[], files: ModuleFile[], elves: (Uint8Array | undefined)[], cold: (e: KmodEntry) => boolean,
): { path: string; data: Uint8Array }[] {
  const kept = (i: number) => keptSuffix(files[i]!.path);
  const toGzip = modules.flatMap((e, i) => (cold(e) && !kept(i) ? [i] : []));
  const gz = new Map(cachedGzip(toGzip.map((i) => elves[i]!)).map((data, k) => [toGzip[k]!, data]));
  return modules.map((e, i) => {
    const path = uncompressedModulePath(e.path);
    if (!cold(e)) return { path, data: elves[i]! };
    const suffix = kept(i);
    return suffix ? { path: `${path}${suffix}`, data: files[i]!.data } : { path: `${path}.gz`, data: gz.get(i)! };
  });
}
