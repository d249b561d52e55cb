// SPDX-License-Identifier: GPL-2.0-or-later
// The build, as a list of named steps. Reading this file tells you the whole pipeline.
import { writeNewc } from './archive/cpio.ts';
import { compress } from './archive/compress.ts';
import { moduleRegistry, readAsset } from './assets.ts';
import { selectKernel } from './core/kernel.ts';
import type { ModuleManifest, PlanContext } from './core/module.ts';
import { resolveModules } from './core/modules.ts';
import { renderParamsAllowlist } from './core/params.ts';
import { buildPlan, type OwnedItem, type PlanEntry } from './core/plan.ts';
import { renderBuildConf, renderModulesLoad } from './core/render.ts';
import type { BuildRequest } from './core/request.ts';
import { validateManifest } from './core/validate.ts';
import { BaseFs } from './host/base.ts';
import { listInstalledKernels, runningKernel } from './host/kernels.ts';
import { planKernelModules } from './host/kmod.ts';
import { collectModuleItems } from './host/module-items.ts';
import { checkOutputAbsent, writeAtomic } from './host/output.ts';
import { readPlanEntries } from './host/pack.ts';
import { listBusyboxApplets } from './host/tools.ts';
import { readEarlyMicrocode } from './host/ucode.ts';
import { step, warn } from './log.ts';
import { VERSION } from './version.ts';

export interface BuildResult {
  kernelVersion: string;
  modules: string[];
  plan: PlanEntry[];
  kernelModules: string[];
  /** bytes of each segment written (early microcode, main archive) */
  sizes: { ucode: number; cpio: number; compressed: number };
}

export async function build(req: BuildRequest): Promise<BuildResult> {
  if (!req.dryRun) checkOutputAbsent(req.out, req.force);
  const kernelVersion = await step('select kernel', () =>
    selectKernel(listInstalledKernels(req.base), req.kernel, runningKernel(), req.base),
  );
  const modules = await step('resolve modules', () => resolveModules(moduleRegistry(), req.modules));
  await step('validate modules', () => modules.forEach((m) => validateManifest(m, (p) => readAsset(p) !== undefined)));
  const base = new BaseFs(req.base);
  const ctx: PlanContext = {
    kernelVersion,
    base: req.base,
    modules: modules.map((m) => m.name),
    busyboxApplets: () => busyboxApplets(base),
  };
  const moduleItems = await step('collect module items', () => collectAll(modules, base, ctx));
  const kmods = await step('resolve kernel modules', () =>
    planKernelModules(req.base, kernelVersion, modules.flatMap((m) => [...(m.kernelModules ?? []), ...(m.bootKernelModules ?? [])]), { firmware: true }),
  );
  for (const name of kmods.missing) warn(`kernel module ${name} not found for ${kernelVersion}`);
  const data = generatedItems(modules, kernelVersion, req);
  const plan = await step('plan', () =>
    buildPlan([...moduleItems, ...kmods.items.map((item) => ({ owner: 'kernel-modules', item })), ...data], overridesOf(modules)),
  );
  const result = { kernelVersion, modules: modules.map((m) => m.name), plan, kernelModules: kmods.loaded };
  if (req.dryRun) return { ...result, sizes: { ucode: 0, cpio: 0, compressed: 0 } };
  const entries = await step('read files', () => readPlanEntries(plan));
  const cpio = await step('write cpio', () => writeNewc(entries, { mtime: req.mtime }));
  const packed = await step(`compress (${req.compress})`, () => compress(cpio, req.compress));
  const ucode = await step('early microcode', () => readEarlyMicrocode(req.base, req.ucode, req.mtime));
  await step('write output', () => writeAtomic(req.out, [ucode, packed], 0o644));
  return { ...result, sizes: { ucode: ucode.length, cpio: cpio.length, compressed: packed.length } };
}

async function collectAll(modules: ModuleManifest[], base: BaseFs, ctx: PlanContext): Promise<OwnedItem[]> {
  const lists = await Promise.all(modules.map((m) => collectModuleItems(m, base, ctx)));
  return lists.flatMap((items, i) => items.map((item) => ({ owner: modules[i]!.name, item })));
}

function generatedItems(modules: ModuleManifest[], kernelVersion: string, req: BuildRequest): OwnedItem[] {
  const enc = new TextEncoder();
  const file = (path: string, text: string): OwnedItem => ({
    owner: 'mkruckus',
    item: { kind: 'bytes', path, mode: 0o644, data: enc.encode(text) },
  });
  const info = { version: VERSION, kernelVersion, modules: modules.map((m) => m.name), compress: req.compress };
  return [
    file('/etc/ruckusrd/params', renderParamsAllowlist()),
    file('/etc/ruckusrd/build.conf', renderBuildConf(info)),
    file('/etc/ruckusrd/modules-load', renderModulesLoad(modules.flatMap((m) => m.bootKernelModules ?? []))),
  ];
}

async function busyboxApplets(base: BaseFs): Promise<string[]> {
  const found = ['/usr/bin/busybox', '/bin/busybox', '/usr/sbin/busybox', '/sbin/busybox']
    .map((p) => base.resolve(p))
    .find((r) => r !== null);
  return found ? listBusyboxApplets(base.hostPath(found.path)) : [];
}

function overridesOf(modules: ModuleManifest[]): Map<string, Set<string>> {
  return new Map(modules.map((m) => [m.name, new Set(m.overrides ?? [])]));
}
