// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel modules from --base into stage items: the resolved set, depmod's text indexes regenerated for
// that subset, and the firmware the modules declare. Modules are stored decompressed (busybox insmod
// cannot read zstd, and the kernel's own decompression needs CONFIG_MODULE_DECOMPRESS and a flag
// insmod does not pass), except cold ones: those stay .ko.xz/.ko.gz, which busybox insmod decompresses.

import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import {
  parseKmodIndex,
  renderModulesAlias,
  renderModulesBuiltin,
  renderModulesDep,
  renderModulesOrder,
  renderModulesSoftdep,
  resolveKmodsInTwo,
  uncompressedModulePath,
  type KmodEntry,
  type KmodIndex,
} from '../core/kmod.ts';
import { BOOT_TABLE_DIR, renderBootKmodTable } from '../core/boot-kmod-table.ts';
import { parseModinfo } from '../core/modinfo.ts';
import type { StageItem } from '../core/stage.ts';
import { debug, UserError } from '../log.ts';
import { BaseFs } from './base.ts';
import { cachedGzip, cachedXz, moduleFactsKey, readModuleFacts, writeModuleFacts, type ModuleFacts } from './kmod-cache.ts';
import { cachedRendering, cachedResolution, type Rendered } from './kmod-resolution-cache.ts';
import { restrictKmodIndex, type Resolution } from '../core/kmod-subset.ts';

export interface KernelModulePlan {
  items: StageItem[];
  /** module names in load order: dependencies first */
  loaded: string[];
  builtin: string[];
  missing: string[];
  /** firmware names (as modinfo gives them) that were found and staged */
  firmware: string[];
  /** firmware names modinfo lists but --base lacks: normal for hardware the machine does not have */
  missingFirmware: string[];
}

/** Carried verbatim for `modinfo` on built-ins; Debian's is ~45 KB, so only a pathological one is dropped. */
const BUILTIN_MODINFO_MAX = 1 << 20;

interface KmodTree {
  /** canonical image path of /lib/modules/KVER in the base (symlinks resolved inside it) */
  dir: string;
  index: KmodIndex;
  builtinModinfo: Uint8Array | undefined;
}

/** The depmod index files read from the base (absent ones undefined), by name after `modules.`. */
interface KmodFiles {
  /** canonical image path of /lib/modules/KVER in the base (symlinks resolved inside it) */
  dir: string;
  files: [string, Uint8Array | undefined][];
}

const INDEX_FILES = ['dep', 'alias', 'softdep', 'builtin', 'order', 'builtin.modinfo'];

function readKmodFiles(fs: BaseFs, kver: string): KmodFiles {
  // BaseFs follows /lib -> usr/lib (or an absolute /lib -> /usr/lib) inside the base, never on the host;
  // every index file is read through it too (a modules.builtin.modinfo -> /etc/shadow stays in the base).
  const found = fs.resolve(`/lib/modules/${kver}`) ?? fs.resolve(`/usr/lib/modules/${kver}`);
  if (!found) throw new UserError(`no kernel modules for ${kver} in ${fs.root}/lib/modules`);
  const files = INDEX_FILES.map((n): [string, Uint8Array | undefined] => [n, fs.readOptional(`${found.path}/modules.${n}`)]);
  if (!files[0]![1]) throw new UserError(`${fs.root}${found.path}/modules.dep is missing: run depmod ${kver} in the base`);
  return { dir: found.path, files };
}

function parseKmodFiles(k: KmodFiles): KmodIndex {
  const text = (n: string): string => {
    const b = k.files.find(([name]) => name === n)?.[1];
    return b ? new TextDecoder().decode(b) : '';
  };
  return parseKmodIndex({ dep: text('dep'), alias: text('alias'), softdep: text('softdep'), builtin: text('builtin'), order: text('order'), builtinModinfo: text('builtin.modinfo') });
}

const builtinModinfoOf = (k: KmodFiles) => k.files.find(([name]) => name === 'builtin.modinfo')?.[1];

export async function readKmodIndex(base: string, kver: string): Promise<KmodIndex> {
  return parseKmodFiles(readKmodFiles(new BaseFs(base), kver));
}

/**
 * `first` then `then` resolved (resolveKmodsInTwo) over the index cut down to what they reach
 * (src/core/kmod-subset.ts), which renders the image's index files exactly as the whole one does;
 * from the resolution cache when a build of this binary resolved the same requests over the same files.
 */
function resolveIndexed(fs: BaseFs, kver: string, first: string[], then: string[]): { tree: KmodTree; resolved: Resolution; key?: string } {
  const k = readKmodFiles(fs, kver);
  const { index, resolved, key } = cachedResolution({ files: k.files, first, then }, () => {
    const whole = parseKmodFiles(k);
    const r = resolveKmodsInTwo(whole, first, then);
    return { index: restrictKmodIndex(whole, r.modules), resolved: r };
  });
  return { tree: { dir: k.dir, index, builtinModinfo: builtinModinfoOf(k) }, resolved, key };
}

/**
 * Sum of the uncompressed sizes recorded in an .xz file's stream indexes (walking concatenated streams
 * from the end), or undefined if the file is not laid out as the xz format says. It lets one `xz -dc`
 * process decompress many modules and have its output cut back into files.
 */
export function xzUncompressedSize(xz: Uint8Array): number | undefined {
  const u32 = (at: number): number => new DataView(xz.buffer, xz.byteOffset + at, 4).getUint32(0, true);
  let end = xz.length;
  let total = 0;
  while (end > 0) {
    while (end >= 4 && u32(end - 4) === 0) end -= 4; // stream padding
    if (end < 24 || xz[end - 2] !== 0x59 || xz[end - 1] !== 0x5a) return undefined;
    const indexStart = end - 12 - (u32(end - 8) + 1) * 4;
    if (indexStart < 12 || xz[indexStart] !== 0) return undefined;
    const records = readVarints(xz, indexStart + 1, end - 12);
    const count = records[0];
    if (count === undefined || records.length < 1 + 2 * count) return undefined;
    let blocks = 0;
    for (let i = 0; i < count; i++) {
      blocks += Math.ceil((records[1 + 2 * i] as number) / 4) * 4;
      total += records[2 + 2 * i] as number;
    }
    end = indexStart - blocks - 12;
    if (end < 0 || xz[end] !== 0xfd || xz[end + 1] !== 0x37) return undefined;
  }
  return total;
}

function readVarints(buf: Uint8Array, from: number, to: number): number[] {
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (let i = from; i < to; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b & 0x80) continue;
    out.push(value);
    value = 0;
    scale = 1;
  }
  return out;
}

/** xz -dc over concatenated streams on stdin: the bytes were read through the base resolver, never by path. */
async function runXz(inputs: Uint8Array[], label: string): Promise<Uint8Array> {
  let proc;
  try {
    proc = Bun.spawn(['xz', '-dc'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
  } catch {
    throw new UserError('xz (Debian package xz-utils) is needed to decompress .ko.xz kernel modules but is not installed');
  }
  const feed = (async () => {
    for (const input of inputs) proc.stdin.write(input);
    await proc.stdin.end();
  })();
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
    feed,
  ]);
  if (code !== 0) throw new UserError(`xz -dc failed on ${label}: ${err.trim()}`);
  return out;
}

/**
 * Neither Bun nor node:zlib decodes xz, so we spawn xz(1): one process per CPU over a share of the
 * files rather than one per module, since spawning hundreds of processes costs more than decoding.
 */
async function decompressXz(files: { path: string; data: Uint8Array }[]): Promise<Uint8Array[]> {
  const sizes = files.map((f) => xzUncompressedSize(f.data));
  const chunks = Array.from({ length: Math.min(availableParallelism(), files.length) }, () => [] as number[]);
  files.forEach((_, i) => chunks[i % chunks.length]?.push(i));
  const out = new Array<Uint8Array>(files.length);
  await Promise.all(
    chunks.map(async (chunk) => {
      const known = chunk.filter((i) => sizes[i] !== undefined);
      const label = `${files[known[0] ?? 0]?.path}…`;
      const data = known.length ? await runXz(known.map((i) => files[i]!.data), label) : new Uint8Array();
      let at = 0;
      for (const i of known) out[i] = data.subarray(at, (at += sizes[i] as number));
      if (at !== data.length) throw new UserError(`xz output does not match the sizes in ${label}`);
      // an index we could not read: decompress that file on its own
      for (const i of chunk.filter((j) => sizes[j] === undefined)) out[i] = await runXz([files[i]!.data], files[i]!.path);
    }),
  );
  return out;
}

function decompressOne(path: string, data: Uint8Array): Uint8Array {
  if (path.endsWith('.zst')) return Bun.zstdDecompressSync(data);
  if (path.endsWith('.gz')) return Bun.gunzipSync(data as Uint8Array<ArrayBuffer>);
  return data;
}

interface ModuleFile {
  path: string;
  /** as the base has it (.ko, .ko.xz, ...) */
  data: Uint8Array;
}

/** Every module through the base resolver, as it is stored there, in the order given (mapped, never changed). */
function readModuleFiles(fs: BaseFs, dir: string, modules: readonly KmodEntry[]): ModuleFile[] {
  return modules.map((e) => ({ path: `${dir}/${e.path}`, data: fs.mapFile(`${dir}/${e.path}`) }));
}

/** The modules' ELF images, decompressed, in the order given; undefined where `need` says no. */
async function decodeModules(files: ModuleFile[], need: (i: number) => boolean = () => true): Promise<(Uint8Array | undefined)[]> {
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
async function decodeWithFacts(modules: readonly KmodEntry[], files: ModuleFile[], cold: (e: KmodEntry) => boolean): Promise<{ elves: (Uint8Array | undefined)[]; facts: ModuleFacts }> {
  const key = modules.some((e, i) => cold(e) && keptSuffix(files[i]!.path)) ? moduleFactsKey(files) : undefined;
  const known = key ? readModuleFacts(key, files.length) : undefined;
  const elves = await decodeModules(files, (i) => !known || !cold(modules[i]!) || !keptSuffix(files[i]!.path));
  if (known) return { elves, facts: known };
  const all = elves as Uint8Array[];
  const facts = { sizes: all.map((d) => d.length), firmware: firmwareNames(modules, all) };
  if (key) writeModuleFacts(key, facts);
  return { elves, facts };
}

/** The image's index files and /init's driver table (modules/kmod/kmod.sh reads it: alias buckets and load orders). */
function renderIndex(tree: KmodTree, subset: readonly KmodEntry[], sizes: ReadonlyMap<string, number>, imagePath: (p: string) => string): Rendered {
  const table = renderBootKmodTable(tree.index, subset, imagePath, sizes);
  const texts: [string, string][] = [
    ['modules.dep', renderModulesDep(subset, imagePath)],
    ['modules.alias', renderModulesAlias(tree.index, subset)],
    ['modules.softdep', renderModulesSoftdep(tree.index, subset)],
    ['modules.builtin', renderModulesBuiltin(tree.index)],
    ['modules.order', renderModulesOrder(tree.index, subset, imagePath)],
    ...[...table.files].map(([name, text]): [string, string] => [`${BOOT_TABLE_DIR}/${name}`, text]),
  ];
  return { texts, skipped: table.skipped };
}

function indexItems(tree: KmodTree, imageDir: string, rendered: Rendered): StageItem[] {
  const enc = new TextEncoder();
  const items = rendered.texts.map(([name, text]): StageItem => ({ kind: 'bytes', path: `${imageDir}/${name}`, mode: 0o644, data: enc.encode(text) }));
  if (rendered.skipped.length) debug(`alias patterns left to modprobe: ${rendered.skipped.join(' ')}`);
  const modinfo = tree.builtinModinfo;
  if (modinfo && modinfo.length <= BUILTIN_MODINFO_MAX) {
    items.push({ kind: 'bytes', path: `${imageDir}/modules.builtin.modinfo`, mode: 0o644, data: modinfo });
  } else if (modinfo) debug(`modules.builtin.modinfo is ${modinfo.length} bytes: not copied`);
  return items;
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

/** The kernel's lookup order (fw_get_filesystem_firmware): the plain name, then the compressed forms it
 * decompresses itself when built with CONFIG_FW_LOADER_COMPRESS; staged as found. */
const FIRMWARE_SUFFIXES = ['', '.zst', '.xz'];

interface FirmwarePlan {
  items: StageItem[];
  found: string[];
  missing: string[];
}

function firmwareCandidates(fs: BaseFs, root: string, name: string): string[] {
  if (/[*?[]/.test(name)) return fs.glob(`${root}/${name}`);
  for (const suffix of FIRMWARE_SUFFIXES) {
    if (fs.resolve(`${root}/${name}${suffix}`)) return [`${root}/${name}${suffix}`];
  }
  return [];
}

/**
 * Stages one firmware file under /lib/firmware. Links that stay inside the firmware tree with relative
 * targets (linux-firmware's WHENCE links) are kept as links plus their target; anything else is
 * dereferenced, because its target would not resolve the same way inside the image.
 */
function stageFirmware(fs: BaseFs, root: string, path: string, items: Map<string, StageItem>): void {
  const resolved = fs.resolveFile(path);
  if (!resolved) return;
  const inRoot = (p: string): boolean => p.startsWith(`${root}/`);
  const image = (p: string): string => `/lib/firmware/${relative(root, p)}`;
  const source = fs.hostPath(resolved.path);
  const mirror = inRoot(resolved.path) && resolved.links.every((l) => inRoot(l.path) && !l.target.startsWith('/'));
  if (!mirror) {
    items.set(image(path), { kind: 'file', path: image(path), mode: 0o644, source });
    return;
  }
  for (const l of resolved.links) items.set(image(l.path), { kind: 'symlink', path: image(l.path), target: l.target });
  items.set(image(resolved.path), { kind: 'file', path: image(resolved.path), mode: 0o644, source });
}

function planFirmware(fs: BaseFs, names: string[]): FirmwarePlan {
  const root = fs.resolve('/lib/firmware')?.path;
  const items = new Map<string, StageItem>();
  const plan: FirmwarePlan = { items: [], found: [], missing: [] };
  for (const name of names) {
    const paths = root ? firmwareCandidates(fs, root, name) : [];
    (paths.length ? plan.found : plan.missing).push(name);
    for (const path of paths) stageFirmware(fs, root as string, path, items);
  }
  plan.items = [...items.values()];
  return plan;
}

/** Kernel-module requests whose modules are kept compressed where no other request reaches them. */
export interface ColdRequests {
  requests: string[];
  /** false: stored decompressed like the rest (a second stage is a compressed filesystem already) */
  compress: boolean;
}

/**
 * Image path (relative to /lib/modules/KVER) and bytes of every module: decompressed, or, when cold,
 * the base's .ko.xz/.ko.gz as they are (busybox insmod decompresses both; Debian's use xz's CRC32
 * check, which it reads) and anything else gzip'd (-6: as small as zstd -3 on modules; busybox has
 * no zstd for insmod, and Debian's kmod no zlib, which modinject minds).
 */
function storedModules(
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

export async function planKernelModules(
  base: string,
  kver: string,
  requests: string[],
  opts: { firmware: boolean; cold?: ColdRequests },
): Promise<KernelModulePlan> {
  if (kver === '' || kver.includes('/') || kver.startsWith('.')) throw new UserError(`bad kernel version: ${kver}`);
  const fs = new BaseFs(base);
  const { tree, resolved, key } = resolveIndexed(fs, kver, requests, opts.cold?.requests ?? []);
  const hot = new Set(resolved.modules.slice(0, resolved.firstCount).map((e) => e.name));
  const files = readModuleFiles(fs, tree.dir, resolved.modules);
  const cold = (e: KmodEntry) => opts.cold?.compress === true && !hot.has(e.name);
  // firmware: false (tests, tools) takes no facts, so a module's bad .modinfo stays unread there
  const decoded: { elves: (Uint8Array | undefined)[]; facts?: ModuleFacts } = opts.firmware ? await decodeWithFacts(resolved.modules, files, cold) : { elves: await decodeModules(files) };
  const data = decoded.elves;
  const stored = storedModules(resolved.modules, files, data, cold);
  const imageDir = `/lib/modules/${kver}`;
  const items: StageItem[] = stored.map((m) => ({ kind: 'bytes', path: `${imageDir}/${m.path}`, mode: 0o644, data: m.data }));
  const sizes = new Map(resolved.modules.map((e, i) => [e.name, decoded.facts?.sizes[i] ?? data[i]?.length ?? 0]));
  const storedPath = new Map(resolved.modules.map((e, i) => [e.path, stored[i]!.path]));
  const imagePath = (p: string) => storedPath.get(p) ?? uncompressedModulePath(p);
  const rendered = cachedRendering(key, { imageDir, sizes: [...sizes.values()], paths: [...storedPath.values()] },
    () => renderIndex(tree, resolved.modules, sizes, imagePath));
  items.push(...indexItems(tree, imageDir, rendered));
  const fw = decoded.facts ? planFirmware(fs, decoded.facts.firmware) : undefined;
  debug(`kernel modules: ${resolved.modules.length} staged, ${resolved.builtin.length} built in`);
  if (fw?.missing.length) debug(`firmware not in the base: ${fw.missing.join(' ')}`);
  return {
    items: [...items, ...(fw?.items ?? [])],
    loaded: resolved.modules.map((e) => e.name),
    builtin: resolved.builtin,
    missing: resolved.missing,
    firmware: fw?.found ?? [],
    missingFirmware: fw?.missing ?? [],
  };
}
