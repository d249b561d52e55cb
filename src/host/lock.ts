// SPDX-License-Identifier: GPL-2.0-or-later
// One `update`/`remove` at a time per system: an flock(2) on a lock file. The kernel drops the
// lock when the holder dies (even by SIGKILL), so there is no stale lock to clean up, unlike a
// pid file. Bun has no flock, so it is called through bun:ffi (libc.ts).
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { info, UserError } from '../log.ts';
import { flock } from './libc.ts';

const LOCK_EX = 2;
const LOCK_NB = 4;

export interface Lock {
  release(): void;
}

/**
 * Takes an exclusive lock on `path`, waiting for it as long as another process holds it. The wait
 * polls with LOCK_NB so that the event loop (and with it the signal handlers) keeps running.
 */
export async function acquireLock(path: string, pollMs = 100): Promise<Lock> {
  // A directory is locked itself (an output directory: no lock file left in /boot).
  const isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (!isDir) mkdirSync(dirname(path), { recursive: true });
  let fd: number;
  try {
    fd = openSync(path, isDir ? 'r' : 'a', 0o600);
  } catch (err) {
    throw new UserError(`cannot open the lock file ${path}: ${(err as Error).message}`);
  }
  let told = false;
  while (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    if (!told) info(`waiting for ${path}: another mkruckus ${isDir ? 'build writes there' : 'update or remove is running'}`);
    told = true;
    await Bun.sleep(pollMs);
  }
  return { release: () => closeSync(fd) };
}
