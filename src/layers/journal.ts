// SPDX-License-Identifier: GPL-2.0-or-later
// Layer operations as explicit state (STYLE; seed 003's inprogress_commit): a journal file on the
// root device names the operation and its completed steps. Every step is idempotent and complete
// or without effect; recovery is "read the journal, run the steps not done". The same line format
// is read by /init (modules/overlay/layerops.sh), which finishes commits, and by `layers`.
import { type Conf, layersOf, renderConf, withLayers } from './stack.ts';

export type Op = 'commit' | 'merge';

/**
 * commit (persistent upper, finished by /init): squash the upper (with `sources`, merged with the
 * top lower layers) → NAME.sqsh; conf names the new stack; clean the upper; sweep. merge and a
 * live commit (ram_layer, by mkruckus): build NAME.sqsh from the layers; conf; sweep. The upper
 * is only ever cleaned, and the replaced layer files removed (sweep), after `conf` is durable.
 */
export const STEPS: Record<Op, readonly string[]> = {
  commit: ['squash', 'conf', 'clean', 'sweep'],
  merge: ['build', 'conf', 'sweep'],
};

export type LayerFormat = 'squashfs' | 'erofs';

export interface Journal {
  op: Op;
  name: string;
  /** sqsh_layerdir on the root device ('' for its top) */
  layerdir: string;
  /** the stack before, top first */
  before: string[];
  /** the stack after, top first */
  after: string[];
  /** the layers merged into `name` (merge, or a live commit with its upper), top first */
  sources: string[];
  done: string[];
  result?: string;
  /** the format of the layer a merge writes (default squashfs) */
  format?: LayerFormat;
  /** a live commit merged the persistent upper/upper (a read-only layer under ram_layer): sweep moves it aside */
  diskUpper?: boolean;
}

export const JOURNAL = 'ruckusrd.journal';
export const NEXT_CONF = 'ruckusrd.conf.next';
export const LAST = 'ruckusrd.last';

export function renderJournal(j: Journal): string {
  const lines = [`op=${j.op}`, `name=${j.name}`, `layerdir=${j.layerdir}`, `before=${j.before.join(':')}`, `after=${j.after.join(':')}`];
  if (j.sources.length) lines.push(`sources=${j.sources.join(':')}`);
  if (j.format) lines.push(`format=${j.format}`);
  if (j.diskUpper) lines.push('disk_upper=merged');
  for (const d of j.done) lines.push(`done=${d}`);
  if (j.result !== undefined) lines.push(`result=${j.result}`);
  return lines.join('\n') + '\n';
}

/** Reads a journal; a torn last line (a power cut while appending) is ignored. */
export function parseJournal(text: string): Journal | undefined {
  const j: Journal = { op: 'commit', name: '', layerdir: '', before: [], after: [], sources: [], done: [] };
  let op = '';
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const [k, v] = [line.slice(0, eq), line.slice(eq + 1)];
    const list = v.split(':').filter(Boolean);
    if (k === 'op') op = v;
    else if (k === 'name') j.name = v;
    else if (k === 'layerdir') j.layerdir = v;
    else if (k === 'before') j.before = list;
    else if (k === 'after') j.after = list;
    else if (k === 'sources') j.sources = list;
    else if (k === 'done' && (STEPS[op as Op] ?? []).includes(v)) j.done.push(v);
    else if (k === 'result') j.result = v;
    else if (k === 'format' && (v === 'squashfs' || v === 'erofs')) j.format = v;
    else if (k === 'disk_upper' && v === 'merged') j.diskUpper = true;
  }
  if (op !== 'commit' && op !== 'merge') return undefined;
  j.op = op;
  return j.name ? j : undefined;
}

export const pendingSteps = (j: Journal): string[] => STEPS[j.op].filter((s) => !j.done.includes(s));

/** The stack the root device boots now: `after` once the conf step is durable, `before` until then. */
export const bootingStack = (j: Journal): string[] => (j.done.includes('conf') ? j.after : j.before);

export interface Planned {
  journal: Journal;
  nextConf: string;
}

/** sqsh-commit NAME [--merge=N]: NAME on top of the stack, replacing the top N lower layers. */
export function planCommit(conf: Conf, name: string, mergeN: number, layerdir: string, live: boolean): Planned {
  const before = layersOf(conf);
  if (before.includes(name) && !before.slice(0, mergeN).includes(name)) throw new Error(`${name} is already a layer of the stack`);
  if (mergeN > before.length) throw new Error(`--merge=${mergeN}: the stack has only ${before.length} layers`);
  const after = [name, ...before.slice(mergeN)];
  const journal: Journal = {
    op: live ? 'merge' : 'commit', name, layerdir, before, after,
    sources: live || mergeN > 0 ? ['upper', ...before.slice(0, mergeN)] : [], done: [],
  };
  return { journal, nextConf: renderConf(withLayers(conf, after)) };
}

/** sqsh-merge N NAME: the top N lower layers become NAME. */
export function planLayerMerge(conf: Conf, n: number, name: string, layerdir: string): Planned {
  const before = layersOf(conf);
  if (n < 2) throw new Error('merging needs at least 2 layers');
  if (n > before.length) throw new Error(`the stack has only ${before.length} layers: ${before.join(':') || '(none)'}`);
  if (before.slice(n).includes(name)) throw new Error(`${name} is a layer below the merged ones`);
  const after = [name, ...before.slice(n)];
  const journal: Journal = { op: 'merge', name, layerdir, before, after, sources: before.slice(0, n), done: [] };
  return { journal, nextConf: renderConf(withLayers(conf, after)) };
}

/** One line for `layers` and the commands: what a journal says happened. */
export function describeJournal(j: Journal, last: boolean): string {
  const what = `${j.op} ${j.name} (${j.before.join(':') || '-'} → ${j.after.join(':')})`;
  if (last) return `last operation: ${what}: ${j.result ?? 'unknown'}`;
  const pending = pendingSteps(j);
  return `pending operation: ${what}: done ${j.done.join(', ') || 'nothing'}; to do ${pending.join(', ')}; boots ${bootingStack(j).join(':')}`;
}
