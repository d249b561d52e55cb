// SPDX-License-Identifier: GPL-2.0-or-later
// `inspect --diff OLD NEW`: what changed between two images, as lines a person reads. Entries are
// compared by path (type, mode, size, content hash, link target), then the build records field by field.
import { IMAGE_MODULE_PATH } from './kmod.ts';
import type { BuildRecord } from './record.ts';

export interface DiffEntry {
  path: string;
  type: string;
  mode: number;
  size: number;
  target?: string;
  sha256?: string;
}

function describe(e: DiffEntry): string {
  return e.type === 'symlink' ? `-> ${e.target}` : `${e.type} ${e.mode.toString(8).padStart(4, '0')} ${e.size} bytes`;
}

function changes(a: DiffEntry, b: DiffEntry): string[] {
  const out: string[] = [];
  if (a.type !== b.type) out.push(`type ${a.type} -> ${b.type}`);
  if (a.mode !== b.mode) out.push(`mode ${a.mode.toString(8)} -> ${b.mode.toString(8)}`);
  if (a.target !== b.target) out.push(`target ${a.target} -> ${b.target}`);
  if (a.size !== b.size) out.push(`size ${a.size} -> ${b.size}`);
  else if (a.sha256 !== b.sha256) out.push('content');
  return out;
}

function recordLines(a: BuildRecord | undefined, b: BuildRecord | undefined): string[] {
  if (!a || !b) return a === b ? [] : [`build record: ${a ? 'present' : 'none'} -> ${b ? 'present' : 'none'}`];
  const flat = (r: BuildRecord): Record<string, string> => ({
    version: r.version, kernel: r.kernel, modules: r.modules.join(' '),
    ...Object.fromEntries(Object.entries(r.options).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : String(v)])),
  });
  const [fa, fb] = [flat(a), flat(b)];
  return Object.keys({ ...fa, ...fb }).filter((k) => fa[k] !== fb[k]).map((k) => `${k}: ${fa[k] ?? '-'} -> ${fb[k] ?? '-'}`);
}

/** Lines: record changes, then kernel modules added/removed, then `+ path`, `- path`, `~ path: what`. */
export function diffImages(
  old: { entries: readonly DiffEntry[]; record?: BuildRecord },
  now: { entries: readonly DiffEntry[]; record?: BuildRecord },
): string[] {
  const a = new Map(old.entries.map((e) => [e.path, e]));
  const b = new Map(now.entries.map((e) => [e.path, e]));
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const lines = recordLines(old.record, now.record);
  const mods = (m: Map<string, DiffEntry>) => new Set([...m.keys()].filter((p) => IMAGE_MODULE_PATH.test(p)).map((p) => p.slice(p.lastIndexOf('/') + 1)));
  const [ma, mb] = [mods(a), mods(b)];
  const added = [...mb].filter((m) => !ma.has(m)).sort();
  const removed = [...ma].filter((m) => !mb.has(m)).sort();
  if (added.length) lines.push(`kernel modules added (${added.length}): ${added.join(' ')}`);
  if (removed.length) lines.push(`kernel modules removed (${removed.length}): ${removed.join(' ')}`);
  for (const p of paths) {
    const [x, y] = [a.get(p), b.get(p)];
    if (!x && y) lines.push(`+ ${p} (${describe(y)})`);
    else if (x && !y) lines.push(`- ${p} (${describe(x)})`);
    else if (x && y) {
      const c = changes(x, y);
      if (c.length) lines.push(`~ ${p}: ${c.join(', ')}`);
    }
  }
  return lines;
}
