// SPDX-License-Identifier: GPL-2.0-or-later
// The build, as a list of named steps. Reading this file tells you the whole pipeline.
import { newcSegments, type CpioEntry } from './archive/cpio.ts';
import { COLD_ARCHIVE_PATH, withColdArchive } from './core/cold.ts';
import { cachedColdArchive } from './host/kmod-cache.ts';
import { compressSegments, SEGMENT_SIZE } from './archive/compress.ts';
import { cachedCompressor, cachedSegmentFinder } from './host/segment-cache.ts';
import { moduleRegistry } from './assets.ts';
import { selectKernel } from './core/kernel.ts';
import { kernelModuleRequests, type ModuleManifest, type PlanContext } from './core/module.ts';
import { resolveModules, wantedModules } from './core/modules.ts';
import { renderParamsAllowlist } from './core/params.ts';
import { buildPlan, type OwnedItem, type PlanEntry } from './core/plan.ts';
import { makeRecord, RECORD_PATH, renderRecord } from './core/record.ts';
import { renderBuildConf, renderModulesLoad } from './core/render.ts';
import type { BuildRequest } from './core/request.ts';
import { contentName, EMBEDDED_STAGE2_PATH, overlayDirs, renderStage2Conf, secondStageEntries, type Stage2Verity, withVerityTree } from './core/stages.ts';
import { validateManifest } from './core/validate.ts';
import { BaseFs } from './host/base.ts';
import { hasBinary } from './host/binaries.ts';
import { readBusyboxApplets } from './host/busybox.ts';
import { readExternalModules, readModuleAsset } from './host/external-modules.ts';
import { listInstalledKernels, runningKernel } from './host/kernels.ts';
import { detectHost, HOSTONLY_PATH, renderHostFacts, type HostFacts } from './host/hostonly.ts';
import { planKernelModules, readKmodIndex } from './host/kmod.ts';
import { isCompressedImageModule } from './core/kmod.ts';
import { planAdditions } from './host/additions.ts';
import { collectModuleItems } from './host/module-items.ts';
import { checkOutputAbsent, writeAtomic } from './host/output.ts';
import { readPlanEntries } from './host/pack.ts';
import { makeReport, reportEntry, writeReport } from './host/report.ts';
import { readRescueItems } from './host/rescue.ts';
import { verityItems } from './core/verity.ts';
import { checkBootable } from './host/verify.ts';
import { readBootLocation, runMakeSecondStage } from './host/stage2.ts';
import { checkSecondStagesAbsent, startPair } from './host/stage2-pair.ts';
import { checkTools, requiredTools } from './host/tools.ts';
import { readEarlyMicrocode } from './host/ucode.ts';
import { checkUkiFiles, describeUki, wrapInUki } from './host/uki.ts';
import { step, UserError, warn } from './log.ts';
import { VERSION } from './version.ts';

export interface BuildResult {
  kernelVersion: string;
  modules: string[];
  /** what the (first-stage) cpio holds */
  plan: PlanEntry[];
  /** what the second stage holds (empty without one) */
  secondStage: PlanEntry[];
  kernelModules: string[];
  /** bytes of each part written */
  sizes: { ucode: number; cpio: number; compressed: number; stage2: number };
  /** --dry-run --uki: what the UKI would hold, in words */
  uki?: string[];
}

interface Resolved {
  kernelVersion: string;
  modules: ModuleManifest[];
  /** the modules' items, then the user's additions (owners `include`, `install`: the full image only) */
  items: OwnedItem[];
  /** kernel modules the user (--add-drivers) asks for on top of the modules' */
  drivers: string[];
  /** --hostonly: what was detected; its requests replace kmod's generic driver set */
  host?: HostFacts;
}

const ADDITION_OWNERS = ['include', 'install', 'hostonly'];

export async function build(req: BuildRequest): Promise<BuildResult> {
  const twoStage = req.secondStage !== 'none';
  if (!req.dryRun) checkOutputAbsent(req.out, req.force);
  if (!req.dryRun) checkTools(requiredTools(req));
  if (!req.dryRun && req.uki) checkUkiFiles(req.uki);
  if (!req.dryRun && twoStage && req.placement === 'boot') checkSecondStagesAbsent(req.secondStageOut, req.force);
  const r = await resolveBuild(req);
  const kmods = await step('resolve kernel modules', () => planKmods(req, r, r.modules));
  const full = await step('plan', () => planOf(r, r.modules, kmods.items, r.kernelVersion, req));
  const result = { kernelVersion: r.kernelVersion, modules: r.modules.map((m) => m.name), kernelModules: kmods.loaded };
  let plan = full;
  let second: PlanEntry[] = [];
  let stage2: Uint8Array = new Uint8Array();
  if (twoStage) {
    const first = r.modules.filter((m) => m.firstStage);
    const firstKmods = await step('resolve first-stage kernel modules', () => planKmods(req, r, first));
    const firstPlan = planOf(r, first, firstKmods.items, r.kernelVersion, req);
    second = secondStageEntries(full, firstPlan);
    if (!req.dryRun) stage2 = await step(`make ${req.secondStage} second stage`, () =>
      runMakeSecondStage(req.secondStage as 'erofs' | 'squashfs', second, req.mtime, `${r.kernelVersion} ${req.mtime}`));
    // The /boot second stage carries its dm-verity hash tree after its data, where the first stage can open it.
    const verity = req.placement === 'boot' && !req.dryRun ? await step('dm-verity hash tree', () => bootVerity(req, r, firstKmods.missing, stage2)) : undefined;
    if (verity) stage2 = verity.bytes;
    plan = await step('plan first stage', async () =>
      buildPlan([...firstPlan, ...(await stage2Items(req, second, stage2, verity?.verity))]));
  }
  if (req.dryRun) {
    const uki = req.uki ? { uki: describeUki(req.base, r.kernelVersion, req.uki) } : {};
    return { ...result, plan, secondStage: second, sizes: { ucode: 0, cpio: 0, compressed: 0, stage2: 0 }, ...uki };
  }
  const read = await step('read files', () => readPlanEntries(plan));
  const secondEntries = twoStage ? await readPlanEntries(second) : [];
  // The report goes into the image (inspect shows it); --report FILE adds the timings.
  const record = makeRecord(req, VERSION, r.kernelVersion, r.modules.map((m) => m.name));
  const stages = [{ plan, entries: read }, ...(twoStage ? [{ plan: second, entries: secondEntries }] : [])];
  const report = await step('report', () => makeReport(record, r.modules, stages, r.drivers, r.host));
  const entries = [...read, reportEntry(report)];
  // The build fails here rather than write an image that cannot boot (mkruckus verify checks the same).
  await step('verify', () => checkBootable(entries, secondEntries));
  const ucode = await step('early microcode', () => readEarlyMicrocode(req.base, req.ucode, req.mtime));
  // An embedded second stage is compressed already: its own uncompressed segment, not compressed twice.
  const stored = (e: CpioEntry) => twoStage && req.placement === 'embedded' && e.path === EMBEDDED_STAGE2_PATH;
  // One cpio: rarely run binaries go into a gzip'd archive their stubs unpack (a second stage is
  // compressed already, and read only where used; what a host-only image has, that machine runs).
  const image = twoStage || req.hostonly ? entries : await step('cold archive', () =>
    withColdArchive(plan, entries, req.mtime, (archive) => cachedColdArchive(archive)));
  const storedTail = (e: CpioEntry) => isCompressedImageModule(e.path) || e.path === COLD_ARCHIVE_PATH;
  const cpio = await step('write cpio', () =>
    [...newcSegments(image, { mtime: req.mtime, segmentSize: SEGMENT_SIZE, stored, storedTail })]);
  const packed = await step(`compress (${req.compress})`, () => compressSegments(cpio, req.compress, ucode.length, cachedCompressor(req.compress), cachedSegmentFinder(req.compress)));
  // With --uki the image becomes the UKI's .initrd, and the UKI (signed and checked) is what is written.
  const out = req.uki ? await step('make UKI', () => wrapInUki(req.base, r.kernelVersion, req.uki!, [ucode, ...packed])) : [ucode, ...packed];
  // An image carrying a key (crypttab key files) is readable by root only, as initramfs-tools does.
  const secret = [...plan, ...second].some((e) => e.item.secret);
  const writeOut = () => step('write output', () => writeAtomic(req.out, out, secret ? 0o600 : 0o644));
  if (twoStage && req.placement === 'boot') await writeBootPair(req, stage2, writeOut);
  else await writeOut();
  if (req.report) await step('write report', () => writeReport(req.report!, report));
  const sum = (parts: { length: number }[]) => parts.reduce((n, p) => n + p.length, 0);
  const sizes = { ucode: ucode.length, cpio: sum(cpio), compressed: sum(packed), stage2: stage2.length };
  return { ...result, plan, secondStage: second, sizes };
}

/** A kernel module kept compressed (cold): compressing it again would gain nothing and cost build time. */

async function resolveBuild(req: BuildRequest): Promise<Resolved> {
  const kernelVersion = await step('select kernel', () =>
    selectKernel(listInstalledKernels(req.base), req.kernel, runningKernel(), req.base),
  );
  const base = new BaseFs(req.base);
  // --hostonly first: a root on LUKS, LVM or RAID brings its module (crypt, lvm, mdraid); --omit wins.
  const host = req.hostonly ? await step('detect host', () => detectHostFor(req, kernelVersion)) : undefined;
  const modules = await step('resolve modules', () => resolveSelection(req, base, host?.modules ?? []));
  await step('validate modules', () => modules.forEach((m) => validateManifest(m, (p) => readModuleAsset(p) !== undefined)));
  const ctx: PlanContext = {
    kernelVersion,
    base: req.base,
    modules: modules.map((m) => m.name),
    busyboxApplets: async () => readBusyboxApplets(base),
  };
  const items = await step('collect module items', () => collectAll(modules, base, ctx));
  const added = await step('collect additions', () => planAdditions(req.additions, base));
  const hostItems: OwnedItem[] = host ? [{ owner: 'hostonly', item: { kind: 'bytes', path: HOSTONLY_PATH, mode: 0o644, data: new TextEncoder().encode(renderHostFacts(host)) } }] : [];
  // The shell policy is the base module's data (first stage): /init reads it before anything else.
  const rescue = [...(await readRescueItems(req.rescueShell, base, req.base)), ...verityItems(req.layerVerity.policy, req.layerVerity.trust)]
    .map((item) => ({ owner: 'base', item }));
  return { kernelVersion, modules, items: [...items, ...added, ...rescue, ...hostItems], drivers: req.additions.drivers, host };
}

/** The selection, plus the modules it `wants` whose binaries the base has (storage-all → crypt, lvm, mdraid). */
function resolveSelection(req: BuildRequest, base: BaseFs, hostModules: string[]): ModuleManifest[] {
  const registry = moduleRegistry();
  // Modules shipped by packages (modules.d under --base), validated below like the built-in ones.
  for (const m of readExternalModules(base, new Set(registry.keys()))) registry.set(m.name, m);
  const omitted = new Set(req.modules.omit ?? []);
  const selection = { ...req.modules, add: [...(req.modules.add ?? []), ...hostModules.filter((m) => !omitted.has(m))] };
  const first = resolveModules(registry, selection);
  const usable = (m: ModuleManifest) => (m.binaries ?? []).every((b) => hasBinary(base, b));
  const extra = wantedModules(registry, first, req.modules, usable);
  return extra.length ? resolveModules(registry, { ...selection, add: [...selection.add, ...extra] }) : first;
}

async function planKmods(req: BuildRequest, r: Resolved, modules: ModuleManifest[]) {
  // --hostonly: the detected drivers replace kmod's generic set (other modules' requests stay).
  const lists = modules.map((m) => kernelModuleRequests(m, r.host !== undefined));
  const requests = lists.flatMap((l) => l.hot);
  if (modules === r.modules) requests.push(...r.drivers, ...(r.host?.requests ?? []));
  // A second stage is a compressed filesystem already: its modules are stored as they load.
  const cold = { requests: lists.flatMap((l) => l.cold), compress: req.secondStage === 'none' };
  const kmods = await planKernelModules(req.base, r.kernelVersion, requests, { firmware: true, cold });
  // A detected alias with no module is a built-in driver, and some kernels lack some modules: nothing to warn about.
  const expected = new Set([...(r.host?.requests ?? []), ...modules.flatMap((m) => m.kernelModulesNotInEveryKernel ?? [])]);
  for (const name of kmods.missing) if (!expected.has(name)) warn(`kernel module ${name} not found for ${r.kernelVersion}`);
  return kmods;
}

function planOf(r: Resolved, modules: ModuleManifest[], kmodItems: OwnedItem['item'][], kver: string, req: BuildRequest): PlanEntry[] {
  const names = new Set([...modules.map((m) => m.name), ...(modules === r.modules ? ADDITION_OWNERS : [])]);
  return buildPlan(
    [
      ...r.items.filter((i) => names.has(i.owner)),
      ...kmodItems.map((item) => ({ owner: 'kernel-modules', item })),
      ...generatedItems(modules, kver, req, r.modules),
    ],
    overridesOf(modules, r.items),
  );
}

/**
 * The /boot second stage first, under its content name; then OUT; then the old second stage goes.
 * Interrupted or failing anywhere, the image in place still finds the second stage it records.
 */
async function writeBootPair(req: BuildRequest, image: Uint8Array, writeOut: () => Promise<void>): Promise<void> {
  const file = contentName(req.secondStageOut, sha256Hex(image));
  const pair = await step('lock output directory', () => startPair(req.out, file));
  try {
    await step('write second stage', () => pair.writeSecondStage(image));
    await writeOut();
    await step('remove old second stage', () => pair.removeOld());
  } catch (err) {
    pair.abandon();
    throw err;
  } finally {
    pair.release();
  }
}

const sha256Hex = (bytes: Uint8Array): string => new Bun.CryptoHasher('sha256').update(bytes).digest('hex');

/**
 * dm-verity where the first stage has what opens it (the stage2-verity module: dmsetup, wanted by
 * storage-init where the base has it; the kernel's dm-verity); otherwise the sha256 of the whole
 * file, read at boot before anything of it is used, and a warning unless --omit asked for that.
 */
function bootVerity(req: BuildRequest, r: Resolved, missingKmods: readonly string[], image: Uint8Array): ReturnType<typeof withVerityTree> {
  const omitted = req.modules.omit?.includes('stage2-verity') ?? false;
  // storage-init wants stage2-verity: selected with it, it is missing only by --omit or for want of
  // dmsetup. Without storage-init (a --modules list without it) nothing at boot opens either kind.
  const opener = r.modules.some((m) => m.name === 'storage-init');
  const why = !r.modules.some((m) => m.name === 'stage2-verity')
    ? (omitted || !opener ? undefined : 'the base has no dmsetup')
    : missingKmods.includes('dm-verity') ? `kernel ${r.kernelVersion} has no dm-verity module` : '';
  if (why === '') return withVerityTree(image);
  if (why) warn(`${why}: the /boot second stage is checked at boot by a sha256 of all of it, not lazily by dm-verity`);
  return { bytes: image };
}

async function stage2Items(req: BuildRequest, second: PlanEntry[], image: Uint8Array, verity?: Stage2Verity): Promise<OwnedItem[]> {
  const sha256 = sha256Hex(image);
  const common = { type: req.secondStage as 'erofs' | 'squashfs', size: image.length, sha256, dirs: overlayDirs(second), ...(verity ? { verity } : {}) };
  // The boot placement's file is named by its content, on the host and in the recorded boot path alike.
  const file = contentName(req.secondStageOut, sha256);
  const at = async () => {
    const found = await readBootLocation(file, req.base, req.secondStageBoot);
    return req.secondStageBoot.path === undefined ? found : { ...found, path: contentName(found.path, sha256) };
  };
  const info =
    req.placement === 'embedded'
      ? { ...common, placement: 'embedded' as const, image: EMBEDDED_STAGE2_PATH }
      : { ...common, placement: 'boot' as const, ...(await at()) };
  if (info.placement === 'boot' && !info.dev) warn(`no filesystem UUID for ${file}: boot with stage2_dev=`);
  const conf: OwnedItem = {
    owner: 'mkruckus',
    item: { kind: 'bytes', path: '/etc/ruckusrd/stage2.conf', mode: 0o644, data: new TextEncoder().encode(renderStage2Conf(info)) },
  };
  if (req.placement !== 'embedded') return [conf];
  return [conf, { owner: 'mkruckus', item: { kind: 'bytes', path: EMBEDDED_STAGE2_PATH, mode: 0o644, data: image } }];
}

async function collectAll(modules: ModuleManifest[], base: BaseFs, ctx: PlanContext): Promise<OwnedItem[]> {
  const lists = await Promise.all(modules.map((m) => collectModuleItems(m, base, ctx)));
  return lists.flatMap((items, i) => items.map((item) => ({ owner: modules[i]!.name, item })));
}

/** `all`: every module of the build, for the record (the same in both stages of a two-stage image). */
function generatedItems(modules: ModuleManifest[], kernelVersion: string, req: BuildRequest, all: ModuleManifest[]): OwnedItem[] {
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
    file(RECORD_PATH, renderRecord(makeRecord(req, VERSION, kernelVersion, all.map((m) => m.name)))),
  ];
}

/** A module's declared overrides; a user's --include wins over any module's file at its paths. */
async function detectHostFor(req: BuildRequest, kver: string): Promise<HostFacts> {
  if (req.base !== '/') throw new UserError('--hostonly describes this machine: it needs --base /');
  const index = await readKmodIndex(req.base, kver);
  return detectHost((name) => index.modules.get(name.replace(/-/g, '_'))?.path);
}

function overridesOf(modules: ModuleManifest[], items: OwnedItem[]): Map<string, Set<string>> {
  const included = new Set(items.filter((i) => i.owner === 'include').map((i) => i.item.path));
  return new Map([...modules.map((m): [string, Set<string>] => [m.name, new Set(m.overrides ?? [])]), ['include', included]]);
}
