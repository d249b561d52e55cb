// SPDX-License-Identifier: GPL-2.0-or-later
// Reads the --base tree as if it were the root filesystem. Symlinks are followed by us, one
// component at a time, because the host kernel would resolve an absolute link target such as
// /lib -> /usr/lib against the *host* root and silently mix host files into the image.

import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, type BigIntStats, type Stats } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { globToRegExp, hasGlobMagic } from '../core/ldconf.ts';
import { UserError } from '../log.ts';
import { noteOrigin } from './digest.ts';
import { mapReadOnly } from './libc.ts';

/** Linux gives up after 40 link traversals in one lookup (ELOOP); so do we. */
const MAX_LINKS = 40;

export interface BaseLink {
  /** image path of the symlink itself (its directory part already canonical) */
  path: string;
  /** the literal readlink() text, as it must be recreated in the image */
  target: string;
}

export interface ResolvedPath {
  /** canonical image path: no symlinks in any component */
  path: string;
  /** every symlink passed through, in traversal order, without repeats */
  links: BaseLink[];
}

function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

export class BaseFs {
  /** absolute, canonical host path of the base root */
  readonly root: string;

  constructor(root: string) {
    if (!isAbsolute(root)) throw new UserError(`base directory must be an absolute path: ${root}`);
    try {
      this.root = realpathSync(root);
    } catch {
      throw new UserError(`base directory not found: ${root}`);
    }
  }

  /** Lexical mapping only: does not follow symlinks, `..` stops at the base root. */
  hostPath(imagePath: string): string {
    const parts: string[] = [];
    for (const part of components(imagePath)) {
      if (part === '..') parts.pop();
      else parts.push(part);
    }
    return join(this.root, ...parts);
  }

  /**
   * Follows symlinks inside the base, as the kernel would if the base were `/`.
   * Returns null if the path (or a directory on the way) does not exist.
   */
  resolve(imagePath: string): ResolvedPath | null {
    const pending = components(imagePath).reverse();
    const done: string[] = [];
    const links: BaseLink[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.pop() as string;
      if (part === '..') {
        done.pop(); // `..` at the base root stays at the root, like `/..`
        continue;
      }
      const path = '/' + [...done, part].join('/');
      const st = pending.length > 0 ? this.lstatOnTheWay(path) : this.lstatHost(path);
      if (!st) return null;
      if (st.isSymbolicLink()) {
        if (++hops > MAX_LINKS) {
          throw new UserError(`too many levels of symbolic links resolving ${imagePath} in base ${this.root}`);
        }
        const target = readlinkSync(this.hostPath(path));
        if (!links.some((l) => l.path === path)) links.push({ path, target });
        if (target.startsWith('/')) done.length = 0;
        pending.push(...components(target).reverse());
        continue;
      }
      if (pending.length > 0 && !st.isDirectory()) return null; // ENOTDIR
      done.push(part);
    }
    return { path: '/' + done.join('/'), links };
  }

  /**
   * The directories on the way to a file, looked up once per BaseFs: the ~500 modules of a generic
   * image share /usr/lib/modules/KVER/kernel/..., and an lstat per component per file was ~4000
   * calls. Only directories found are kept (a path that was missing, a link, the last component
   * are looked up afresh each time).
   */
  private readonly dirs = new Map<string, Stats>();

  private lstatOnTheWay(canonicalPath: string): Stats | undefined {
    const known = this.dirs.get(canonicalPath);
    if (known) return known;
    const st = this.lstatHost(canonicalPath);
    if (st?.isDirectory()) this.dirs.set(canonicalPath, st);
    return st;
  }

  /** lstat of `done` components only: callers guarantee no symlink sits in the prefix. */
  private lstatHost(canonicalPath: string): Stats | undefined {
    return lstatSync(this.hostPath(canonicalPath), { throwIfNoEntry: false });
  }

  /** lstat: the directories are resolved inside the base, the last component is not followed. */
  lstat(imagePath: string): Stats | null {
    const parts = components(imagePath);
    const last = parts.pop();
    if (last === undefined || last === '..') return this.stat(imagePath);
    const parent = this.resolve('/' + parts.join('/'));
    if (!parent) return null;
    return this.lstatHost(`${parent.path === '/' ? '' : parent.path}/${last}`) ?? null;
  }

  /** stat: follows every symlink inside the base. */
  stat(imagePath: string): Stats | null {
    const resolved = this.resolve(imagePath);
    return resolved ? (this.lstatHost(resolved.path) ?? null) : null;
  }

  exists(imagePath: string): boolean {
    return this.resolve(imagePath) !== null;
  }

  /**
   * The one way to read a file of the base: resolved inside it, a regular file (a FIFO would hang the
   * build, a device node would be read raw), opened without following a final symlink.
   */
  readFile(imagePath: string): Buffer {
    const resolved = this.resolveFile(imagePath);
    if (!resolved) throw new UserError(`not found in base ${this.root}: ${imagePath}`);
    return readHostRegular(this.hostPath(resolved.path), imagePath);
  }

  /** readFile's bytes, mapped read-only where they can be (mapHostRegular): never to be changed. */
  mapFile(imagePath: string): Uint8Array {
    const resolved = this.resolveFile(imagePath);
    if (!resolved) throw new UserError(`not found in base ${this.root}: ${imagePath}`);
    return mapHostRegular(this.hostPath(resolved.path), imagePath);
  }

  /** readFile, or undefined when the path does not exist. */
  readOptional(imagePath: string): Buffer | undefined {
    return this.resolveFile(imagePath) ? this.readFile(imagePath) : undefined;
  }

  /** resolve(), refusing anything but a regular file at the end with one line naming the path. */
  resolveFile(imagePath: string): ResolvedPath | null {
    const resolved = this.resolve(imagePath);
    if (!resolved) return null;
    const st = this.lstatHost(resolved.path);
    if (!st) return null;
    if (!st.isFile()) throw new UserError(`${imagePath} in base ${this.root} is ${kindOf(st)}, not a regular file`);
    return resolved;
  }

  /** Entry names of a directory inside the base, sorted; [] if it is missing or not a directory. */
  readdir(imagePath: string): string[] {
    const resolved = this.resolve(imagePath);
    if (!resolved || !this.lstatHost(resolved.path)?.isDirectory()) return [];
    return readdirSync(this.hostPath(resolved.path)).sort();
  }

  /** Expands `*`, `?` and `[...]` in any component, like glob(3): sorted, dot files only if asked. */
  glob(pattern: string): string[] {
    let matches = [''];
    for (const part of components(pattern)) {
      if (!hasGlobMagic(part)) {
        matches = matches.map((m) => `${m}/${part}`);
        continue;
      }
      const re = globToRegExp(part);
      matches = matches.flatMap((m) =>
        this.readdir(m || '/')
          .filter((name) => re.test(name) && (part.startsWith('.') || !name.startsWith('.')))
          .map((name) => `${m}/${name}`),
      );
    }
    return matches.filter((m) => m !== '' && this.exists(m)).sort();
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Opens a host file that must be a regular file: O_NOFOLLOW so a final symlink swapped in after
 * resolution is never followed on the host, O_NONBLOCK so a FIFO cannot hang the open, and the type
 * checked on the open descriptor. `label` names the file in the error (its path in the base). The
 * caller closes the descriptor.
 */
export function openHostRegular(hostPath: string, label = hostPath): { fd: number; size: number; st: BigIntStats } {
  let fd: number;
  try {
    fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UserError(`${label} is a symbolic link where a regular file was resolved (${hostPath})`);
    throw new UserError(`cannot read ${label}: ${code ?? (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new UserError(`${label} is ${kindOf(st as unknown as Stats)}, not a regular file (${hostPath})`);
    return { fd, size: Number(st.size), st };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Reads `len` bytes at `from` of an open file into `buf` at the same offset; the count read (less at EOF). */
export function preadInto(fd: number, buf: Uint8Array, from: number, len: number): number {
  let off = 0;
  while (off < len) {
    const n = readSync(fd, buf, from + off, len - off, from + off);
    if (n === 0) break;
    off += n;
  }
  return off;
}

/** Smaller files are read: one copy costs less than a mapping's system calls. */
const MAP_MIN = 32 << 10;

/**
 * The whole of a host file that must be a regular file, mapped read-only where it can be
 * (libc.ts mapReadOnly), else read: for the bytes a build only hashes, checks and writes into the
 * image (files of the plan, kernel modules). Reading ~50 MiB of them into fresh memory cost a
 * generic image ~10 000 page faults (~0.2 s on a virtual machine); a mapping of the page cache
 * faults once per 64 KiB (the kernel's fault-around). Never for bytes anyone changes.
 */
export function mapHostRegular(hostPath: string, label = hostPath): Uint8Array {
  const { fd, size, st } = openHostRegular(hostPath, label);
  try {
    let bytes = size >= MAP_MIN ? mapReadOnly(fd, size) : undefined;
    if (!bytes) {
      const buf = Buffer.allocUnsafe(size);
      const got = preadInto(fd, buf, 0, size);
      bytes = got === size ? buf : buf.subarray(0, got);
    }
    // its sha256 may come from the digest cache (src/host/digest-cache.ts)
    noteOrigin(bytes, hostPath, st);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** The whole of a host file that must be a regular file (openHostRegular's checks). */
export function readHostRegular(hostPath: string, label = hostPath): Buffer {
  const { fd, size } = openHostRegular(hostPath, label);
  try {
    const buf = Buffer.allocUnsafe(size);
    const got = preadInto(fd, buf, 0, size);
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
