// SPDX-License-Identifier: GPL-2.0-or-later
// What goes into the staging tree: the common currency between resolvers, the planner and the archive.

/**
 * `weak`: provided only when no other item claims the path (busybox applet links, say).
 * `secret`: a key (crypttab key file): the image holding it is written mode 0600.
 * `cold`: a file only a rarely taken boot step runs (coldBinaries): a one-cpio image keeps it in a
 * gzip'd archive unpacked on first use, `binary` ones leaving a stub that does that at their path.
 * Another item giving the same path without `cold` keeps it in the image.
 */
export type StageItem = (
  | { kind: 'dir'; path: string; mode?: number }
  /** a file copied from the host: `source` is an absolute host path (already inside --base) */
  | { kind: 'file'; path: string; mode: number; source: string }
  | { kind: 'bytes'; path: string; mode: number; data: Uint8Array }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'node'; path: string; mode: number; type: 'char' | 'block'; major: number; minor: number }
) & { weak?: boolean; secret?: boolean; cold?: 'binary' | 'part' };

/** Normalises an image path: absolute, no trailing slash, no `.`/`..`/empty components. */
export function normalizeImagePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new Error(`path escapes the image root: ${path}`);
    parts.push(part);
  }
  return '/' + parts.join('/');
}

export function parentDirs(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const dirs: string[] = [];
  for (let i = 1; i < parts.length; i++) dirs.push('/' + parts.slice(0, i).join('/'));
  return dirs;
}
