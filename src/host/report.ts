// SPDX-License-Identifier: GPL-2.0-or-later
// --report FILE: the build as data. The record, every file of both stages (path, owner, source in
// the base or on the host, size, sha256), each kernel module with the reason it was included, and
// the time of each step.
import type { CpioEntry } from '../archive/cpio.ts';
import type { PlanEntry } from '../core/plan.ts';
import { moduleReason, type BuildRecord } from '../core/record.ts';
import type { ModuleManifest } from '../core/module.ts';
import { stepTimes } from '../log.ts';
import { writeAtomic } from './output.ts';

const MODULE_RE = /^(?:\/usr)?\/lib\/modules\/[^/]+\/(.+\.ko)$/;

function fileRows(stage: 'first' | 'second', plan: readonly PlanEntry[], entries: readonly CpioEntry[]) {
  const data = new Map(entries.map((e) => [e.path, e.data]));
  return plan.map(({ owner, item }) => {
    const bytes = data.get(item.path);
    return {
      path: item.path,
      stage,
      kind: item.kind,
      owner,
      ...(item.kind === 'file' ? { source: item.source } : {}),
      ...(item.kind === 'symlink' ? { target: item.target } : {}),
      ...(bytes ? { size: bytes.length, sha256: new Bun.CryptoHasher('sha256').update(bytes).digest('hex') } : {}),
    };
  });
}

export async function writeReport(
  file: string,
  record: BuildRecord,
  modules: readonly ModuleManifest[],
  stages: { plan: readonly PlanEntry[]; entries: readonly CpioEntry[] }[],
  drivers: readonly string[],
): Promise<void> {
  const requests = [
    ...modules.flatMap((m) => [...(m.kernelModules ?? []), ...(m.bootKernelModules ?? [])].map((request) => ({ owner: `module ${m.name}`, request }))),
    ...drivers.map((request) => ({ owner: '--add-drivers', request })),
  ];
  const files = stages.flatMap((s, i) => fileRows(i === 0 ? 'first' : 'second', s.plan, s.entries));
  const kernelModules = files.flatMap((f) => {
    const m = MODULE_RE.exec(f.path);
    if (!m) return [];
    const path = m[1]!;
    const name = path.slice(path.lastIndexOf('/') + 1, -'.ko'.length).replace(/-/g, '_');
    return [{ name, path, stage: f.stage, reason: moduleReason({ name, path }, requests) }];
  });
  const report = { record, files, kernelModules, timings: stepTimes };
  await writeAtomic(file, [new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`)], 0o644);
}
