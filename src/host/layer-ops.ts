// SPDX-License-Identifier: GPL-2.0-or-later
// Layer operations on the booted system's root device (SPEC §3). Files are replaced atomically
// (temp name, fsync, rename, fsync the directory); the journal (src/layers/journal.ts) is written
// before anything else and each step is appended to it only once durable.
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkEntries, type Entry } from '../layers/entries.ts';
import { type Journal, JOURNAL, LAST, NEXT_CONF, parseJournal, pendingSteps, renderJournal } from '../layers/journal.ts';
import { planMerge } from '../layers/merge.ts';
import { type BootState, parseConf, parseState } from '../layers/stack.ts';
import { UserError } from '../log.ts';
import { testHook } from './layer-testhooks.ts';
import { tarToErofs } from './layer-build.ts';
import { openLayerSources } from './layer-sources.ts';
import { readEntries, tarToSquashfs, writePlan } from './layer-tar.ts';

/** Writes text to PATH through a temp file beside it: fsync, rename, fsync the directory. */
export async function writeConfAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.mkruckus-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    syncPath(tmp);
    renameSync(tmp, path);
    syncPath(dirname(path));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

export function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Where the running system keeps things (tests point these at temp dirs). */
export interface Sys {
  /** /run/ruckusrd */
  run: string;
  /** the root device's top: /mnt/root-true on a layered root, / on a traditional one */
  top: string;
  state: BootState;
}

export function readSys(run = testHook('RUCKUSRD_RUN') ?? '/run/ruckusrd'): Sys {
  let text = '';
  try {
    text = readFileSync(join(run, 'state'), 'utf8');
  } catch {
    throw new UserError(`${run}/state is missing: this system was not booted by a mkruckus initramfs`);
  }
  const state = parseState(text);
  const top = testHook('RUCKUSRD_TOP') ?? (state.mode === 'traditional' ? '/' : '/mnt/root-true');
  return { run, top, state };
}

export const readText = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
export const readJournalAt = (top: string, name = JOURNAL): Journal | undefined => {
  const t = readText(join(top, name));
  return t === undefined ? undefined : parseJournal(t);
};
export const layerFile = (top: string, layerdir: string, name: string): string => join(top, layerdir, `${name}.sqsh`);

/** Journal first (with the next conf beside it): from here on, a power cut is recoverable. */
export async function startJournal(top: string, j: Journal, nextConf: string): Promise<void> {
  await writeConfAtomic(join(top, NEXT_CONF), nextConf);
  await writeConfAtomic(join(top, JOURNAL), renderJournal(j));
}

function record(top: string, j: Journal, step: string, onStep: (m: string) => void): void {
  appendFileSync(join(top, JOURNAL), `done=${step}\n`);
  syncPath(join(top, JOURNAL));
  j.done.push(step);
  onStep(`${j.op}-${step}`);
}

function close(top: string, result: string): void {
  appendFileSync(join(top, JOURNAL), `result=${result}\n`);
  syncPath(join(top, JOURNAL));
  renameSync(join(top, JOURNAL), join(top, LAST));
  rmSync(join(top, NEXT_CONF), { force: true });
  syncPath(top);
}

/** Our own layers and uppers: device nodes and any symlink are what the system already had. */
const TRUSTED = { allowDevices: true, maxBytes: Number.MAX_SAFE_INTEGER, trustSymlinks: true };

/**
 * A step's console line. MKRUCKUS_TEST_FREEZE_AT=MARKER (test builds only) freezes the process at
 * MARKER, so a boot test's power cut (QEMU killed on the line) lands at exactly that point.
 */
function printStep(marker: string): void {
  process.stderr.write(`mkruckus: layer-op: ${marker}\n`);
  if (testHook('MKRUCKUS_TEST_FREEZE_AT') === marker) for (;;) Bun.sleepSync(60_000);
}

/**
 * Runs a merge journal's pending steps: `build` writes NAME.sqsh from `sources` (top first, the
 * whiteout-preserving merge; squashfs, or erofs when the journal says so), `conf` replaces
 * ruckusrd.conf with the planned one, `sweep` removes what the new stack no longer names. `paths`
 * maps each source name to its file or directory. onStep is called after each durable step: by
 * default a `mkruckus: layer-op: STEP` line on stderr (the boot test kills QEMU there); unit tests
 * cut the power there by throwing.
 */
export async function runMerge(top: string, j: Journal, paths: string[], onStep: (marker: string) => void = printStep): Promise<void> {
  if (pendingSteps(j).includes('build')) {
    await buildMerged(top, j, paths, onStep);
    record(top, j, 'build', onStep);
  }
  if (pendingSteps(j).includes('conf')) {
    const next = readText(join(top, NEXT_CONF));
    if (next === undefined) throw new UserError(`${join(top, NEXT_CONF)} is missing; the operation cannot finish`);
    parseConf(next);
    await writeConfAtomic(join(top, 'ruckusrd.conf'), next);
    record(top, j, 'conf', onStep);
  }
  if (pendingSteps(j).includes('sweep')) {
    sweep(top, j, onStep);
    record(top, j, 'sweep', onStep);
  }
  close(top, 'done');
  onStep(`${j.op}-finished`);
}

async function buildMerged(top: string, j: Journal, paths: string[], onStep: (marker: string) => void): Promise<void> {
  const opened = openLayerSources(paths);
  try {
    const entries: (Entry | null)[][] = [];
    for (const s of opened.sources) {
      const e = await readEntries(s);
      checkEntries(e, TRUSTED);
      entries.push(e);
    }
    const plan = planMerge(entries, { bottom: j.after.length === 1 });
    const out = layerFile(top, j.layerdir, j.name);
    const tmp = join(dirname(out), `.${j.name}.sqsh.tmp`);
    rmSync(tmp, { force: true });
    const stream = writePlan(plan, opened.sources, (e) => e);
    const tree = join(dirname(out), `.${j.name}.tree`);
    rmSync(tree, { recursive: true, force: true });
    try {
      if (j.format === 'erofs') await tarToErofs(stream, tmp, tree, 0);
      else await tarToSquashfs(stream, tmp);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
    syncPath(tmp);
    onStep(`${j.op}-build-written`);
    renameSync(tmp, out);
    syncPath(dirname(out));
  } finally {
    opened.release();
  }
}

/**
 * Once the new conf is durable: the replaced layer files go (with their hash trees; never one the
 * new stack names; a loop-mounted one stays readable until this boot ends), and a merged on-disk
 * upper is moved aside (it is a read-only layer of this boot; /init removes upper/.committed).
 */
function sweep(top: string, j: Journal, onStep: (marker: string) => void): void {
  for (const s of j.sources) {
    if (s === 'upper' || j.after.includes(s)) continue;
    rmSync(layerFile(top, j.layerdir, s), { force: true });
    rmSync(`${layerFile(top, j.layerdir, s)}.verity`, { force: true });
  }
  syncPath(join(top, j.layerdir));
  onStep(`${j.op}-sweep-removed`);
  const disk = join(top, 'upper/upper');
  if (j.diskUpper && existsSync(disk)) {
    rmSync(join(top, 'upper/.committed'), { recursive: true, force: true });
    renameSync(disk, join(top, 'upper/.committed'));
    syncPath(join(top, 'upper'));
  }
}
