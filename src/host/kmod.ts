// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel modules from --base into stage items: the resolved set, depmod's text indexes regenerated for
// that subset, and the firmware the modules declare. Modules are stored decompressed (busybox insmod
// cannot read zstd, and the kernel's own decompression needs CONFIG_MODULE_DECOMPRESS and a flag
// insmod does not pass), except cold ones: those stay .ko.xz/.ko.gz, which busybox insmod decompresses.

import { uncompressedModulePath, type KmodEntry, type KmodIndex } from '../core/kmod.ts';
import type { StageItem } from '../core/stage.ts';
import { debug, UserError } from '../log.ts';
import { BaseFs } from './base.ts';
import { planFirmware } from './firmware.ts';
import type { ModuleFacts } from './kmod-cache.ts';
import { decodeModules, decodeWithFacts, readModuleFiles, storedModules } from './kmod-files.ts';
import { indexItems, parseKmodFiles, readKmodFiles, renderIndex, resolveIndexed } from './kmod-index.ts';
import { cachedRendering } from './kmod-resolution-cache.ts';

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

/** The whole depmod index of --base's kernel KVER (inspect, verify, tests); a build resolves it with planKernelModules. */
export async function readKmodIndex(base: string, kver: string): Promise<KmodIndex> {
  return parseKmodFiles(readKmodFiles(new BaseFs(base), kver));
}

/** Kernel-module requests whose modules are kept compressed where no other request reaches them. */
export interface ColdRequests {
  requests: string[];
  /** false: stored decompressed like the rest (a second stage is a compressed filesystem already) */
  compress: boolean;
}

/** Stage items for the modules `requests` (and `opts.cold`'s) reach, their index files and, with `opts.firmware`, their firmware. */
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
