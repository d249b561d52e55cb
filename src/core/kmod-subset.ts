// SPDX-License-Identifier: GPL-2.0-or-later
// A kernel's module index cut down to the modules a build resolved, and that cut as plain data (for
// the resolution cache, src/host/kmod-resolution-cache.ts). Everything the image's index files and
// /init's driver table are rendered from (src/core/kmod.ts's renderers, renderBootKmodTable) is the
// same over the cut as over the whole index: they read only the subset's entries, aliases, softdeps
// and order lines, the built-in lists whole, and look softdep targets up, which resolution already
// followed into the subset. Pure: data in, data out.
import { modnameFromPath, type KmodAlias, type KmodEntry, type KmodIndex, type KmodResolution, type KmodSoftdep } from './kmod.ts';

/** The index with only `subset`'s modules, their aliases, softdeps and modules.order lines; built-ins whole. */
export function restrictKmodIndex(index: KmodIndex, subset: readonly KmodEntry[]): KmodIndex {
  const names = new Set(subset.map((e) => e.name));
  return {
    modules: new Map([...index.modules].filter(([name]) => names.has(name))),
    aliases: index.aliases.filter((a) => names.has(a.module)),
    softdeps: index.softdeps.filter((s) => names.has(s.module)),
    builtin: index.builtin,
    builtinNames: index.builtinNames,
    builtinAliases: index.builtinAliases,
    order: index.order.filter((p) => names.has(modnameFromPath(p))),
  };
}

/** A resolution over a cut index, as stored: module names stand for their entries. */
export interface StoredResolution {
  index: { modules: KmodEntry[]; aliases: KmodAlias[]; softdeps: KmodSoftdep[]; builtin: string[]; builtinAliases: KmodAlias[]; order: string[] };
  modules: string[];
  firstCount: number;
  builtin: string[];
  missing: string[];
}

export type Resolution = KmodResolution & { firstCount: number };

export function storeResolution(index: KmodIndex, r: Resolution): StoredResolution {
  const { builtin, builtinAliases, order, aliases, softdeps } = index;
  return {
    index: { modules: [...index.modules.values()], aliases, softdeps, builtin, builtinAliases, order },
    modules: r.modules.map((e) => e.name),
    firstCount: r.firstCount,
    builtin: r.builtin,
    missing: r.missing,
  };
}

/** The index and resolution back, or undefined for anything not shaped as storeResolution makes it. */
export function loadResolution(v: unknown): { index: KmodIndex; resolved: Resolution } | undefined {
  const s = v as StoredResolution;
  if (!isStored(s)) return undefined;
  const modules = new Map(s.index.modules.map((e) => [e.name, e]));
  const resolved = s.modules.map((n) => modules.get(n));
  if (resolved.some((e) => e === undefined) || s.firstCount > resolved.length) return undefined;
  const { aliases, softdeps, builtin, builtinAliases, order } = s.index;
  return {
    index: { modules, aliases, softdeps, builtin, builtinNames: new Set(builtin.map(modnameFromPath)), builtinAliases, order },
    resolved: { modules: resolved as KmodEntry[], firstCount: s.firstCount, builtin: s.builtin, missing: s.missing },
  };
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isAlias = (a: KmodAlias) => typeof a?.pattern === 'string' && typeof a.module === 'string';
const isEntry = (e: KmodEntry) => typeof e?.name === 'string' && typeof e.path === 'string' && strings(e.deps) && Number.isInteger(e.seq);
const isSoftdep = (s: KmodSoftdep) => typeof s?.module === 'string' && typeof s.text === 'string' && strings(s.pre) && strings(s.post);
const every = <T>(v: unknown, ok: (x: T) => boolean): v is T[] => Array.isArray(v) && v.every(ok);

function isStored(s: StoredResolution): boolean {
  const i = s?.index;
  return every(i?.modules, isEntry) && every(i.aliases, isAlias) && every(i.softdeps, isSoftdep) && strings(i.builtin)
    && every(i.builtinAliases, isAlias) && strings(i.order) && strings(s.modules) && Number.isInteger(s.firstCount)
    && s.firstCount >= 0 && strings(s.builtin) && strings(s.missing);
}
