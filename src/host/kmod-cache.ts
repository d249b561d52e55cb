// SPDX-License-Identifier: GPL-2.0-or-later
// Decompressed `.ko.xz` modules kept between builds. Decoding the ~90 MiB of a generic image's
// modules costs xz(1) about 1.4 s of CPU (0.7 s of wall time on two cores), more than the rest of
// the build; the same modules come back at every rebuild for the same kernel (update, a changed
// config, kernel-install), so each one is decoded once (by xz, from file to file in the cache) and
// then mapped back, which costs a few ms.
// Keyed by the sha256 of the compressed bytes, not by path and mtime: a module rewritten in place, a
// copy of the tree in another --base, or a file restored with its old mtime can never be served
// the bytes of another. Entries are written atomically (temp file, rename); one not used for
// PRUNE_DAYS is removed by the next build that adds entries. Any cache failure (read-only or full
// home, no HOME) only costs the decoding it would have saved.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { newcChunks } from '../archive/cpio.ts';
import { coldArchiveBytes, type ColdArchive } from '../core/cold.ts';
import { debug } from '../log.ts';
import { cacheDir } from './cache-dir.ts';
import { sha256Hex } from './digest.ts';
import { forget, hookSignals, isStale, killOnSignal, removeOnSignal } from './scratch.ts';

const PRUNE_DAYS = 30;

/** $XDG_CACHE_HOME/mkruckus/kmod-xz, or ~/.cache/...; undefined when neither is set. */
export function kmodCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return cacheDir('kmod-xz', env);
}

/** The module's bytes as read from the base (or an ELF of this build): never changed after, so hashed once. */
const keyOf = (data: Uint8Array): string => sha256Hex(data);
const isElf = (b: Uint8Array | undefined): b is Uint8Array => b !== undefined && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
const isGzip = (b: Uint8Array | undefined): b is Uint8Array => b !== undefined && b.length > 18 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * Bun.mmap opens the file read-write (then maps it private and closes it): fine for our own entries,
 * never for files of the base (a program open for writing cannot be run meanwhile: ETXTBSY). An
 * entry it cannot open so (a read-only cache) is read.
 */
function mapOrRead(path: string): Uint8Array {
  try {
    return Bun.mmap(path, { shared: false });
  } catch {
    return readFileSync(path);
  }
}

/**
 * Mapped, not read: the pages are the page cache's, so a warm build touches no fresh memory for the
 * ~117 MiB of a generic image's modules (on a virtual machine first-touch page faults cost more than
 * the copy; readFileSync here was ~0.5 s of CPU). Safe because an entry is never changed in place:
 * writers rename a new file over it and prune unlinks it, and a mapping keeps the old inode's bytes.
 */
export function readEntry(dir: string, key: string, valid: (b: Uint8Array) => boolean = isElf): Uint8Array | undefined {
  try {
    const data = mapOrRead(join(dir, key));
    // a truncated or foreign file is a miss: decoded again and replaced
    return valid(data) ? data : undefined;
  } catch {
    return undefined;
  }
}

export function writeEntry(dir: string, key: string, data: Uint8Array): void {
  const tmp = join(dir, `${key}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, join(dir, key));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Removes entries neither read nor written for PRUNE_DAYS (atime, kept by relatime, says read). */
function prune(dir: string, now = Date.now()): void {
  const limit = now - PRUNE_DAYS * 86_400_000;
  for (const name of readdirSync(dir)) {
    if (isStale(name, UNPACK_PREFIX)) rmSync(join(dir, name), { recursive: true, force: true });
    if (name.startsWith(UNPACK_PREFIX)) continue;
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    if (st && Math.max(st.atimeMs, st.mtimeMs) < limit) rmSync(join(dir, name), { force: true });
  }
}

/** `xz -d` over FILE.xz paths in place (FILE.xz becomes FILE), the paths shared among one process per CPU. */
export async function unpackXzFiles(paths: string[]): Promise<void> {
  const n = Math.min(availableParallelism(), paths.length);
  const shares = Array.from({ length: n }, (_, k) => paths.filter((_, i) => i % n === k));
  await Promise.all(
    shares.map(async (share) => {
      const p = Bun.spawn(['xz', '-d', '-q', '--', ...share], { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
      const forget = killOnSignal(p);
      const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]).finally(forget);
      if (code !== 0) throw new Error(`xz -d: ${err.trim()}`);
    }),
  );
}

const UNPACK_PREFIX = '.unpack-';

/**
 * The first build's way in: each missing module's compressed bytes are written to a private
 * directory in the cache, xz decodes them there as files, and each is renamed into place and mapped.
 * Nothing decoded passes through a pipe into this process (~117 MiB of fresh memory for a generic
 * image, as costly here as the decoding). The directory goes on a signal and, after a SIGKILL, with
 * the next build that adds entries.
 */
async function unpackInto(dir: string, items: Map<string, Uint8Array>, unpack: (paths: string[]) => Promise<void>): Promise<Map<string, Uint8Array>> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  hookSignals();
  const tmp = mkdtempSync(join(dir, `${UNPACK_PREFIX}${process.pid}-`));
  removeOnSignal(tmp);
  try {
    for (const [key, data] of items) writeFileSync(join(tmp, `${key}.xz`), data, { mode: 0o600 });
    await unpack([...items.keys()].map((key) => join(tmp, `${key}.xz`)));
    const out = new Map<string, Uint8Array>();
    for (const key of items.keys()) {
      const data = Bun.mmap(join(tmp, key), { shared: false });
      if (!isElf(data)) throw new Error(`${key}: not an ELF file after xz -d`);
      renameSync(join(tmp, key), join(dir, key));
      out.set(key, data);
    }
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    forget(tmp);
  }
}

/**
 * The decompressed bytes of each `.xz` input, in order: cached ones read back; the others decoded
 * into the cache by `unpack` (xz over files), or, where the cache cannot be written, given to
 * `decode` (all in one call, so it can spread them over processes), which also names a corrupt
 * file. `dir` null: no cache.
 */
export async function cachedXz<T extends { data: Uint8Array }>(
  files: T[],
  decode: (files: T[]) => Promise<Uint8Array[]>,
  dir: string | null = kmodCacheDir() ?? null,
  unpack: (paths: string[]) => Promise<void> = unpackXzFiles,
): Promise<Uint8Array[]> {
  if (!dir || !files.length) return decode(files);
  const keys = files.map((f) => keyOf(f.data));
  const out: (Uint8Array | undefined)[] = keys.map((k) => readEntry(dir, k));
  const missing = files.flatMap((_, i) => (out[i] ? [] : [i]));
  if (!missing.length) return out as Uint8Array[];
  const unpacked = await unpackInto(dir, new Map(missing.map((i) => [keys[i]!, files[i]!.data])), unpack).catch((e: Error) => {
    debug(`module cache ${dir}: ${e.message}; decoding in memory`);
    return undefined;
  });
  if (unpacked) missing.forEach((at) => (out[at] = unpacked.get(keys[at]!)));
  else await decodeAndStore(dir, missing, keys, out, () => decode(missing.map((i) => files[i]!)));
  try {
    prune(dir);
  } catch (e) {
    debug(`module cache ${dir} not pruned: ${(e as Error).message}`);
  }
  debug(`module cache: ${files.length - missing.length} of ${files.length} .ko.xz read back from ${dir}`);
  return out as Uint8Array[];
}

/** The way without files: decoded in memory, then stored where possible. */
async function decodeAndStore(dir: string, missing: number[], keys: string[], out: (Uint8Array | undefined)[], decode: () => Promise<Uint8Array[]>): Promise<void> {
  const decoded = await decode();
  missing.forEach((at, k) => (out[at] = decoded[k]));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    missing.forEach((at) => isElf(out[at]) && writeEntry(dir, keys[at]!, out[at]!));
  } catch (e) {
    debug(`module cache ${dir} not written: ${(e as Error).message}`);
  }
}

/**
 * Cold modules and the cold binaries' archive gzip'd (-6) for the image, kept beside the decoded
 * modules: ~60 MB/s here, so a generic image's ~75 MiB of cold modules and ~20 MiB of cold binaries
 * cost ~1.5 s at every build without it. Keyed by the bytes and the level; the same failure rules as
 * the decoded entries (a miss costs the compression).
 */
export function cachedGzip(elves: Uint8Array[], dir: string | null = kmodCacheDir() ?? null): Uint8Array[] {
  const gz = (elf: Uint8Array) => Bun.gzipSync(elf as Uint8Array<ArrayBuffer>, { level: GZIP_LEVEL });
  if (!dir) return elves.map(gz);
  const at = join(dir, '..', 'kmod-gz');
  const keys = elves.map((e) => `${keyOf(e)}-${GZIP_LEVEL}`);
  const fresh: number[] = [];
  const out = elves.map((elf, i) => readEntry(at, keys[i]!, isGzip) ?? (fresh.push(i), gz(elf)));
  if (!fresh.length) return out;
  try {
    mkdirSync(at, { recursive: true, mode: 0o700 });
    for (const i of fresh) writeEntry(at, keys[i]!, out[i]!);
    prune(at);
  } catch (e) {
    debug(`module cache ${at} not written: ${(e as Error).message}`);
  }
  return out;
}
const GZIP_LEVEL = 6;

/**
 * The cold binaries' archive gzip'd, from the cache when its key is there: the sha256 of the
 * archive's stream with each file's bytes replaced by their sha256 (the report has them hashed
 * already), so a warm build neither makes the ~20 MiB archive nor hashes it (~0.1 s and ~5000 page
 * faults). The headers are hashed as written, so any change of the writer's format changes the key.
 */
export function cachedColdArchive(archive: ColdArchive, dir: string | null = kmodCacheDir() ?? null): Uint8Array {
  const gz = () => Bun.gzipSync(coldArchiveBytes(archive) as Uint8Array<ArrayBuffer>, { level: GZIP_LEVEL });
  if (!dir) return gz();
  const at = join(dir, '..', 'kmod-gz');
  const key = `archive-${coldArchiveKey(archive)}-${GZIP_LEVEL}`;
  const found = readEntry(at, key, isGzip);
  if (found) return found;
  const out = gz();
  try {
    mkdirSync(at, { recursive: true, mode: 0o700 });
    writeEntry(at, key, out);
    prune(at);
  } catch (e) {
    debug(`module cache ${at} not written: ${(e as Error).message}`);
  }
  return out;
}

/** Headers and padding as written, each file's bytes as their sha256; every chunk framed by its kind and length. */
export function coldArchiveKey(archive: ColdArchive): string {
  const files = new Set(archive.entries.flatMap((e) => (e.type === 'file' && e.data?.length ? [e.data] : [])));
  const h = new Bun.CryptoHasher('sha256').update('mkruckus cold archive 1\n');
  for (const chunk of newcChunks(archive.entries, { mtime: archive.mtime })) {
    if (files.has(chunk)) h.update(`D ${chunk.length} ${sha256Hex(chunk)}\n`);
    else h.update(`B ${chunk.length}\n`).update(chunk);
  }
  return h.digest('hex');
}

/**
 * What a build needs of each module of a set besides the hot ones' bytes (their decoded sizes for
 * /init's driver table, the firmware they name), kept beside the decoded modules. With it a warm
 * build decodes none of the ~450 cold .ko.xz of a generic image (each mapped from the cache and its
 * .modinfo read, ~0.1 s in all): they go into the image as they are. Keyed by every module's path
 * and sha256, in order, and FACTS_FORMAT (raise it when what is recorded, or how, changes).
 */
export interface ModuleFacts {
  sizes: number[];
  firmware: string[];
}
const FACTS_FORMAT = 1;

export function moduleFactsKey(files: { path: string; data: Uint8Array }[]): string {
  const h = new Bun.CryptoHasher('sha256').update(`mkruckus module facts ${FACTS_FORMAT}\n`);
  for (const f of files) h.update(`${f.path}\0${sha256Hex(f.data)}\n`);
  return h.digest('hex');
}

const isFacts = (v: unknown, count: number): v is ModuleFacts => {
  const f = v as ModuleFacts;
  return Array.isArray(f?.sizes) && f.sizes.length === count && f.sizes.every((n) => Number.isSafeInteger(n) && n > 0)
    && Array.isArray(f.firmware) && f.firmware.every((n) => typeof n === 'string');
};

/** The facts stored under `key` for `count` modules, or undefined (none, unreadable, or not such facts). */
export function readModuleFacts(key: string, count: number, dir: string | null = kmodCacheDir() ?? null): ModuleFacts | undefined {
  if (!dir) return undefined;
  try {
    const facts: unknown = JSON.parse(readFileSync(join(dir, '..', 'kmod-facts', key), 'utf8'));
    return isFacts(facts, count) ? facts : undefined;
  } catch {
    return undefined;
  }
}

export function writeModuleFacts(key: string, facts: ModuleFacts, dir: string | null = kmodCacheDir() ?? null): void {
  if (!dir) return;
  const at = join(dir, '..', 'kmod-facts');
  try {
    mkdirSync(at, { recursive: true, mode: 0o700 });
    writeEntry(at, key, new TextEncoder().encode(JSON.stringify(facts)));
    prune(at);
  } catch (e) {
    debug(`module cache ${at} not written: ${(e as Error).message}`);
  }
}
