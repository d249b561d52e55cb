// SPDX-License-Identifier: GPL-2.0-or-later
// The depmod index of --base's kernel: its text files read through the base resolver, resolved for
// the build's requests (from the resolution cache when it holds them), and rendered again for the
// image's subset (modules.dep & co and /init's driver table), as stage items.

import {
  parseKmodIndex,
  renderModulesAlias,
  renderModulesBuiltin,
  renderModulesDep,
  renderModulesOrder,
  renderModulesSoftdep,
  resolveKmodsInTwo,
  type KmodEntry,
  type KmodIndex,
} from '../core/kmod.ts';
import { BOOT_TABLE_DIR, renderBootKmodTable } from '../core/boot-kmod-table.ts';
import { restrictKmodIndex, type Resolution } from '../core/kmod-subset.ts';
import type { StageItem } from '../core/stage.ts';
import { debug, UserError } from '../log.ts';
import type { BaseFs } from './base.ts';
import { cachedResolution, type Rendered } from './kmod-resolution-cache.ts';

/** Carried verbatim for `modinfo` on built-ins; Debian's is ~45 KB, so only a pathological one is dropped. */
const BUILTIN_MODINFO_MAX = 1 << 20;

export interface KmodTree {
  /** canonical image path of /lib/modules/KVER in the base (symlinks resolved inside it) */
  dir: string;
  index: KmodIndex;
  builtinModinfo: Uint8Array | undefined;
}

/** The depmod index files read from the base (absent ones undefined), by name after `modules.`. */
export interface KmodFiles {
  /** canonical image path of /lib/modules/KVER in the base (symlinks resolved inside it) */
  dir: string;
  files: [string, Uint8Array | undefined][];
}

const INDEX_FILES = ['dep', 'alias', 'softdep', 'builtin', 'order', 'builtin.modinfo'];

export function readKmodFiles(fs: BaseFs, kver: string): KmodFiles {
  // BaseFs follows /lib -> usr/lib (or an absolute /lib -> /usr/lib) inside the base, never on the host;
  // every index file is read through it too (a modules.builtin.modinfo -> /etc/shadow stays in the base).
  const found = fs.resolve(`/lib/modules/${kver}`) ?? fs.resolve(`/usr/lib/modules/${kver}`);
  if (!found) throw new UserError(`no kernel modules for ${kver} in ${fs.root}/lib/modules`);
  const files = INDEX_FILES.map((n): [string, Uint8Array | undefined] => [n, fs.readOptional(`${found.path}/modules.${n}`)]);
  if (!files[0]![1]) throw new UserError(`${fs.root}${found.path}/modules.dep is missing: run depmod ${kver} in the base`);
  return { dir: found.path, files };
}

export function parseKmodFiles(k: KmodFiles): KmodIndex {
  const text = (n: string): string => {
    const b = k.files.find(([name]) => name === n)?.[1];
    return b ? new TextDecoder().decode(b) : '';
  };
  return parseKmodIndex({ dep: text('dep'), alias: text('alias'), softdep: text('softdep'), builtin: text('builtin'), order: text('order'), builtinModinfo: text('builtin.modinfo') });
}

const builtinModinfoOf = (k: KmodFiles) => k.files.find(([name]) => name === 'builtin.modinfo')?.[1];

/**
 * `first` then `then` resolved (resolveKmodsInTwo) over the index cut down to what they reach
 * (src/core/kmod-subset.ts), which renders the image's index files exactly as the whole one does;
 * from the resolution cache when a build of this binary resolved the same requests over the same files.
 */
export function resolveIndexed(fs: BaseFs, kver: string, first: string[], then: string[]): { tree: KmodTree; resolved: Resolution; key?: string } {
  const k = readKmodFiles(fs, kver);
  const { index, resolved, key } = cachedResolution({ files: k.files, first, then }, () => {
    const whole = parseKmodFiles(k);
    const r = resolveKmodsInTwo(whole, first, then);
    return { index: restrictKmodIndex(whole, r.modules), resolved: r };
  });
  return { tree: { dir: k.dir, index, builtinModinfo: builtinModinfoOf(k) }, resolved, key };
}

/** The image's index files and /init's driver table (modules/kmod/kmod.sh reads it: alias buckets and load orders). */
export function renderIndex(tree: KmodTree, subset: readonly KmodEntry[], sizes: ReadonlyMap<string, number>, imagePath: (p: string) => string): Rendered {
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

/** The rendered files as stage items under imageDir, with the base's modules.builtin.modinfo unless it is absurdly large. */
export function indexItems(tree: KmodTree, imageDir: string, rendered: Rendered): StageItem[] {
  const enc = new TextEncoder();
  const items = rendered.texts.map(([name, text]): StageItem => ({ kind: 'bytes', path: `${imageDir}/${name}`, mode: 0o644, data: enc.encode(text) }));
  if (rendered.skipped.length) debug(`alias patterns left to modprobe: ${rendered.skipped.join(' ')}`);
  const modinfo = tree.builtinModinfo;
  if (modinfo && modinfo.length <= BUILTIN_MODINFO_MAX) {
    items.push({ kind: 'bytes', path: `${imageDir}/modules.builtin.modinfo`, mode: 0o644, data: modinfo });
  } else if (modinfo) debug(`modules.builtin.modinfo is ${modinfo.length} bytes: not copied`);
  return items;
}
