// SPDX-License-Identifier: GPL-2.0-or-later
// OUT and its /boot second stage are replaced as a pair. The second stage is named by its content
// (core/stages.ts contentName), so writing it never touches the file the image in place records;
// it is written first, OUT second, and only then is the old second stage deleted: the one the old
// OUT records (read from its stage2.conf before anything is written) and leftovers of builds that
// died between the two writes. All of it under an flock of the directories, so two builds to one
// OUT take turns and none deletes a file the other has just written.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readImage, type ImageSegment } from '../archive/read.ts';
import { isSecondStageName } from '../core/stages.ts';
import { debug, UserError } from '../log.ts';
import { acquireLock, type Lock } from './lock.ts';
import { writeAtomic } from './output.ts';

const STAGE2_CONF = '/etc/ruckusrd/stage2.conf';

/** `key=value` lines of an image's stage2.conf (undefined: none, or not an image we can read). */
export function recordedStage2Conf(segments: readonly ImageSegment[]): Record<string, string> | undefined {
  const entry = segments.flatMap((s) => s.entries).findLast((e) => e.path === STAGE2_CONF && e.data !== undefined);
  if (!entry?.data) return undefined;
  const lines = new TextDecoder().decode(entry.data).split('\n').filter((l) => l.includes('='));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * Where the /boot second stage an image records is, on this machine: beside the image under the
 * file name of its recorded path (how a build writes it); then, for images of older builds, the
 * fixed `IMAGE.stage2` and the recorded path taken from the image's directory (a /boot filesystem).
 */
export function companionCandidates(image: string, conf: Record<string, string>): string[] {
  const dir = dirname(image);
  const recorded = conf.path ? [join(dir, basename(conf.path)), join(dir, conf.path)] : [];
  return [...new Set([recorded[0], `${image}.stage2`, recorded[1]].filter((p): p is string => p !== undefined))];
}

/** The /boot second stage the image at `image` records, if it is a readable two-stage image. */
async function recordedCompanion(image: string): Promise<string | undefined> {
  try {
    if (!statSync(image).isFile()) return undefined;
    const conf = recordedStage2Conf(await readImage(await Bun.file(image).bytes(), { data: true }));
    if (conf?.placement !== 'boot' || !conf.path) return undefined;
    return join(dirname(image), basename(conf.path));
  } catch {
    return undefined;
  }
}

/** flock on a directory (kept as long as the descriptor is open; gone with the process). */
async function lockDirectories(dirs: string[]): Promise<Lock[]> {
  const locks: Lock[] = [];
  // Sorted: two builds taking the same two directories never wait for each other crosswise.
  for (const dir of [...new Set(dirs.map((d) => resolve(d)))].sort()) locks.push(await acquireLock(dir));
  return locks;
}

export interface PairWriter {
  /** writes the second stage under its content name (a file of that name holds these bytes already) */
  writeSecondStage(bytes: Uint8Array): Promise<void>;
  /** OUT is in place: deletes the old second stage and leftovers, never the new one */
  removeOld(): void;
  /** OUT was not written: deletes the new second stage unless the image in place records it */
  abandon(): void;
  release(): void;
}

/** Locks the directories of `out` and `stage2` (the content-named path) and reads what the old OUT records. */
export async function startPair(out: string, stage2: string): Promise<PairWriter> {
  const locks = await lockDirectories([dirname(out), dirname(stage2)]);
  const old = await recordedCompanion(out);
  const oldOut = inode(out);
  let written = false;
  const same = (a: string | undefined, b: string) => a !== undefined && resolve(a) === resolve(b);
  // SIGTERM, SIGINT, SIGHUP end the build through process.exit (host/output.ts): whichever file is
  // not used by the OUT then in place goes. OUT's inode tells whether its rename happened.
  const onExit = () => (inode(out) !== oldOut ? pair.removeOld() : pair.abandon());
  process.on('exit', onExit);
  const pair: PairWriter = {
    async writeSecondStage(bytes) {
      written = true;
      await writeAtomic(stage2, [bytes], 0o644);
    },
    removeOld() {
      const doomed = new Set<string>();
      if (old && !same(old, stage2)) doomed.add(old);
      // Leftovers of killed builds: only beside OUT, where OUT is the one image that uses these names.
      if (resolve(dirname(stage2)) === resolve(dirname(out))) {
        const base = basename(stage2).replace(/-[0-9a-f]{16}$/, '');
        for (const name of readdirSync(dirname(stage2))) if (isSecondStageName(name, base)) doomed.add(join(dirname(stage2), name));
      }
      for (const f of doomed) if (!same(f, stage2)) removeQuietly(f);
    },
    abandon() {
      if (written && !same(old, stage2)) removeQuietly(stage2);
    },
    release() {
      process.off('exit', onExit);
      for (const l of locks.reverse()) l.release();
    },
  };
  return pair;
}

/** The identity of the file at `path` (undefined: none), to see whether a rename replaced it. */
function inode(path: string): string | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? `${st.dev}:${st.ino}` : undefined;
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
    debug(`removed the old second stage ${path}`);
  } catch {
    // a file we cannot delete stays; the image in place does not use it
  }
}

/** Every second stage of `base` (a --second-stage-out path) in its directory: what `remove` deletes. */
export function secondStagesOf(base: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dirname(base));
  } catch {
    return [];
  }
  return names.filter((n) => isSecondStageName(n, basename(base))).sort().map((n) => join(dirname(base), n));
}

/** Without --force nothing is replaced or deleted: neither OUT nor a second stage of its name. */
export function checkSecondStagesAbsent(base: string, force: boolean): void {
  const there = secondStagesOf(base)[0];
  if (!force && there !== undefined) throw new UserError(`${there} exists; use --force to overwrite it`);
}
