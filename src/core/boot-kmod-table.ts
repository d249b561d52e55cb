// SPDX-License-Identifier: GPL-2.0-or-later
// The boot-time driver table for exactly the kernel modules an image ships: which device modaliases
// want which module (modules.alias, as fnmatch patterns), and each module's load order (modules.dep
// and softdeps, as modprobe resolves them). /init matches the devices present with `case` (the
// shell's fnmatch) and loads with insmod: no modprobe parsing modules.dep and scanning every alias
// pattern per call. Rendered as small sh files so a device reads only the patterns it could match.
import { lookupKmod, modnameFromPath, normalizeAlias, type KmodEntry, type KmodIndex } from './kmod.ts';

/**
 * Under /lib/modules/KVER: `dep/NAME` (load order), `alias/BUCKET` (a function of case statements)
 * and `cpu/NAME` (the CPU modalias a module with cpu: aliases needs).
 */
export const BOOT_TABLE_DIR = 'ruckusrd';

/** Buses whose modaliases begin with a fixed-width vendor field, which narrows a bucket to one vendor. */
const VENDOR_WIDTH: Record<string, number> = { pci: 8, usb: 4 };
const PLAIN = /^[A-Za-z0-9_.:,/=+@%*?-]*$/;

/**
 * The bucket a pattern lives in, and the one /init looks in for a device modalias (the same
 * function: a device's alias has no glob characters). `_any` holds patterns whose bus is a glob
 * (`acpi*:`); they are read for every device. `_name` holds plain names without a colon
 * (`fs-ext4`, `crypto-crc32c`, `char-major-10-234`): no device modalias (`bus:...`) can match
 * one, so coldplug never reads them (they were most of `_any`, tried against every device).
 */
export function aliasBucket(alias: string): string {
  const colon = alias.indexOf(':');
  if (colon < 0 && !/[*?[\\]/.test(alias)) return '_name';
  const bus = colon < 0 ? '' : alias.slice(0, colon);
  if (!/^[A-Za-z0-9_]+$/.test(bus)) return '_any';
  const width = VENDOR_WIDTH[bus];
  if (width !== undefined && alias[colon + 1] === 'v') {
    const key = alias.slice(0, colon + 2 + width);
    if (key.length === colon + 2 + width && /^[0-9A-Za-z]+$/.test(key.slice(colon + 2))) return key;
  }
  return bus;
}

/**
 * A modules.alias pattern as a `case` pattern with the same fnmatch meaning, or undefined when it
 * holds something we will not put in shell code (a bracket expression with odd characters).
 */
export function casePattern(pattern: string): string | undefined {
  if (PLAIN.test(pattern)) return pattern; // nearly all: letters, digits, `*` and `?`
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      const body = end < 0 ? '' : pattern.slice(i + 1, end);
      if (!/^[\^!]?[A-Za-z0-9_.:,-]+$/.test(body)) return undefined;
      out += `[${body.replace(/^\^/, '!')}]`; // dash knows only `!` for negation
      i = end;
    } else if (c === '\\') {
      const next = pattern[++i];
      if (next === undefined || !/[A-Za-z0-9_.:,/=+@%*?[\]-]/.test(next)) return undefined;
      out += `\\${next}`;
    } else if (/[A-Za-z0-9_.:,/=+@%*?-]/.test(c)) out += c;
    else out += `\\${c}`; // ( ) { } and the like: a literal in a case pattern
  }
  return out;
}

/**
 * Every module's load order as modprobe resolves it (resolveKmods: pre-softdeps, dependencies deepest
 * first, the module, post-softdeps), memoised: a chain is the first-seen merge of its parts' chains,
 * so a generic image's ~500 modules cost one walk of the graph, not one resolution each.
 */
export function loadOrders(index: KmodIndex): (name: string) => KmodEntry[] {
  const soft = new Map<string, { pre: string[]; post: string[] }>();
  for (const s of index.softdeps) {
    const had = soft.get(s.module) ?? { pre: [], post: [] };
    soft.set(s.module, { pre: [...had.pre, ...s.pre], post: [...had.post, ...s.post] });
  }
  const targets = new Map<string, KmodEntry[]>();
  const target = (t: string): KmodEntry[] => {
    if (!targets.has(t)) targets.set(t, lookupKmod(index, t).modules);
    return targets.get(t) as KmodEntry[];
  };
  const memo = new Map<string, KmodEntry[]>();
  const walking = new Set<string>();
  const chain = (e: KmodEntry): KmodEntry[] => {
    const known = memo.get(e.name);
    if (known) return known;
    if (walking.has(e.name)) return []; // a softdep cycle: modprobe's seen set stops it the same way
    walking.add(e.name);
    const parts: KmodEntry[] = [];
    const sd = soft.get(e.name);
    for (const t of sd?.pre ?? []) for (const m of target(t)) parts.push(...chain(m));
    for (const d of [...e.deps].reverse()) {
      const dep = index.modules.get(modnameFromPath(d));
      if (dep) parts.push(...chain(dep));
    }
    parts.push(e);
    for (const t of sd?.post ?? []) for (const m of target(t)) parts.push(...chain(m));
    walking.delete(e.name);
    const out = [...new Map(parts.map((m) => [m.name, m])).values()];
    memo.set(e.name, out);
    return out;
  };
  return (name) => {
    const e = index.modules.get(name);
    return e ? chain(e) : [];
  };
}

/** Module → its cpu: alias patterns as case patterns (modules with one that cannot be written are left out). */
function cpuPatterns(index: KmodIndex, names: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, (string | undefined)[]>();
  for (const a of index.aliases) {
    if (!names.has(a.module) || !a.pattern.startsWith('cpu:')) continue;
    out.set(a.module, [...(out.get(a.module) ?? []), casePattern(normalizeAlias(a.pattern))]);
  }
  return new Map([...out].filter((e): e is [string, string[]] => e[1].every((p) => p !== undefined)));
}

export interface BootTable {
  /** path under BOOT_TABLE_DIR → text */
  files: Map<string, string>;
  /** alias patterns left out (not expressible as a case pattern); modprobe still knows them */
  skipped: string[];
}

/**
 * `sizes` (module name → bytes as loaded) adds each module's load-chain weight in KiB to its
 * `kmod_found` calls: /init, waiting for one device, loads the lightest wanted driver first and
 * stops once the device is there (a virtio disk's 170 KiB before an IDE controller's 1.5 MiB).
 */
export function renderBootKmodTable(
  index: KmodIndex, subset: readonly KmodEntry[], mapPath: (p: string) => string, sizes?: ReadonlyMap<string, number>,
): BootTable {
  const names = new Set(subset.map((e) => e.name));
  const files = new Map<string, string>();
  const order = loadOrders(index);
  const weight = new Map<string, number>();
  for (const e of subset) {
    const chain = order(e.name).filter((m) => names.has(m.name));
    files.set(`dep/${e.name}`, `${chain.map((m) => `${m.name} ${mapPath(m.path)}`).join(' ')}\n`);
    if (sizes) weight.set(e.name, Math.ceil(chain.reduce((sum, m) => sum + (sizes.get(m.name) ?? 0), 0) / 1024));
  }
  // bucket → module → its patterns there, in modules.alias order
  const buckets = new Map<string, Map<string, string[]>>();
  const skipped: string[] = [];
  for (const a of index.aliases) {
    if (!names.has(a.module)) continue;
    const pattern = normalizeAlias(a.pattern);
    const quoted = casePattern(pattern);
    if (quoted === undefined) {
      skipped.push(a.pattern);
      continue;
    }
    const key = aliasBucket(pattern);
    const bucket = buckets.get(key) ?? new Map<string, string[]>();
    buckets.set(key, bucket);
    const patterns = bucket.get(a.module);
    if (patterns) patterns.push(quoted);
    else bucket.set(a.module, [quoted]);
  }
  // A module with cpu: aliases (crc32c-intel wants SSE4.2) loads only on a CPU they match, as udev's
  // cpu coldplug decides: a softdep naming it (ext4 -> crc32c) would try it on any CPU, and a failed
  // insmod costs ~0.1 s under TCG. Gated only when every such pattern can be written as a case pattern.
  for (const [m, pats] of cpuPatterns(index, names)) {
    files.set(`cpu/${m}`, `kmod_cpu_case() {\n\tcase $KMOD_CPU in ${pats.join('|')}) return 0 ;; esac\n\treturn 1\n}\n`);
  }
  for (const [key, modules] of buckets) {
    // one function per bucket: sourced once per boot pass, called for each device alias it may match
    const lines = [...modules].map(([m, pats]) =>
      `\tcase $KMOD_ALIAS in ${pats.join('|')}) kmod_found ${m}${sizes ? ` ${weight.get(m) ?? 0}` : ''} ;; esac\n`);
    files.set(`alias/${key}`, `kmod_bucket() {\n${lines.join('')}\t:\n}\n`);
  }
  return { files, skipped };
}
