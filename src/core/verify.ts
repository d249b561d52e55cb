// SPDX-License-Identifier: GPL-2.0-or-later
// Would this image boot? Checked on the image's own tree (data in, problems out), the same way for
// `mkruckus verify IMG` and at the end of every build: /init and every script's interpreter, every
// ELF's interpreter and needed libraries, every kernel module's dependencies and the module index,
// and the firmware the modules name (missing firmware is a warning, as dracut's: the hardware may
// never be there). The second stage's presence and checksum are the host side's (src/host/verify.ts).
import { parseElf, type ElfInfo } from './elf.ts';
import { MODULE_FILE, modnameFromPath, parseModulesDep } from './kmod.ts';
import { parseModinfo } from './modinfo.ts';

export interface TreeEntry {
  path: string;
  type: string;
  mode: number;
  target?: string;
  data?: Uint8Array;
}

export interface Problem {
  severity: 'error' | 'warning';
  text: string;
}

const MAX_LINKS = 40;
const LIB_DIRS = ['/lib64', '/usr/lib64', '/lib', '/usr/lib'];
const MODULES_RE = /^\/(usr\/)?lib\/modules\/([^/]+)\/modules\.dep$/;
const decoder = new TextDecoder();

/** The image as the kernel unpacks it: later entries replace earlier ones at the same path. */
export class ImageTree {
  private readonly byPath = new Map<string, TreeEntry>();

  constructor(entries: Iterable<TreeEntry>) {
    for (const e of entries) this.byPath.set(e.path, e);
  }

  entries(): TreeEntry[] {
    return [...this.byPath.values()];
  }

  /** The path of the directory each directory path resolves to (null: none), as looked up so far. */
  private readonly dirs = new Map<string, string | null>();

  /**
   * Follows symlinks inside the image; undefined when a component is missing. A plain path whose
   * parent is known goes by one lookup: a build checks ~500 modules and their dependencies, and
   * walking each path component by component cost it ~40 ms.
   */
  resolve(path: string): TreeEntry | undefined {
    const cut = path.lastIndexOf('/');
    if (cut >= 0 && path.startsWith('/') && !ODD_PATH.test(path)) {
      const parent = cut === 0 ? '' : this.dir(path.slice(0, cut));
      const e = parent === null ? undefined : this.byPath.get(`${parent}${path.slice(cut)}`);
      if (e && e.type !== 'symlink') return e;
    }
    return this.walk(path);
  }

  private dir(path: string): string | null {
    let known = this.dirs.get(path);
    if (known === undefined) {
      const e = this.walk(path);
      known = e?.type !== 'dir' ? null : e.path === '/' ? '' : e.path;
      this.dirs.set(path, known);
    }
    return known;
  }

  private walk(path: string): TreeEntry | undefined {
    const pending = path.split('/').filter((p) => p && p !== '.').reverse();
    const done: string[] = [];
    let hops = 0;
    while (pending.length) {
      const part = pending.pop()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const e = this.byPath.get('/' + [...done, part].join('/'));
      if (!e) return undefined;
      if (e.type === 'symlink' && e.target !== undefined) {
        if (++hops > MAX_LINKS) return undefined;
        if (e.target.startsWith('/')) done.length = 0;
        pending.push(...e.target.split('/').filter((p) => p && p !== '.').reverse());
        continue;
      }
      done.push(part);
    }
    return done.length ? this.byPath.get('/' + done.join('/')) : { path: '/', type: 'dir', mode: 0o755 };
  }
}

/** Paths the one-lookup way does not take: empty, `.` or `..` components, a trailing slash. */
const ODD_PATH = /\/\/|\/\.\.?(\/|$)|\/$/;

const isExecutable = (e: TreeEntry | undefined): boolean => e?.type === 'file' && (e.mode & 0o111) !== 0;

function interpreterOf(data: Uint8Array): string | undefined {
  if (data[0] !== 0x23 || data[1] !== 0x21) return undefined; // "#!"
  const line = decoder.decode(data.subarray(2, Math.min(data.length, 256))).split('\n')[0]!.trim();
  return line.split(/\s+/)[0] || undefined;
}

function checkInit(tree: ImageTree, out: Problem[]): void {
  const init = tree.resolve('/init');
  if (!init) return void out.push({ severity: 'error', text: '/init is missing' });
  if (!isExecutable(init)) out.push({ severity: 'error', text: '/init is not an executable file' });
}

function checkScripts(tree: ImageTree, out: Problem[]): void {
  for (const e of tree.entries()) {
    if (e.type !== 'file' || !e.data || !(e.mode & 0o111)) continue;
    const interp = interpreterOf(e.data);
    if (interp && !isExecutable(tree.resolve(interp))) out.push({ severity: 'error', text: `${e.path}: interpreter ${interp} is not in the image` });
  }
}

function searchDirs(tree: ImageTree, e: TreeEntry, elf: ElfInfo): string[] {
  const origin = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
  const own = [...elf.rpath, ...elf.runpath].map((d) => d.replace(/\$(ORIGIN\b|\{ORIGIN\})/g, origin));
  const multiarch = ['/lib', '/usr/lib'].flatMap((d) => tree.entries()
    .filter((x) => x.path.startsWith(`${d}/`) && /^[a-z0-9_]+-linux-[a-z0-9_]+$/.test(x.path.slice(d.length + 1)))
    .map((x) => x.path));
  return [...own, ...multiarch, ...LIB_DIRS];
}

function checkElves(tree: ImageTree, out: Problem[]): void {
  let dirs: string[] | undefined;
  for (const e of tree.entries()) {
    if (e.type !== 'file' || !e.data || e.data[0] !== 0x7f || /\.ko$/.test(e.path)) continue;
    let elf: ElfInfo | null;
    try {
      elf = parseElf(e.data);
    } catch {
      continue; // not an ELF we can read: nothing the loader would do with it either
    }
    if (!elf) continue;
    if (elf.interp && tree.resolve(elf.interp)?.type !== 'file') {
      out.push({ severity: 'error', text: `${e.path}: ELF interpreter ${elf.interp} is not in the image` });
    }
    if (!elf.needed.length) continue;
    dirs = elf.rpath.length || elf.runpath.length ? searchDirs(tree, e, elf) : (dirs ?? searchDirs(tree, e, elf));
    for (const lib of elf.needed) {
      const found = lib.includes('/') ? tree.resolve(lib) : dirs.map((d) => tree.resolve(`${d}/${lib}`)).find((x) => x?.type === 'file');
      if (!found) out.push({ severity: 'error', text: `${e.path}: library ${lib} is not in the image` });
    }
  }
}

function checkModules(tree: ImageTree, out: Problem[]): void {
  for (const dep of tree.entries().filter((e) => MODULES_RE.test(e.path))) {
    const dir = dep.path.slice(0, -'/modules.dep'.length);
    const entries = parseModulesDep(decoder.decode(dep.data ?? new Uint8Array()));
    const listed = new Set(entries.map((m) => m.path));
    for (const m of entries) {
      if (!tree.resolve(`${dir}/${m.path}`)) out.push({ severity: 'error', text: `kernel module ${m.path} is in modules.dep but not in the image` });
      for (const d of m.deps) {
        if (!tree.resolve(`${dir}/${d}`)) out.push({ severity: 'error', text: `kernel module ${m.name} needs ${modnameFromPath(d)} (${d}), which is not in the image` });
        else if (!listed.has(d)) out.push({ severity: 'error', text: `kernel module ${d} (needed by ${m.name}) is missing from modules.dep` });
      }
    }
    for (const e of tree.entries()) {
      if (e.path.startsWith(`${dir}/`) && MODULE_FILE.test(e.path) && !listed.has(e.path.slice(dir.length + 1))) {
        out.push({ severity: 'error', text: `kernel module ${e.path} is not in modules.dep: modprobe cannot load it` });
      }
    }
    checkFirmware(tree, dir, entries.map((m) => m.path), out);
  }
}

function gunzipped(data: Uint8Array): Uint8Array | undefined {
  try {
    return Bun.gunzipSync(data as Uint8Array<ArrayBuffer>);
  } catch {
    return undefined;
  }
}

function checkFirmware(tree: ImageTree, dir: string, modules: string[], out: Problem[]): void {
  for (const path of modules) {
    const stored = tree.resolve(`${dir}/${path}`)?.data;
    // a cold module gzip'd is read as insmod will; an .xz one (the kernel's own) is left unread
    const data = stored && path.endsWith('.gz') ? gunzipped(stored) : stored;
    if (stored && !data) out.push({ severity: 'error', text: `kernel module ${path} does not decompress (gzip)` });
    if (!data || data[0] !== 0x7f) continue;
    let firmware: string[] = [];
    try {
      firmware = parseModinfo(data).firmware;
    } catch {
      out.push({ severity: 'error', text: `kernel module ${path} has no readable .modinfo` });
      continue;
    }
    for (const fw of firmware) {
      if (/[*?[]/.test(fw)) continue;
      if (!['', '.zst', '.xz'].some((s) => tree.resolve(`/lib/firmware/${fw}${s}`))) {
        out.push({ severity: 'warning', text: `firmware ${fw} for ${modnameFromPath(path)} is not in the image` });
      }
    }
  }
}

/** Every problem found, errors first, each once. */
export function verifyTree(tree: ImageTree): Problem[] {
  const out: Problem[] = [];
  checkInit(tree, out);
  checkScripts(tree, out);
  checkElves(tree, out);
  checkModules(tree, out);
  const seen = new Set<string>();
  const unique = out.filter((p) => !seen.has(p.severity + p.text) && seen.add(p.severity + p.text));
  return [...unique.filter((p) => p.severity === 'error'), ...unique.filter((p) => p.severity === 'warning')];
}
