// SPDX-License-Identifier: GPL-2.0-or-later
// Why each kernel module is in an image: the request that reached it first (a build module's list,
// --add-drivers, a device --hostonly found) and, for the rest, the module that pulled it in
// (modules.dep, modules.softdep). Walked in resolveKmods' order over the image's own index, so the
// first reason found is the one that actually brought the module. Pure: data in, data out.
import { lookupKmod, modnameFromPath, normalizeModname, type KmodEntry, type KmodIndex } from './kmod.ts';

export interface KmodRequest {
  request: string;
  /** who asked, in words: `build module crypt`, `--add-drivers`, `default set: storage (build module kmod)` */
  owner: string;
  /** for a request that is a device's modalias: the device (a sysfs path) */
  device?: string;
}

/** How a request names what it matched: itself, a directory, or an alias (of a device). */
function howMatched(index: KmodIndex, r: KmodRequest): string {
  if (r.request.endsWith('/')) return `${r.owner}: under ${r.request}`;
  if (index.modules.has(normalizeModname(r.request))) return r.owner;
  if (r.device !== undefined) return `${r.owner}: alias match for device ${r.device} (${r.request})`;
  return `${r.owner}: alias match for ${r.request}`;
}

/** Module name → reason, for every module the requests reach in the index. */
export function kmodReasons(index: KmodIndex, requests: readonly KmodRequest[]): Map<string, string> {
  const reasons = new Map<string, string>();
  const softdeps = new Map<string, { pre: string[]; post: string[] }[]>();
  for (const s of index.softdeps) softdeps.set(s.module, [...(softdeps.get(s.module) ?? []), s]);

  const visitTarget = (target: string, why: string): void => {
    for (const e of lookupKmod(index, target).modules) visit(e, why);
  };
  const visit = (entry: KmodEntry, why: string): void => {
    if (reasons.has(entry.name)) return;
    reasons.set(entry.name, why);
    const soft = softdeps.get(entry.name) ?? [];
    for (const t of soft.flatMap((s) => s.pre)) visitTarget(t, `soft dependency of ${entry.name}`);
    for (const path of [...entry.deps].reverse()) {
      const dep = index.modules.get(modnameFromPath(path));
      if (dep) visit(dep, `dependency of ${entry.name}`);
    }
    for (const t of soft.flatMap((s) => s.post)) visitTarget(t, `soft dependency of ${entry.name}`);
  };
  for (const r of requests) {
    const why = howMatched(index, r);
    for (const e of lookupKmod(index, r.request).modules) visit(e, why);
  }
  return reasons;
}
