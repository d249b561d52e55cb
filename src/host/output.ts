// SPDX-License-Identifier: GPL-2.0-or-later
// Atomic output: a temp file beside OUT, fsync, rename, fsync the directory. Any failure or
// interruption removes the temp file and leaves a previous OUT byte-for-byte as it was.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../log.ts';

const pendingTemps = new Set<string>();
let signalsHooked = false;

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      for (const tmp of pendingTemps) removeQuietly(tmp);
      process.exit(128 + (constants.signals[sig] ?? 1));
    });
  }
}

export function checkOutputAbsent(out: string, force: boolean): void {
  if (!force && existsSync(out)) {
    throw new UserError(`${out} exists; use --force to overwrite it`);
  }
}

/** Temp files of builds that died without cleaning up (SIGKILL, power loss): their pid is gone. */
function removeStaleTemps(dir: string, name: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${name}.mkruckus-`;
  for (const n of names) {
    const pid = n.startsWith(prefix) && n.endsWith('.tmp') ? n.slice(prefix.length, -'.tmp'.length) : '';
    // Our own pid's is stale too: a dead process had this pid before us, and we are about to use the name.
    if (/^\d+$/.test(pid) && (Number(pid) === process.pid || !isAlive(Number(pid)))) removeQuietly(join(dir, n));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes chunks to `out` atomically. The writes are awaited one by one so that a signal arriving
 * while the temp file exists is handled there (the temp file removed) instead of after the rename.
 */
export async function writeAtomic(
  out: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  mode = 0o600,
): Promise<void> {
  hookSignals();
  const dir = dirname(out);
  removeStaleTemps(dir, basename(out));
  const tmp = join(dir, `.${basename(out)}.mkruckus-${process.pid}.tmp`);
  let file: FileHandle | undefined;
  try {
    file = await open(tmp, 'wx', mode);
    pendingTemps.add(tmp);
    for await (const chunk of chunks) await writeFully(file, chunk);
    await file.sync();
    await file.close();
    file = undefined;
    renameSync(tmp, out);
    pendingTemps.delete(tmp);
    syncDir(dir);
  } catch (err) {
    await file?.close().catch(() => undefined);
    removeQuietly(tmp);
    pendingTemps.delete(tmp);
    throw describeWriteError(err, out);
  }
}

async function writeFully(file: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length; ) off += (await file.write(chunk, off, chunk.length - off)).bytesWritten;
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself already happened.
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function describeWriteError(err: unknown, out: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only filesystem',
    ENOENT: 'directory does not exist',
    ENOTDIR: 'a component of the path is not a directory',
    EISDIR: 'it is a directory',
  };
  if (code && why[code]) return new UserError(`cannot write ${out}: ${why[code]}`);
  return err instanceof Error ? err : new Error(String(err));
}
