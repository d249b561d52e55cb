// SPDX-License-Identifier: GPL-2.0-or-later
// Finds binaries in --base and the shared libraries they load, by reading ELF headers and
// searching directories the way glibc's ld.so does. The result keeps every symlink on the way
// (including /lib -> usr/lib), so paths baked into binaries work in the image as in the base.

import { parseElf, type ElfInfo } from '../core/elf.ts';
import { parseLdSoConf } from '../core/ldconf.ts';
import type { StageItem } from '../core/stage.ts';
import { UserError } from '../log.ts';
import type { BaseFs, ResolvedPath } from './base.ts';
import { withElfParts } from './elf-parts.ts';

const BINARY_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const DEFAULT_LIB_DIRS = ['/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/** An object as ld.so would map it: `path` is how it was found, which is what $ORIGIN sees. */
interface LoadedObject {
  path: string;
  resolved: ResolvedPath;
  elf: ElfInfo;
  /** the object whose DT_NEEDED brought this one in; the executable has none */
  loader?: LoadedObject;
}

export interface ResolvedBinaries {
  items: StageItem[];
  /** each binary found, as the path of the file itself (links followed) */
  found: string[];
  /** names that were not found (only with `optional`) */
  missing: string[];
}

export async function resolveBinaries(
  base: BaseFs,
  names: string[],
  opts: { optional?: boolean } = {},
): Promise<ResolvedBinaries> {
  const resolver = resolverFor(base);
  const items = new Map<string, StageItem>();
  const missing: string[] = [];
  const foundPaths: string[] = [];
  for (const name of names) {
    const found = findBinary(base, name);
    if (!found) {
      if (!opts.optional) throw new UserError(`binary not found in base ${base.root}: ${name}`);
      missing.push(name);
      continue;
    }
    foundPaths.push(found.path);
    for (const r of resolver.closure(found)) addResolved(base, items, r);
  }
  const sorted = [...items.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { items: sorted, found: foundPaths, missing };
}

/** Whether the base has this binary (a bare name on the root $PATH, or an absolute path). */
export function hasBinary(base: BaseFs, name: string): boolean {
  return findBinary(base, name) !== null;
}

/** An absolute image path is taken as is; a bare name is looked up like a root $PATH would. */
function findBinary(base: BaseFs, name: string): ResolvedPath | null {
  if (name.includes('/') && !name.startsWith('/')) {
    throw new UserError(`binary must be a bare name or an absolute path: ${name}`);
  }
  const candidates = name.startsWith('/') ? [name] : BINARY_DIRS.map((dir) => `${dir}/${name}`);
  for (const candidate of candidates) {
    const resolved = base.resolve(candidate);
    if (resolved && base.stat(resolved.path)?.isFile()) return resolved;
  }
  return null;
}

function addResolved(base: BaseFs, items: Map<string, StageItem>, resolved: ResolvedPath): void {
  for (const link of resolved.links) items.set(link.path, { kind: 'symlink', path: link.path, target: link.target });
  if (items.has(resolved.path)) return;
  const st = base.stat(resolved.path);
  if (!st) throw new UserError(`vanished from base ${base.root}: ${resolved.path}`);
  const mode = st.mode & 0o7777;
  items.set(resolved.path, { kind: 'file', path: resolved.path, mode, source: base.hostPath(resolved.path) });
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Expands $ORIGIN / ${ORIGIN}; entries with other tokens ($LIB, $PLATFORM) are dropped. */
function expandOrigin(dirs: string[], origin: string): string[] {
  return dirs.map((d) => d.replace(/\$(ORIGIN\b|\{ORIGIN\})/g, origin)).filter((d) => !d.includes('$'));
}

/**
 * One resolver per base for a whole build: each module's binaries load the same libc, libm, ...;
 * parsing them, reading ld.so.conf and searching the directories once per module cost a generic
 * image ~30 ms. Its caches hold what the base's files say, which a build does not change.
 */
const resolvers = new WeakMap<BaseFs, LibraryResolver>();
function resolverFor(base: BaseFs): LibraryResolver {
  let r = resolvers.get(base);
  if (!r) resolvers.set(base, (r = new LibraryResolver(base)));
  return r;
}

class LibraryResolver {
  private readonly elfCache = new Map<string, ElfInfo | null>();
  private systemDirs?: string[];
  private readonly found = new Map<string, Omit<LoadedObject, 'loader'>>();

  constructor(private readonly base: BaseFs) {}

  /** The binary, its interpreter and every library it loads, in ld.so's breadth-first order. */
  closure(binary: ResolvedPath): ResolvedPath[] {
    const out = [binary];
    const elf = this.readElf(binary.path);
    if (!elf) return out; // a script or data file: copied as is
    // $ORIGIN of the executable comes from /proc/self/exe, i.e. the fully resolved path.
    const exe: LoadedObject = { path: binary.path, resolved: binary, elf };
    const byName = new Map<string, LoadedObject>();
    if (elf.interp) out.push(this.loadInterp(exe, elf.interp, byName));
    const seen = new Set<string>(out.map((r) => r.path));
    const queue = [exe];
    for (let obj = queue.shift(); obj; obj = queue.shift()) {
      for (const name of obj.elf.needed) {
        // ld.so reuses an already loaded object whose file name or soname matches.
        if (byName.has(name)) continue;
        const lib = this.findLibrary(obj, name);
        byName.set(name, lib);
        if (lib.elf.soname) byName.set(lib.elf.soname, lib);
        out.push(lib.resolved);
        if (seen.has(lib.resolved.path)) continue;
        seen.add(lib.resolved.path);
        queue.push(lib);
      }
    }
    return out;
  }

  private loadInterp(exe: LoadedObject, interp: string, byName: Map<string, LoadedObject>): ResolvedPath {
    const resolved = this.base.resolve(interp);
    const elf = resolved && this.readElf(resolved.path);
    if (!resolved || !elf) {
      throw new UserError(`interpreter ${interp} needed by ${exe.path} not found in base ${this.base.root}`);
    }
    // libc lists the loader in DT_NEEDED; ld.so satisfies that with itself, not a new search.
    const obj: LoadedObject = { path: interp, resolved, elf, loader: exe };
    byName.set(interp.slice(interp.lastIndexOf('/') + 1), obj);
    if (elf.soname) byName.set(elf.soname, obj);
    return resolved;
  }

  private findLibrary(obj: LoadedObject, name: string): LoadedObject {
    const candidates = name.includes('/') ? [name] : this.searchDirs(obj).map((dir) => `${dir}/${name}`);
    // the same search (same candidates, same ABI) finds the same file
    const key = `${obj.elf.class}\0${obj.elf.machine}\0${candidates.join('\0')}`;
    const known = this.found.get(key);
    if (known) return { ...known, loader: obj };
    const lib = this.searchLibrary(obj, name, candidates);
    this.found.set(key, { path: lib.path, resolved: lib.resolved, elf: lib.elf });
    return lib;
  }

  private searchLibrary(obj: LoadedObject, name: string, candidates: string[]): LoadedObject {
    for (const candidate of candidates) {
      const resolved = this.base.resolve(candidate);
      if (!resolved || !this.base.stat(resolved.path)?.isFile()) continue;
      const elf = this.readElf(resolved.path);
      // Like ld.so, skip a library built for another ABI (e.g. a 32-bit one) and keep looking.
      if (!elf || elf.class !== obj.elf.class || elf.machine !== obj.elf.machine) continue;
      return { path: normalize(candidate), resolved, elf, loader: obj };
    }
    throw new UserError(`library ${name} needed by ${obj.path} not found in base ${this.base.root}`);
  }

  /**
   * glibc's order: DT_RPATH of the loader and then of its loaders up to the executable (only
   * while the loading object has no DT_RUNPATH; an object's RPATH is ignored if it has a
   * RUNPATH), then the loading object's DT_RUNPATH, then ld.so.conf (what ld.so.cache holds),
   * then the built-in directories.
   */
  private searchDirs(obj: LoadedObject): string[] {
    const dirs: string[] = [];
    if (obj.elf.runpath.length === 0) {
      for (let l: LoadedObject | undefined = obj; l; l = l.loader) {
        if (l.elf.runpath.length === 0) dirs.push(...expandOrigin(l.elf.rpath, this.origin(l)));
      }
    }
    dirs.push(...expandOrigin(obj.elf.runpath, this.origin(obj)));
    dirs.push(...this.getSystemDirs());
    return [...new Set(dirs.map(normalize))];
  }

  private origin(obj: LoadedObject): string {
    return dirname(obj.loader ? normalize(obj.path) : obj.resolved.path);
  }

  /** ld.so.conf dirs, then multiarch dirs (Debian's ld.so searches those first), then the classic ones. */
  private getSystemDirs(): string[] {
    if (this.systemDirs) return this.systemDirs;
    const base = this.base;
    const conf = base.exists('/etc/ld.so.conf')
      ? parseLdSoConf(base.readFile('/etc/ld.so.conf').toString('utf8'), '/etc/ld.so.conf', {
          glob: (pattern) => base.glob(pattern),
          read: (path) => (base.stat(path)?.isFile() ? base.readFile(path).toString('utf8') : undefined),
        })
      : [];
    const triplets = [...new Set([...base.readdir('/lib'), ...base.readdir('/usr/lib')])]
      .filter((name) => /^[a-z0-9_]+-linux-[a-z0-9_]+$/.test(name))
      .sort();
    const multiarch = triplets.flatMap((t) => [`/lib/${t}`, `/usr/lib/${t}`]);
    this.systemDirs = [...new Set([...conf, ...multiarch, ...DEFAULT_LIB_DIRS])];
    return this.systemDirs;
  }

  private readElf(canonicalPath: string): ElfInfo | null {
    if (this.elfCache.has(canonicalPath)) return this.elfCache.get(canonicalPath) ?? null;
    let elf: ElfInfo | null;
    try {
      elf = this.parseElf(canonicalPath);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot read ELF ${canonicalPath} in base ${this.base.root}: ${(err as Error).message}`);
    }
    this.elfCache.set(canonicalPath, elf);
    return elf;
  }

  /** parseElf over what it reads of the file (src/host/elf-parts.ts), resolved and checked as BaseFs.readFile does. */
  private parseElf(canonicalPath: string): ElfInfo | null {
    const resolved = this.base.resolveFile(canonicalPath);
    if (!resolved) throw new UserError(`not found in base ${this.base.root}: ${canonicalPath}`);
    return withElfParts(this.base.hostPath(resolved.path), canonicalPath, parseElf).value;
  }
}

/** Lexical clean-up of an image path; `..` is kept for resolve() to apply after symlinks. */
function normalize(path: string): string {
  return '/' + path.split('/').filter((p) => p !== '' && p !== '.').join('/');
}
