// SPDX-License-Identifier: GPL-2.0-or-later
// Atomic output: a temp file beside OUT, fsync, rename, fsync the directory. Any failure or
// interruption removes the temp file and leaves a previous OUT byte-for-byte as it was.
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, statSync, truncateSync, unlinkSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoWords, UserError, warn } from '../log.ts';
import { FS_APPEND_FL, readInodeFlags } from './libc.ts';
import { forget, isStale, removeOnSignal } from './scratch.ts';

/**
 * Targets that checkOutputAbsent found absent without --force: writeAtomic creates them with link(),
 * which fails if the name appeared meanwhile, so of two builds racing to one new OUT exactly one
 * wins and the other says OUT exists (a rename would silently replace the winner's image).
 */
const createOnly = new Set<string>();

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
  if (!force && (target.existing || lstatSync(out, { throwIfNoEntry: false }))) throw existsError(out);
  checkReplaceable(out, dirname(target.path));
  if (!force) createOnly.add(target.path);
}

const existsError = (out: string) => new UserError(`${out} exists; use --force to overwrite it`);

/**
 * An append-only directory (chattr +a) lets a file be added but never renamed over or removed: the
 * temp file could then neither become OUT nor be cleaned up. Refused before anything is written.
 */
function checkReplaceable(out: string, dir: string): void {
  const flags = readInodeFlags(dir);
  if (flags !== undefined && flags & FS_APPEND_FL) {
    throw new UserError(`cannot write ${out}: its directory ${dir} is append-only (chattr +a): a file there can never be replaced or its temporary file removed`);
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
  for (const n of names) if (isStale(n, prefix, '.tmp')) removeQuietly(join(dir, n));
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
  const target = outputTarget(out);
  if (target.kind === 'stream') return writeStream(out, target.path, chunks);
  const dest = target.path;
  const dir = dirname(dest);
  checkReplaceable(out, dir);
  removeStaleTemps(dir, basename(dest));
  const tmp = join(dir, `${tempPrefix(basename(dest))}${process.pid}.tmp`);
  let file: FileHandle | undefined;
  let made = false;
  try {
    removeOnSignal(tmp);
    // Created synchronously: the signal handler (it removes tmp) runs between awaits, and a
    // thread-pool open still in flight could create tmp again after it.
    closeSync(openSync(tmp, 'wx', mode));
    made = true;
    file = await open(tmp, 'r+');
    // The replaced image keeps its mode and owner (an image made 0600 on purpose stays 0600).
    if (target.existing?.isFile()) {
      await file.chmod(target.existing.mode & 0o7777);
      await file.chown(target.existing.uid, target.existing.gid).catch(() => undefined);
    }
    await writeChunks(file, chunks);
    await file.sync();
    await file.close();
    file = undefined;
    publish(tmp, dest, out);
    forget(tmp);
    syncDir(dir);
  } catch (err) {
    await file?.close().catch(() => undefined);
    const left = made ? removeTemp(tmp) : '';
    forget(tmp);
    if (!made && (err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UserError(`cannot write ${out}: a stale temporary file ${basename(tmp)} is in the way and cannot be removed (remove it by hand)`);
    }
    throw appendNote(describeWriteError(err, out), left);
  }
}

/** The temp file becomes OUT: renamed over it, or (OUT absent and no --force) linked so it never replaces. */
function publish(tmp: string, dest: string, out: string): void {
  if (!createOnly.delete(dest)) return renameSync(tmp, dest);
  try {
    linkSync(tmp, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw existsError(out);
    // vfat and some FUSE filesystems have no hard links: there only a check before the rename is left.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
    if (lstatSync(dest, { throwIfNoEntry: false })) throw existsError(out);
    return renameSync(tmp, dest);
  }
  try {
    unlinkSync(tmp);
  } catch (err) {
    warn(`wrote ${out}, but its temporary name ${tmp} could not be removed: ${errnoWords(err) ?? (err as Error).message}`);
  }
}

/**
 * Removes the temp file after a failure; '' when it is gone, else a note naming it (emptied first
 * when OUT is not a second name of it, so that at least its space comes back).
 */
function removeTemp(tmp: string): string {
  removeQuietly(tmp);
  const st = lstatSync(tmp, { throwIfNoEntry: false });
  if (!st) return '';
  if (st.isFile() && st.nlink === 1) {
    try {
      truncateSync(tmp, 0);
    } catch {
      // the note below names it all the same
    }
  }
  return `; its temporary file ${tmp} could not be removed`;
}

function appendNote(err: Error, note: string): Error {
  return note && err instanceof UserError ? new UserError(`${err.message}${note}`, err.exitCode) : err;
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

/** What writeChunks needs of a FileHandle. */
export interface VectorWriter {
  writev(buffers: Uint8Array[]): Promise<{ bytesWritten: number }>;
}

/** writev(2) takes at most IOV_MAX (1024 on Linux) buffers per call. */
const IOV_MAX = 1024;

/**
 * The chunks in order, up to IOV_MAX of them per writev: an image's stored tail is ~1400 small
 * chunks (a cold module's header, bytes and padding each), and one awaited write per chunk cost
 * ~0.1 s of thread-pool round trips where a few writev calls take ~15 ms.
 */
export async function writeChunks(file: VectorWriter, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  let batch: Uint8Array[] = [];
  for await (const chunk of chunks) {
    if (chunk.length) batch.push(chunk);
    if (batch.length === IOV_MAX) batch = await writevFully(file, batch);
  }
  if (batch.length) await writevFully(file, batch);
}

/** One batch written whole: after a short write the rest goes again from where it stopped. */
async function writevFully(file: VectorWriter, rest: Uint8Array[]): Promise<Uint8Array[]> {
  while (rest.length) {
    let n = (await file.writev(rest)).bytesWritten;
    if (n === 0) throw new Error('writev wrote nothing');
    while (rest.length && n >= rest[0]!.length) n -= rest.shift()!.length;
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
  return [];
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
  if (err instanceof UserError) return err;
  if ((err as NodeJS.ErrnoException).code === 'EEXIST') return new UserError(`cannot write ${out}: a temporary file of another build is in the way`);
  const words = errnoWords(err);
  if (words) return new UserError(`cannot write ${out}: ${words}`);
  return err instanceof Error ? err : new Error(String(err));
}
