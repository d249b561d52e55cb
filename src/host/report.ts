// SPDX-License-Identifier: GPL-2.0-or-later
// The build as data: the record, every file of both stages (path, owner, source in the base or on
// the host, size, sha256) and each kernel module with the reason it was included. It is embedded
// in the image (REPORT_PATH, shown by inspect) without the timings, so that two builds of the same
// inputs stay byte-identical; --report FILE writes it with the time of each step.
import type { CpioEntry } from '../archive/cpio.ts';
import { IMAGE_MODULE_PATH, parseKmodIndex } from '../core/kmod.ts';
import { kmodReasons, type KmodRequest } from '../core/kmod-reasons.ts';
import type { PlanEntry } from '../core/plan.ts';
import type { BuildRecord } from '../core/record.ts';
import { kernelModuleRequests, type ModuleManifest } from '../core/module.ts';
import { stepTimes } from '../log.ts';
import { COMMON_FILESYSTEMS, COMMON_STORAGE, FILESYSTEMS, STORAGE_DRIVERS } from '../../modules/kmod/drivers.ts';
import type { HostFacts } from './hostonly.ts';
import { sha256Hex } from './digest.ts';
import { writeAtomic } from './output.ts';

export const REPORT_PATH = '/etc/ruckusrd/report.json';

export interface Stage {
  plan: readonly PlanEntry[];
  entries: readonly CpioEntry[];
}

export type BuildReport = ReturnType<typeof makeReport>;

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
      ...(bytes ? { size: bytes.length, sha256: sha256Hex(bytes) } : {}),
    };
  });
}

/** kmod's generic lists, named by what they are for. */
function kmodOwner(m: ModuleManifest, request: string): string {
  if (m.name !== 'kmod') return `build module ${m.name}`;
  if (COMMON_STORAGE.includes(request) || STORAGE_DRIVERS.includes(request)) return 'default set: storage (build module kmod)';
  if (COMMON_FILESYSTEMS.includes(request) || FILESYSTEMS.includes(request)) return 'default set: filesystems (build module kmod)';
  return 'build module kmod';
}

/** Every kernel module request of the build with who made it, in the order the build made them. */
export function kmodRequests(modules: readonly ModuleManifest[], drivers: readonly string[], host: HostFacts | undefined): KmodRequest[] {
  // --hostonly: the detected drivers replace kmod's generic set (as build.ts planKmods does).
  const generic = (m: ModuleManifest) => {
    const { hot, cold } = kernelModuleRequests(m, host !== undefined);
    return [...hot, ...cold];
  };
  const hostRequest = (request: string): KmodRequest => {
    const device = host?.devices.find((d) => d.modalias === request || d.driver === request)?.sysfs;
    if (device !== undefined) return { request, owner: 'hostonly', device };
    if (request.startsWith('fs-')) return { request, owner: `hostonly: root filesystem ${request.slice(3)}` };
    return { request, owner: 'hostonly: loaded on this machine' };
  };
  return [
    ...modules.flatMap((m) => generic(m).map((request) => ({ request, owner: kmodOwner(m, request) }))),
    ...drivers.map((request) => ({ request, owner: '--add-drivers' })),
    ...(host?.requests ?? []).map(hostRequest),
  ];
}

/** The reasons for one stage's modules, walked over that stage's own index. */
function stageReasons(entries: readonly CpioEntry[], requests: readonly KmodRequest[]): Map<string, string> {
  const text = (name: string) => {
    const e = entries.find((x) => MODULE_INDEX_RE.test(x.path) && x.path.endsWith(`/${name}`));
    return e?.data ? new TextDecoder().decode(e.data) : undefined;
  };
  const dep = text('modules.dep');
  if (dep === undefined) return new Map();
  return kmodReasons(parseKmodIndex({ dep, alias: text('modules.alias'), softdep: text('modules.softdep') }), requests);
}
const MODULE_INDEX_RE = /^(?:\/usr)?\/lib\/modules\/[^/]+\/modules\.[a-z]+$/;

export function makeReport(record: BuildRecord, modules: readonly ModuleManifest[], stages: readonly Stage[], drivers: readonly string[], host?: HostFacts) {
  const requests = kmodRequests(modules, drivers, host);
  const files = stages.flatMap((s, i) => fileRows(i === 0 ? 'first' : 'second', s.plan, s.entries));
  const reasons = stages.map((s) => stageReasons(s.entries, requests));
  const kernelModules = files.flatMap((f) => {
    const m = IMAGE_MODULE_PATH.exec(f.path);
    if (!m) return [];
    const path = m[1]!;
    const name = path.slice(path.lastIndexOf('/') + 1, -'.ko'.length).replace(/-/g, '_');
    const reason = reasons[f.stage === 'first' ? 0 : 1]?.get(name) ?? 'not reached from any request (a module of --include?)';
    return [{ name, path, stage: f.stage, reason }];
  });
  return { record, files, kernelModules };
}

/** The report as an image file (no timings: they differ from build to build). */
export function reportEntry(report: BuildReport): CpioEntry {
  return { path: REPORT_PATH, type: 'file', mode: 0o644, data: new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`) };
}

export async function writeReport(file: string, report: BuildReport): Promise<void> {
  const full = { ...report, timings: stepTimes };
  await writeAtomic(file, [new TextEncoder().encode(`${JSON.stringify(full, null, 2)}\n`)], 0o644);
}
