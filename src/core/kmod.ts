// SPDX-License-Identifier: GPL-2.0-or-later
// depmod's text indexes in, an ordered module set out; and the same formats rendered back for the subset
// the image ships. Pure: no I/O, so the closure is testable on fixture text.

export interface KmodEntry {
  /** normalised module name (`-` → `_`), the key modprobe uses */
  name: string;
  /** path relative to the modules dir, as in modules.dep (may end in .ko.xz/.ko.zst/.ko.gz) */
  path: string;
  /** paths of every dependency as modules.dep lists them: dependents first, deepest last */
  deps: string[];
  /** line number in modules.dep, so rendering keeps depmod's order */
  seq: number;
}

export interface KmodAlias {
  /** the pattern as written in modules.alias */
  pattern: string;
  module: string;
}

export interface KmodSoftdep {
  module: string;
  /** everything after the module name, verbatim (`pre: a b post: c`) */
  text: string;
  pre: string[];
  post: string[];
}

export interface KmodIndex {
  modules: Map<string, KmodEntry>;
  aliases: KmodAlias[];
  softdeps: KmodSoftdep[];
  /** modules.builtin paths, verbatim */
  builtin: string[];
  builtinNames: Set<string>;
  /** aliases of built-in modules (from modules.builtin.modinfo): a softdep on one is already satisfied */
  builtinAliases: KmodAlias[];
  /** modules.order paths */
  order: string[];
}

export interface KmodSources {
  dep: string;
  alias?: string;
  softdep?: string;
  builtin?: string;
  order?: string;
  builtinModinfo?: string;
}

export interface KmodResolution {
  /** dependencies (and pre-softdeps) before dependents; post-softdeps after */
  modules: KmodEntry[];
  builtin: string[];
  missing: string[];
}

export function normalizeModname(name: string): string {
  return name.includes('-') ? name.replaceAll('-', '_') : name;
}

/** `kernel/lib/crc-t10dif.ko.zst` → `crc_t10dif`: basename up to the first dot, as kmod and busybox do. */
export function modnameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return normalizeModname(dot < 0 ? base : base.slice(0, dot));
}

/** A kernel module's file name: `.ko`, or compressed as the kernel's build or our cold store leaves it. */
export const MODULE_FILE = /\.ko(?:\.(?:xz|zst|gz))?$/;
const COMPRESSED_MODULE_FILE = /\.ko\.(?:xz|zst|gz)$/;

/** A kernel module in an image, `/[usr/]lib/modules/KVER/…/NAME.ko[.xz|.zst|.gz]`; group 1 is its
 * path under KVER as `.ko`. */
export const IMAGE_MODULE_PATH = /^(?:\/usr)?\/lib\/modules\/[^/]+\/(.+\.ko)(?:\.(?:xz|zst|gz))?$/;

/** A compressed module in an image (a cold one, stored as it is). */
export const isCompressedImageModule = (path: string): boolean => COMPRESSED_MODULE_FILE.test(path) && IMAGE_MODULE_PATH.test(path);

/** The image stores modules uncompressed: busybox insmod at boot cannot decompress zstd (nor, if built
 * without the seamless options, xz/gz). */
export function uncompressedModulePath(path: string): string {
  return path.replace(COMPRESSED_MODULE_FILE, '.ko');
}

/** kmod's alias_normalize: `-` → `_`, except inside `[...]` where it may be a range. */
export function normalizeAlias(alias: string): string {
  if (!alias.includes('-')) return alias; // most of ~26k patterns: keep the common case cheap
  if (!alias.includes('[')) return alias.replaceAll('-', '_');
  let out = '';
  let inClass = false;
  for (const c of alias) {
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    out += c === '-' && !inClass ? '_' : c;
  }
  return out;
}

function lines(text: string | undefined): string[] {
  if (!text) return [];
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

export function parseModulesDep(text: string): KmodEntry[] {
  const entries: KmodEntry[] = [];
  for (const line of lines(text)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).split(' ').filter(Boolean);
    entries.push({ name: modnameFromPath(path), path, deps, seq: entries.length });
  }
  return entries;
}

export function parseModulesAlias(text: string): KmodAlias[] {
  const out: KmodAlias[] = [];
  // one regex pass over the whole file: splitting ~26k lines first costs several times more
  for (const m of text.matchAll(/^alias[ \t]+(\S+)[ \t]+(\S+)/gm)) {
    out.push({ pattern: m[1] as string, module: normalizeModname(m[2] as string) });
  }
  return out;
}

/** `pre: a b post: c` → lists. Words before any `pre:`/`post:` are ignored, as kmod does (e.g. Debian 6.1's
 * `softdep cifs gcm`, which modprobe never acts on). */
export function parseSoftdepValue(text: string): { pre: string[]; post: string[] } {
  const pre: string[] = [];
  const post: string[] = [];
  let into: string[] | undefined;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (word === 'pre:') into = pre;
    else if (word === 'post:') into = post;
    else into?.push(word);
  }
  return { pre, post };
}

export function parseModulesSoftdep(text: string): KmodSoftdep[] {
  const out: KmodSoftdep[] = [];
  for (const line of lines(text)) {
    const m = /^softdep\s+(\S+)\s+(.*?)\s*$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    out.push({ module: normalizeModname(m[1]), text: m[2], ...parseSoftdepValue(m[2]) });
  }
  return out;
}

/** `name.alias=pattern` records of the NUL-separated modules.builtin.modinfo. */
export function parseBuiltinModinfoAliases(text: string): KmodAlias[] {
  const out: KmodAlias[] = [];
  for (const rec of text.split('\0')) {
    const m = /^([^.=]+)\.alias=(.+)$/.exec(rec);
    if (m?.[1] && m[2]) out.push({ pattern: m[2], module: normalizeModname(m[1]) });
  }
  return out;
}

export function parseKmodIndex(src: KmodSources): KmodIndex {
  const builtin = lines(src.builtin).map((l) => l.trim());
  return {
    modules: new Map(parseModulesDep(src.dep).map((e) => [e.name, e])),
    aliases: parseModulesAlias(src.alias ?? ''),
    softdeps: parseModulesSoftdep(src.softdep ?? ''),
    builtin,
    builtinNames: new Set(builtin.map(modnameFromPath)),
    builtinAliases: parseBuiltinModinfoAliases(src.builtinModinfo ?? ''),
    order: lines(src.order).map((l) => l.trim()),
  };
}

/** fnmatch(3) with no flags: `*`, `?`, `[...]` (with `!`/`^` negation and ranges), `\` escapes. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const step = p < pattern.length ? matchOne(pattern, p, text[t] as string) : -1;
    if (pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (step > 0) {
      p = step;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Matches one pattern element at `p` against `c`: the index after the element, or -1. */
function matchOne(pattern: string, p: number, c: string): number {
  const pc = pattern[p];
  if (pc === '?') return p + 1;
  if (pc === '\\' && p + 1 < pattern.length) return pattern[p + 1] === c ? p + 2 : -1;
  if (pc !== '[') return pc === c ? p + 1 : -1;
  let i = p + 1;
  const negate = pattern[i] === '!' || pattern[i] === '^';
  if (negate) i++;
  let hit = false;
  for (let first = true; i < pattern.length && (first || pattern[i] !== ']'); first = false) {
    const lo = pattern[i] as string;
    if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      if (c >= lo && c <= (pattern[i + 2] as string)) hit = true;
      i += 3;
    } else {
      if (c === lo) hit = true;
      i++;
    }
  }
  if (i >= pattern.length) return pc === c ? p + 1 : -1; // no closing `]`: a literal `[`
  return hit !== negate ? i + 1 : -1;
}

interface AliasTable {
  exact: Map<string, string[]>;
  /** glob patterns keyed by their first BUCKET literal characters; shorter literal prefixes in `other` */
  buckets: Map<string, KmodAlias[]>;
  other: KmodAlias[];
}

const BUCKET = 4;

// Normalised and bucketed once per alias list: a build looks up dozens of softdep targets (crypto-crc32c,
// sha256, ...) and a linear fnmatch over ~23k device-id globs for each would cost more than the whole parse.
const aliasTables = new WeakMap<KmodAlias[], AliasTable>();
function aliasTable(aliases: KmodAlias[]): AliasTable {
  let table = aliasTables.get(aliases);
  if (table) return table;
  table = { exact: new Map(), buckets: new Map(), other: [] };
  for (const a of aliases) {
    const pattern = normalizeAlias(a.pattern);
    const literal = pattern.search(/[*?[\\]/);
    if (literal < 0) table.exact.set(pattern, [...(table.exact.get(pattern) ?? []), a.module]);
    else if (literal < BUCKET) table.other.push({ pattern, module: a.module });
    else {
      const key = pattern.slice(0, BUCKET);
      const bucket = table.buckets.get(key);
      if (bucket) bucket.push({ pattern, module: a.module });
      else table.buckets.set(key, [{ pattern, module: a.module }]);
    }
  }
  aliasTables.set(aliases, table);
  return table;
}

function aliasTargets(aliases: KmodAlias[], name: string): string[] {
  const wanted = normalizeAlias(name);
  const table = aliasTable(aliases);
  const out = [...(table.exact.get(wanted) ?? [])];
  for (const globs of [table.buckets.get(wanted.slice(0, BUCKET)) ?? [], table.other]) {
    for (const g of globs) if (globMatch(g.pattern, wanted)) out.push(g.module);
  }
  return [...new Set(out)];
}

export interface KmodLookup {
  modules: KmodEntry[];
  builtin: string[];
}

/** A request or softdep target: a directory prefix, a module name, or an alias (every module it names). */
export function lookupKmod(index: KmodIndex, request: string): KmodLookup {
  if (request.endsWith('/')) {
    const under = [...index.modules.values()].filter((e) => e.path.startsWith(request));
    return { modules: under, builtin: [] };
  }
  const name = normalizeModname(request);
  const entry = index.modules.get(name);
  if (entry) return { modules: [entry], builtin: [] };
  if (index.builtinNames.has(name)) return { modules: [], builtin: [name] };
  const modules = aliasTargets(index.aliases, request).flatMap((n) => index.modules.get(n) ?? []);
  const builtin = aliasTargets(index.builtinAliases, request).filter((n) => index.builtinNames.has(n));
  return { modules, builtin };
}

export function resolveKmods(index: KmodIndex, requests: string[]): KmodResolution {
  const { modules, builtin, missing } = resolveKmodsInTwo(index, requests, []);
  return { modules, builtin, missing };
}

/**
 * `first`, then `then` (the hot requests, then the cold ones) in one walk: the modules `first`
 * reaches come first, `firstCount` of them, exactly as `resolveKmods(index, first)` orders them,
 * since the walk takes requests in order. Resolving twice cost a build ~40 ms.
 */
export function resolveKmodsInTwo(index: KmodIndex, first: string[], then: string[]): KmodResolution & { firstCount: number } {
  const out: KmodEntry[] = [];
  const builtin = new Set<string>();
  const missing = new Set<string>();
  const seen = new Set<string>();
  const softdeps = new Map<string, KmodSoftdep[]>();
  for (const s of index.softdeps) softdeps.set(s.module, [...(softdeps.get(s.module) ?? []), s]);

  const visitTarget = (target: string): void => {
    const found = lookupKmod(index, target);
    for (const b of found.builtin) builtin.add(b);
    for (const e of found.modules) visit(e);
  };
  const visit = (entry: KmodEntry): void => {
    if (seen.has(entry.name)) return;
    seen.add(entry.name);
    const soft = softdeps.get(entry.name) ?? [];
    for (const target of soft.flatMap((s) => s.pre)) visitTarget(target);
    // modules.dep lists the deepest dependency last and modprobe loads the line backwards
    for (const path of [...entry.deps].reverse()) {
      const dep = index.modules.get(modnameFromPath(path));
      if (dep) visit(dep);
      else missing.add(modnameFromPath(path));
    }
    out.push(entry);
    // softdeps that name nothing are dropped silently, as modprobe does
    for (const target of soft.flatMap((s) => s.post)) visitTarget(target);
  };
  const request = (name: string): void => {
    const found = lookupKmod(index, name);
    if (found.modules.length === 0 && found.builtin.length === 0) missing.add(name);
    for (const b of found.builtin) builtin.add(b);
    for (const e of found.modules) visit(e);
  };

  first.forEach(request);
  const firstCount = out.length;
  then.forEach(request);
  return { modules: out, builtin: [...builtin], missing: [...missing], firstCount };
}

type MapPath = (path: string) => string;
const asIs: MapPath = (path) => path;
const bySeq = (subset: readonly KmodEntry[]): KmodEntry[] => [...subset].sort((a, b) => a.seq - b.seq);

export function renderModulesDep(subset: readonly KmodEntry[], mapPath: MapPath = asIs): string {
  return bySeq(subset)
    .map((e) => `${mapPath(e.path)}:${e.deps.map((d) => ` ${mapPath(d)}`).join('')}\n`)
    .join('');
}

export function renderModulesAlias(index: KmodIndex, subset: readonly KmodEntry[]): string {
  const names = new Set(subset.map((e) => e.name));
  const body = index.aliases.filter((a) => names.has(a.module)).map((a) => `alias ${a.pattern} ${a.module}\n`);
  return '# Aliases extracted from modules themselves.\n' + body.join('');
}

export function renderModulesSoftdep(index: KmodIndex, subset: readonly KmodEntry[]): string {
  const names = new Set(subset.map((e) => e.name));
  const body = index.softdeps.filter((s) => names.has(s.module)).map((s) => `softdep ${s.module} ${s.text}\n`);
  return '# Soft dependencies extracted from modules themselves.\n' + body.join('');
}

/** Every built-in module, not only the subset: modprobe must answer "built-in" for any of them. */
export function renderModulesBuiltin(index: KmodIndex): string {
  return index.builtin.map((p) => `${p}\n`).join('');
}

/** modules.order restricted to the subset; modules it does not list (out-of-tree) follow in modules.dep order. */
export function renderModulesOrder(index: KmodIndex, subset: readonly KmodEntry[], mapPath: MapPath = asIs): string {
  const byName = new Map(subset.map((e) => [e.name, e]));
  const listed = index.order.map(modnameFromPath).filter((n) => byName.delete(n));
  const paths = [...listed.map((n) => index.modules.get(n)?.path ?? n), ...bySeq([...byName.values()]).map((e) => e.path)];
  return paths.map((p) => `${mapPath(p)}\n`).join('');
}
