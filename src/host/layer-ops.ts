// SPDX-License-Identifier: GPL-2.0-or-later
// Layer operations on the booted system's root device (SPEC §3). Files are replaced atomically
// (temp name, fsync, rename, fsync the directory); the journal (src/layers/journal.ts) is written
// before anything else and each step is appended to it only once durable.
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkEntries, type Entry } from '../layers/entries.ts';
import { type Journal, JOURNAL, LAST, NEXT_CONF, parseJournal, pendingSteps, renderJournal } from '../layers/journal.ts';
import { planMerge } from '../layers/merge.ts';
import { type BootState, parseConf, parseState } from '../layers/stack.ts';
import { UserError } from '../log.ts';
import { testHook } from './layer-testhooks.ts';
import { dirSource, readEntries, type TarSource, tarToSquashfs, toolStream, writePlan } from './layer-tar.ts';

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

/** A squashfs (sqfs2tar) or erofs layer file, or a directory (an upper), as a tar source. */
export function layerSource(path: string): TarSource {
  if (statSync(path).isDirectory()) return dirSource(path);
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  readSync(fd, head, 0, 4, 0);
  closeSync(fd);
  if (head.toString('latin1') === 'hsqs') return { label: path, open: () => toolStream(['sqfs2tar', path]) };
  throw new UserError(`${path}: only squashfs layers can be merged (erofs: rebuild it with layer build --from DIR)`);
}

/** Our own layers and uppers: device nodes and any symlink are what the system already had. */
const TRUSTED = { allowDevices: true, maxBytes: Number.MAX_SAFE_INTEGER, trustSymlinks: true };

/**
 * Runs a merge journal's pending steps: `build` writes NAME.sqsh from `sources` (top first, the
 * whiteout-preserving merge), `conf` replaces ruckusrd.conf with the planned one. `paths` maps
 * each source name to its file or directory. onStep is called after each durable step: by default
 * a `mkruckus: layer-op: STEP` line on stderr (the boot test kills QEMU there); unit tests cut the
 * power there by throwing.
 */
/**
 * A step's console line. MKRUCKUS_TEST_FREEZE_AT=MARKER freezes the process at MARKER, so a boot
 * test's power cut (QEMU killed on the line) lands at exactly that point, not a few steps later.
 */
function printStep(marker: string): void {
  process.stderr.write(`mkruckus: layer-op: ${marker}\n`);
  if (testHook('MKRUCKUS_TEST_FREEZE_AT') === marker) for (;;) Bun.sleepSync(60_000);
}

export async function runMerge(top: string, j: Journal, paths: string[], onStep: (marker: string) => void = printStep): Promise<void> {
  if (pendingSteps(j).includes('build')) {
    const sources = paths.map(layerSource);
    const entries: (Entry | null)[][] = [];
    for (const s of sources) {
      const e = await readEntries(s);
      checkEntries(e, TRUSTED);
      entries.push(e);
    }
    const plan = planMerge(entries, { bottom: j.after.length === 1 });
    const out = layerFile(top, j.layerdir, j.name);
    const tmp = join(dirname(out), `.${j.name}.sqsh.tmp`);
    rmSync(tmp, { force: true });
    await tarToSquashfs(writePlan(plan, sources, (e) => e), tmp);
    syncPath(tmp);
    onStep(`${j.op}-build-written`);
    renameSync(tmp, out);
    syncPath(dirname(out));
    record(top, j, 'build', onStep);
  }
  if (pendingSteps(j).includes('conf')) {
    const next = readText(join(top, NEXT_CONF));
    if (next === undefined) throw new UserError(`${join(top, NEXT_CONF)} is missing; the operation cannot finish`);
    parseConf(next);
    await writeConfAtomic(join(top, 'ruckusrd.conf'), next);
    record(top, j, 'conf', onStep);
  }
  close(top, 'done');
  onStep(`${j.op}-finished`);
}
