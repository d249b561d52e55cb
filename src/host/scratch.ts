// SPDX-License-Identifier: GPL-2.0-or-later
// What a build leaves on disk while it runs, and how none of it outlives the build: temp files beside
// OUT and scratch directories in TMPDIR are named with the builder's pid, removed on every error path
// and by the SIGINT/SIGTERM/SIGHUP handler (installed before the first of them exists; it also
// unmounts what a command mounted there, erofs layers read by a merge), and those of
// a build that died without cleaning up (SIGKILL, power loss) are swept by the next build: their pid
// is gone.
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoWords, UserError } from '../log.ts';

const pending = new Set<string>();
const children = new Set<{ kill(signal?: number): void }>();
const releases = new Set<() => void>();
let signalsHooked = false;

/** Removes `path` (a file or a directory tree) if a signal ends the build before forget(path). */
export function removeOnSignal(path: string): void {
  hookSignals();
  pending.add(path);
}

export function forget(path: string): void {
  pending.delete(path);
}

/** Kills `child` (a tool writing into a scratch directory) if a signal ends the build; the returned function forgets it. */
export function killOnSignal(child: { kill(signal?: number): void }): () => void {
  hookSignals();
  children.add(child);
  return () => void children.delete(child);
}

/**
 * Runs `release` (unmounting what a command mounted in TMPDIR) if a signal ends the command; the
 * returned function forgets it. A mount is no path to remove: it would outlive the process.
 */
export function releaseOnSignal(release: () => void): () => void {
  hookSignals();
  releases.add(release);
  return () => void releases.delete(release);
}

/**
 * Installs the SIGINT/SIGTERM/SIGHUP handler. Called before a temp path is made: a signal between
 * making it and registering it would otherwise end the process by the default action and leave it.
 */
export function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // A tool still writing into a scratch directory would put entries back while it is removed.
      for (const child of children) child.kill(constants.signals.SIGKILL);
      for (const release of releases) {
        try {
          release();
        } catch {
          // the other releases and removals still run
        }
      }
      for (const path of pending) removeSettled(path);
      process.exit(128 + (constants.signals[sig] ?? 1));
    });
  }
}

/** Removes `path`, again after a moment while it is still there (a killed writer's last entries). */
function removeSettled(path: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 10; i++) {
    removeQuietly(path);
    if (!existsSync(path)) return;
    Atomics.wait(pause, 0, 0, 20);
  }
}

export function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // already gone, or not ours to remove
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `name` is `${prefix}PID${suffix}` (PID: digits up to the next `-` or the suffix) of a build
 * that is gone. Our own pid counts as gone: a dead process had it before us, and the name is ours now.
 */
export function isStale(name: string, prefix: string, suffix = ''): boolean {
  if (!name.startsWith(prefix) || !name.endsWith(suffix)) return false;
  const pid = /^(\d+)(?:-|$)/.exec(name.slice(prefix.length, name.length - suffix.length))?.[1];
  return pid !== undefined && (Number(pid) === process.pid || !isAlive(Number(pid)));
}

/** The paths in TMPDIR that isStale finds for `prefix`; none when TMPDIR cannot be read (the mkdtemp after says why). */
export function staleInTmp(prefix: string): string[] {
  const dir = tmpdir();
  try {
    return readdirSync(dir)
      .filter((n) => isStale(n, prefix))
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** The directory TMPDIR names (or /tmp), for messages: `/x (TMPDIR)` says where the user can change it. */
export function tempRoot(): { dir: string; label: string } {
  const dir = tmpdir();
  return { dir, label: process.env.TMPDIR ? `${dir} (TMPDIR)` : dir };
}

/** Less free space than this, after a tool failed writing there: the filesystem is full. */
const FULL_BELOW = 64 * 1024;

export interface Scratch {
  path: string;
  /** a failure while using it, as one line naming where it is */
  describe(err: unknown, what: string): Error;
  /** whether its filesystem has (almost) no room left: why a tool that does not say so failed */
  isFull(): boolean;
  remove(): void;
}

/**
 * A private directory `mkruckus-KIND-PID-XXXXXX` in TMPDIR, after sweeping the ones of dead builds.
 * A missing, read-only or full TMPDIR is one line naming it.
 */
export function makeScratch(kind: string): Scratch {
  const { dir, label } = tempRoot();
  const prefix = `mkruckus-${kind}-`;
  for (const stale of staleInTmp(prefix)) removeQuietly(stale);
  hookSignals();
  let path: string;
  try {
    path = mkdtempSync(join(dir, `${prefix}${process.pid}-`));
  } catch (err) {
    throw new UserError(`cannot make a scratch directory in ${label}: ${errnoWords(err) ?? (err as Error).message}`);
  }
  removeOnSignal(path);
  return {
    path,
    describe: (err, what) => {
      if (err instanceof UserError) return err;
      const words = errnoWords(err);
      return words ? new UserError(`${what} in ${label}: ${words}`) : err instanceof Error ? err : new Error(String(err));
    },
    isFull: () => {
      try {
        const st = statfsSync(path);
        return st.bavail * st.bsize < FULL_BELOW;
      } catch {
        return false;
      }
    },
    remove: () => {
      removeQuietly(path);
      forget(path);
    },
  };
}
