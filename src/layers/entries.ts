// SPDX-License-Identifier: GPL-2.0-or-later
// A layer as a stream of entries (STYLE "Archives as streams of entries"): tar headers are
// normalised into Entry values, hostile input is refused here, before anything is written, and
// OCI/Docker whiteouts become OverlayFS ones. Pure: data in, data out.

export type EntryType = 'file' | 'link' | 'symlink' | 'directory' | 'character-device' | 'block-device' | 'fifo';

export interface Entry {
  /** relative, normalised: no leading `/` or `./`, no trailing `/`, no `.` or `..` components */
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  /** symlink target as written; hard link target as a normalised path */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** xattrs by name (trusted.overlay.opaque, security.capability, …) */
  xattrs: Record<string, string>;
}

/** An OverlayFS whiteout: a character device 0/0. */
export const isWhiteout = (e: Pick<Entry, 'type' | 'devmajor' | 'devminor'>): boolean =>
  e.type === 'character-device' && e.devmajor === 0 && e.devminor === 0;

export const OPAQUE_XATTR = 'trusted.overlay.opaque';
export const isOpaque = (e: Entry): boolean => e.type === 'directory' && e.xattrs[OPAQUE_XATTR] === 'y';

export class HostileEntry extends Error {
  constructor(readonly path: string, why: string) {
    super(`${JSON.stringify(path)}: ${why}`);
    this.name = 'HostileEntry';
  }
}

export interface Limits {
  /** device nodes other than whiteouts are refused unless allowed */
  allowDevices: boolean;
  /** the sum of all file sizes may not exceed this */
  maxBytes: number;
  /** a system's own root or layers: symlinks are whatever it had (they resolve inside it at boot) */
  trustSymlinks?: boolean;
}

export const DEFAULT_LIMITS: Limits = { allowDevices: false, maxBytes: 64 * 2 ** 30 };

/**
 * Normalises a member name; refuses absolute names and `..`. `""` is the archive's root
 * (`./`, `.`), which the caller skips. Throws HostileEntry.
 */
export function normalisePath(name: string, what = 'name'): string {
  if (name.startsWith('/')) throw new HostileEntry(name, `absolute ${what}`);
  if (name.includes('\0')) throw new HostileEntry(name, `NUL in the ${what}`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new HostileEntry(name, `\`..\` in the ${what}`);
    parts.push(part);
  }
  return parts.join('/');
}

/** A relative symlink target that climbs above the archive's root from `path`. */
export function symlinkEscapes(path: string, target: string): boolean {
  if (target.startsWith('/')) return false; // resolved inside the booted root
  let depth = path.split('/').length - 1;
  for (const part of target.split('/')) {
    if (part === '..') depth -= 1;
    else if (part !== '' && part !== '.') depth += 1;
    if (depth < 0) return true;
  }
  return false;
}

export interface RawHeader {
  name: string;
  type: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date | number;
  size?: number;
  linkname?: string | null;
  devmajor?: number;
  devminor?: number;
  pax?: unknown;
}

const TYPES = new Set<string>(['file', 'link', 'symlink', 'directory', 'character-device', 'block-device', 'fifo']);

/** A tar header (tar-stream's shape) → Entry, or null for the root itself. Throws HostileEntry. */
export function fromHeader(h: RawHeader): Entry | null {
  const type = h.type === 'contiguous-file' ? 'file' : h.type;
  if (!TYPES.has(type)) throw new HostileEntry(h.name, `unsupported member type ${h.type}`);
  const path = normalisePath(h.name);
  if (path === '') return null;
  const xattrs: Record<string, string> = {};
  for (const [k, v] of Object.entries((h.pax ?? {}) as Record<string, string>)) {
    if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice('SCHILY.xattr.'.length)] = v;
  }
  const mtime = h.mtime instanceof Date ? Math.floor(h.mtime.getTime() / 1000) : (h.mtime ?? 0);
  const linkname = h.linkname ?? '';
  return {
    path, type: type as EntryType, mode: (h.mode ?? 0o644) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0,
    mtime, size: type === 'file' ? (h.size ?? 0) : 0,
    linkname: type === 'link' ? normalisePath(linkname, 'hard link target') : linkname,
    devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0, xattrs,
  };
}

/**
 * Checks one layer's entries in archive order and throws HostileEntry for the first problem:
 * hard links to a member not seen before (or outside), symlinks climbing out of the root,
 * device nodes unless allowed, a path below a non-directory, sizes beyond the limit.
 */
export function checkEntries(entries: readonly (Entry | null)[], limits: Limits = DEFAULT_LIMITS): void {
  const kinds = new Map<string, EntryType>();
  let total = 0;
  for (const e of entries) {
    if (!e) continue;
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
    for (let p = parent; p !== ''; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') {
      const k = kinds.get(p);
      if (k !== undefined && k !== 'directory') throw new HostileEntry(e.path, `below ${p}, which is not a directory`);
    }
    if (e.type === 'link') {
      const target = kinds.get(e.linkname);
      if (target === undefined) throw new HostileEntry(e.path, `hard link to ${e.linkname}, not an earlier member`);
      if (target === 'directory') throw new HostileEntry(e.path, 'hard link to a directory');
    }
    if (e.type === 'symlink' && !limits.trustSymlinks && symlinkEscapes(e.path, e.linkname)) {
      throw new HostileEntry(e.path, `symlink ${e.linkname} points outside the root`);
    }
    if ((e.type === 'character-device' || e.type === 'block-device') && !isWhiteout(e) && !limits.allowDevices) {
      throw new HostileEntry(e.path, 'device node (allow with --allow-devices)');
    }
    if (e.size < 0 || !Number.isSafeInteger(e.size)) throw new HostileEntry(e.path, 'invalid size');
    total += e.size;
    if (total > limits.maxBytes) throw new HostileEntry(e.path, `archive larger than the limit of ${limits.maxBytes} bytes`);
    kinds.set(e.path, e.type);
  }
}

const WH = '.wh.';
const OPQ = '.wh..wh..opq';

/**
 * OCI/Docker layer whiteouts → OverlayFS: `D/.wh..wh..opq` makes D opaque, `D/.wh.NAME` becomes
 * a 0/0 character device D/NAME, other `.wh..wh.*` (aufs bookkeeping) are dropped. A whiteout only
 * hides lower layers: if the same layer has D/NAME, the whiteout goes; if it has entries below
 * D/NAME, D/NAME becomes an opaque directory instead. The result stays aligned with the input
 * (null where a member is dropped) so a second pass over the archive finds each member by index;
 * directories that exist only to be opaque come after, in `extra`.
 */
export function ociToOverlay(entries: readonly (Entry | null)[]): { entries: (Entry | null)[]; extra: Entry[] } {
  const opaque = new Set<string>();
  const present = new Set<string>();
  const hasBelow = new Set<string>();
  const split = (p: string) => {
    const slash = p.lastIndexOf('/');
    return { dir: slash < 0 ? '' : p.slice(0, slash), base: p.slice(slash + 1) };
  };
  for (const e of entries) {
    if (!e) continue;
    const { dir, base } = split(e.path);
    if (base === OPQ) opaque.add(dir);
    if (base.startsWith(WH)) continue;
    present.add(e.path);
    for (let d = dir; d !== ''; d = split(d).dir) hasBelow.add(d);
  }
  const out = entries.map((e): Entry | null => {
    if (!e) return null;
    const { dir, base } = split(e.path);
    if (!base.startsWith(WH)) {
      return e.type === 'directory' && opaque.has(e.path) ? { ...e, xattrs: { ...e.xattrs, [OPAQUE_XATTR]: 'y' } } : e;
    }
    if (base.startsWith(WH + WH)) return null;
    const hidden = (dir ? dir + '/' : '') + base.slice(WH.length);
    if (present.has(hidden)) return null;
    if (hasBelow.has(hidden)) {
      opaque.add(hidden);
      return null;
    }
    return { ...e, path: hidden, type: 'character-device', mode: 0, size: 0, linkname: '', devmajor: 0, devminor: 0, xattrs: {} };
  });
  // Opaque directories the layer has no entry for (the root itself cannot be opaque).
  const extra = [...opaque].sort().filter((d) => d !== '' && !present.has(d)).map((d) => dirEntry(d, { [OPAQUE_XATTR]: 'y' }));
  return { entries: out, extra };
}

export function dirEntry(path: string, xattrs: Record<string, string> = {}): Entry {
  return { path, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, linkname: '', devmajor: 0, devminor: 0, xattrs };
}

/** SOURCE_DATE_EPOCH semantics: no time later than the epoch (clamping, as reproducible-builds.org). */
export function clampTime(e: Entry, epoch: number | undefined): Entry {
  return epoch !== undefined && e.mtime > epoch ? { ...e, mtime: epoch } : e;
}
