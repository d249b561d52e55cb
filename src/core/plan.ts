// SPDX-License-Identifier: GPL-2.0-or-later
// The staging plan: every module's items merged into one sorted, collision-checked list.
import { comparePathComponents } from '../archive/cpio.ts';
import { UserError } from '../log.ts';
import { normalizeImagePath, parentDirs, type StageItem } from './stage.ts';

export interface OwnedItem {
  owner: string;
  item: StageItem;
}

export interface PlanEntry extends OwnedItem {}

const MAX_LINK_HOPS = 40;

/**
 * Merges items: paths are canonicalised through directory symlinks in the plan (so `/bin/sh` lands
 * in `/usr/bin/sh` when `/bin -> usr/bin`), parents are added, and two owners giving one path
 * different content is an error unless the later owner lists the path in `overrides`.
 */
export function buildPlan(
  items: readonly OwnedItem[],
  overrides: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
): PlanEntry[] {
  const links = new Map<string, string>();
  for (const { item } of items) {
    if (item.kind === 'symlink') links.set(normalizeImagePath(item.path), item.target);
  }
  // An override names a path as its module writes it (`/bin/x`); compare it as the plan stores it (`/usr/bin/x`).
  // Resolved once per parent directory: a generic image's ~1100 module files cross /lib -> usr/lib.
  const dirs = new Map<string, string>();
  const canonical = (path: string): string => {
    const normal = normalizeImagePath(path);
    const cut = normal.lastIndexOf('/');
    if (cut <= 0) return normal;
    const parent = normal.slice(0, cut);
    let dir = dirs.get(parent);
    if (dir === undefined) {
      // the parent's own components, resolved as they are for any path under it
      dir = canonicalParent(`${parent}/-`, links).slice(0, -2);
      dirs.set(parent, dir);
    }
    return dir + normal.slice(cut);
  };
  const overridden = new Map([...overrides].map(([owner, paths]) => [owner, new Set([...paths].map(canonical))]));
  const byPath = new Map<string, PlanEntry>();
  for (const { owner, item } of items) {
    const path = canonical(item.path);
    const entry = { owner, item: { ...item, path } };
    const prev = byPath.get(path);
    if (prev && (item.weak || prev.item.weak)) {
      if (prev.item.weak && !item.weak) byPath.set(path, entry);
      continue;
    }
    if (prev && !sameContent(prev.item, entry.item)) {
      if (!overridden.get(owner)?.has(path)) {
        // --include replaces a module's file (an override); --install only adds
        const hint = [prev.owner, owner].includes('install')
          ? '; --install does not replace a file a module provides (--include SRC:DST does, without libraries; or --omit that module)'
          : '';
        throw new UserError(`${path} is provided differently by modules '${prev.owner}' and '${owner}'${hint}`);
      }
    }
    if (!prev || prev.item.kind === 'dir' || overridden.get(owner)?.has(path)) byPath.set(path, entry);
    // the same file wanted in the image and cold (libc by blkid and by cryptsetup): in the image
    else if (prev.item.cold && !item.cold) byPath.set(path, { ...prev, item: { ...prev.item, cold: undefined } });
  }
  for (const path of [...byPath.keys()]) {
    for (const dir of parentDirs(path)) {
      if (!byPath.has(dir)) byPath.set(dir, { owner: 'plan', item: { kind: 'dir', path: dir } });
    }
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.item.path, b.item.path));
}

/** Resolves symlinked parent directories of `path` (never the last component itself). */
function canonicalParent(path: string, links: ReadonlyMap<string, string>): string {
  // most paths cross no link: their parents are looked up as slices, with no lists made
  let linked = false;
  for (let at = path.indexOf('/', 1); at > 0 && !linked; at = path.indexOf('/', at + 1)) linked = links.has(path.slice(0, at));
  if (!linked) return path;
  let parts = path.split('/').filter(Boolean);
  for (let hops = 0, i = 0; i < parts.length - 1; i++) {
    const prefix = '/' + parts.slice(0, i + 1).join('/');
    const target = links.get(prefix);
    if (target === undefined) continue;
    if (++hops > MAX_LINK_HOPS) throw new UserError(`symlink loop in the image at ${prefix}`);
    const dir = target.startsWith('/') ? target : `/${parts.slice(0, i).join('/')}/${target}`;
    parts = [...resolveDots(dir), ...parts.slice(i + 1)];
    i = -1;
  }
  return '/' + parts.join('/');
}

function resolveDots(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/** Whether two items would put the same thing at one path. */
export function sameContent(a: StageItem, b: StageItem): boolean {
  switch (a.kind) {
    case 'dir':
      return b.kind === 'dir';
    case 'file':
      return b.kind === 'file' && a.source === b.source && a.mode === b.mode;
    case 'bytes':
      return b.kind === 'bytes' && a.mode === b.mode && Buffer.from(a.data).equals(b.data);
    case 'symlink':
      return b.kind === 'symlink' && a.target === b.target;
    case 'node':
      return b.kind === 'node' && a.mode === b.mode && a.type === b.type && a.major === b.major && a.minor === b.minor;
  }
}

/** Component-wise order: a directory sorts before everything inside it (the archive's own order). */
export const comparePaths = comparePathComponents;
