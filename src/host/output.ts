// SPDX-License-Identifier: GPL-2.0-or-later
// Atomic output: a temp file beside OUT, fsync, rename, fsync the directory. Any failure or
// interruption removes the temp file and leaves a previous OUT byte-for-byte as it was.
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
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

/** `-`: the image goes to standard output. */
export const STDOUT = '-';

/**
 * Where OUT really is: `-` and character devices, FIFOs and sockets (also through /dev/stdout or a
 * symlink) are streams, written in place; a symlink OUT is followed (the file it names is replaced,
 * the link stays); anything else is the path itself.
 */
export function outputTarget(out: string): { kind: 'stream' | 'file'; path: string; existing?: Stats } {
  if (out === STDOUT) return { kind: 'stream', path: '/dev/stdout' };
  const st = statSync(out, { throwIfNoEntry: false });
  if (st && (st.isCharacterDevice() || st.isFIFO() || st.isSocket())) return { kind: 'stream', path: out, existing: st };
  let path = out;
  for (let hops = 0; lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink(); hops++) {
    if (hops > 40) throw new UserError(`cannot write ${out}: too many levels of symbolic links`);
    path = resolve(dirname(path), readlinkSync(path));
    // /dev/stdout, /dev/fd/N: an open descriptor's file (a shell redirection) is written in place;
    // replacing it would leave the descriptor on the old file.
    if (path.startsWith('/proc/')) return { kind: 'stream', path: out, existing: st };
  }
  return { kind: 'file', path, existing: st ?? undefined };
}

export function checkOutputAbsent(out: string, force: boolean): void {
  if (out === STDOUT && process.stdout.isTTY) throw new UserError('refusing to write an image to a terminal: redirect standard output');
  if (out === STDOUT) return;
  const target = outputTarget(out);
  // A device or FIFO is a destination, not an image to protect; a dangling symlink is something there.
  if (target.kind === 'stream') return;
  if (!force && (target.existing || lstatSync(out, { throwIfNoEntry: false }))) {
    throw new UserError(`${out} exists; use --force to overwrite it`);
  }
}

/** NAME_MAX of Linux filesystems, in bytes. */
const NAME_MAX = 255;
const TEMP_SUFFIX_MAX = '.mkruckus-4294967295.tmp'.length;

/** `.NAME` cut to fit (in bytes, on a character boundary) so the temp name stays within NAME_MAX. */
function tempPrefix(name: string): string {
  let prefix = `.${name}`;
  while (Buffer.byteLength(prefix) > NAME_MAX - TEMP_SUFFIX_MAX) prefix = prefix.slice(0, -1);
  return `${prefix}.mkruckus-`;
}

/** Temp files of builds that died without cleaning up (SIGKILL, power loss): their pid is gone. */
function removeStaleTemps(dir: string, name: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = tempPrefix(name);
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
 * A symlink OUT is followed: its target is replaced. An existing image's mode and owner are kept.
 * `-`, a character device or a FIFO is written directly (there is nothing to replace).
 */
export async function writeAtomic(
  out: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  mode = 0o600,
): Promise<void> {
  hookSignals();
  const target = outputTarget(out);
  if (target.kind === 'stream') return writeStream(out, target.path, chunks);
  const dest = target.path;
  const dir = dirname(dest);
  removeStaleTemps(dir, basename(dest));
  const tmp = join(dir, `${tempPrefix(basename(dest))}${process.pid}.tmp`);
  let file: FileHandle | undefined;
  try {
    file = await open(tmp, 'wx', mode);
    pendingTemps.add(tmp);
    // The replaced image keeps its mode and owner (an image made 0600 on purpose stays 0600).
    if (target.existing?.isFile()) {
      await file.chmod(target.existing.mode & 0o7777);
      await file.chown(target.existing.uid, target.existing.gid).catch(() => undefined);
    }
    for await (const chunk of chunks) await writeFully(file, chunk);
    await file.sync();
    await file.close();
    file = undefined;
    renameSync(tmp, dest);
    pendingTemps.delete(tmp);
    syncDir(dir);
  } catch (err) {
    await file?.close().catch(() => undefined);
    removeQuietly(tmp);
    pendingTemps.delete(tmp);
    throw describeWriteError(err, out);
  }
}

/** Standard output, a device or a FIFO: written in order, nothing to rename. */
async function writeStream(out: string, path: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  let file: FileHandle | undefined;
  try {
    file = out === STDOUT ? undefined : await open(path, 'w');
    for await (const chunk of chunks) {
      if (file) await writeFully(file, chunk);
      else await writeStdout(chunk);
    }
  } catch (err) {
    throw describeWriteError(err, out);
  } finally {
    await file?.close().catch(() => undefined);
  }
}

function writeStdout(chunk: Uint8Array): Promise<void> {
  return new Promise((done, fail) => process.stdout.write(chunk, (err) => (err ? fail(err) : done())));
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
    EEXIST: 'a temporary file of another build is in the way',
    ENAMETOOLONG: 'the name is too long',
    EPIPE: 'the reader went away',
  };
  if (code && why[code]) return new UserError(`cannot write ${out}: ${why[code]}`);
  return err instanceof Error ? err : new Error(String(err));
}
