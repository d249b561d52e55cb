// SPDX-License-Identifier: GPL-2.0-or-later
// Layer operations on the booted system's root device (SPEC §3): files replaced atomically.
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../log.ts';

/** Writes text to PATH through a temp file beside it: fsync, rename, fsync the directory. */
export async function writeConfAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.mkruckus-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    syncPath(tmp);
    renameSync(tmp, path);
    syncPath(dirname(path));
  } catch (err) {
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
