// SPDX-License-Identifier: GPL-2.0-or-later
// Merging OverlayFS layers by walking their entries (never by squashing a mounted overlay view,
// which loses the whiteouts): the result, used as one layer, shows exactly what the merged layers
// showed together, over any layers below them. Pure: headers in, an emission plan out.
import { dirEntry, type Entry, isOpaque, isWhiteout, OPAQUE_XATTR } from './entries.ts';

/** What to write for one source entry: the entry as it goes out (path, link target may change). */
export interface MergePlan {
  /** every directory of the result, parents first, written before anything else */
  dirs: Entry[];
  /** per layer (top first): source index → the non-directory entry to write, in source order */
  emits: Map<number, Entry>[];
}

export interface MergeOptions {
  /**
   * The merged layers are the bottom of their stack: nothing below needs hiding, so whiteouts and
   * opaque markers are dropped instead of kept.
   */
  bottom?: boolean;
}

const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

/** Within one layer a later member replaces an earlier one at the same path (tar semantics). */
function lastPerPath(entries: readonly (Entry | null)[]): Set<number> {
  const last = new Map<string, number>();
  entries.forEach((e, i) => e && last.set(e.path, i));
  return new Set(last.values());
}

/**
 * Decides, top layer first, which entries stay visible. A path is closed at layer k when layer k
 * holds a non-directory, a whiteout or an opaque directory there: layers below k no longer show
 * anything at or under it. A directory that some lower merged layer closes becomes opaque in the
 * result, so it still hides what lies below the merged layers.
 */
export function planMerge(layers: readonly (readonly (Entry | null)[])[], opts: MergeOptions = {}): MergePlan {
  const top = new Map<string, { entry: Entry; layer: number; index: number }>();
  const closedAt = new Map<string, number>();
  const hiddenByAncestor = (path: string, layer: number): boolean => {
    for (let a = parentOf(path); a !== ''; a = parentOf(a)) {
      const c = closedAt.get(a);
      if (c !== undefined && c < layer) return true;
    }
    return false;
  };
  layers.forEach((entries, k) => {
    const keep = lastPerPath(entries);
    entries.forEach((e, i) => {
      if (!e || !keep.has(i) || hiddenByAncestor(e.path, k)) return;
      const closes = e.type !== 'directory' || isOpaque(e);
      const seen = top.get(e.path);
      if (seen === undefined) top.set(e.path, { entry: e, layer: k, index: i });
      else if (seen.entry.type !== 'directory') return; // already closed by the upper non-directory
      if (closes && !closedAt.has(e.path)) closedAt.set(e.path, k);
    });
  });
  return emitPlan(layers, top, closedAt, opts);
}

function emitPlan(
  layers: readonly (readonly (Entry | null)[])[],
  top: Map<string, { entry: Entry; layer: number; index: number }>,
  closedAt: Map<string, number>,
  opts: MergeOptions,
): MergePlan {
  const dirs = new Map<string, Entry>();
  const emits: Map<number, Entry>[] = Array.from({ length: layers.length }, () => new Map());
  for (const [path, { entry, layer, index }] of top) {
    if (entry.type === 'directory') {
      const { [OPAQUE_XATTR]: _o, ...rest } = entry.xattrs;
      const opaque = !opts.bottom && closedAt.has(path);
      dirs.set(path, { ...entry, xattrs: opaque ? { ...rest, [OPAQUE_XATTR]: 'y' } : rest });
    } else if (!(opts.bottom && isWhiteout(entry))) {
      emits[layer]!.set(index, entry);
    }
  }
  relinkHardLinks(layers, emits);
  // Parents the archives never listed (tar allows that) get a plain directory; so do those of
  // whiteouts dropped at the bottom (the stack showed their directory, empty).
  for (const path of [...top.keys(), ...emits.flatMap((m) => [...m.values()].map((e) => e.path))]) {
    for (let a = parentOf(path); a !== '' && !dirs.has(a); a = parentOf(a)) dirs.set(a, dirEntry(a));
  }
  const sorted = [...dirs.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { dirs: sorted, emits };
}

/**
 * A visible hard link whose target is hidden (shadowed by an upper layer) still shows the target's
 * data: the target's body is written under the first such link's path, and the other links of the
 * same target point there.
 */
function relinkHardLinks(layers: readonly (readonly (Entry | null)[])[], emits: Map<number, Entry>[]): void {
  emits.forEach((layerEmits, k) => {
    const entries = layers[k]!;
    const promoted = new Map<string, string>();
    const links = [...layerEmits].filter(([, e]) => e.type === 'link').sort(([a], [b]) => a - b);
    for (const [i, e] of links) {
      const source = entries.findLastIndex((s, j) => j < i && s?.path === e.linkname);
      if (source < 0 || layerEmits.get(source)?.path === e.linkname) continue;
      const to = promoted.get(e.linkname);
      layerEmits.delete(i);
      if (to !== undefined) {
        layerEmits.set(i, { ...e, linkname: to });
      } else {
        promoted.set(e.linkname, e.path);
        layerEmits.set(source, { ...entries[source]!, path: e.path });
      }
    }
  });
}
