// SPDX-License-Identifier: GPL-2.0-or-later
// Deterministic "newc" (070701) cpio writer: the one place that knows the archive byte format.
//
// Our own writer rather than cpio-stream's pack, whose defaults (wall-clock mtime, call-order inodes)
// would make two builds of the same input differ. Byte layout follows the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst.

export type CpioEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block';

export interface CpioEntry {
  /** absolute image path, e.g. `/usr/bin/x`; stored as `usr/bin/x` */
  path: string;
  type: CpioEntryType;
  /** permission bits only (0o7777); the type bits come from `type` */
  mode: number;
  /** file content (type 'file'); absent means empty */
  data?: Uint8Array;
  /** symlink target (type 'symlink') */
  target?: string;
  /** device numbers (types 'char' and 'block') */
  major?: number;
  minor?: number;
}

export interface NewcOptions {
  /** the one timestamp of every entry: SOURCE_DATE_EPOCH, or 0 */
  mtime: number;
  /** pad the archive's total length to a multiple of this (GNU cpio uses 512); default: no padding */
  blockSize?: number;
}

const TYPE_BITS: Record<CpioEntryType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
};

const MAGIC = '070701';
const HEADER_SIZE = 110;
const TRAILER = 'TRAILER!!!';
const MAX_U32 = 0xffffffff;
const encoder = new TextEncoder();

/** The 13 numeric header fields after the magic, in on-disk order. */
interface HeaderFields {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  nameSize: number;
}

/** Streams the archive: one chunk per header+name, file data passed through without copying. */
export function* newcChunks(entries: readonly CpioEntry[], opts: NewcOptions): Generator<Uint8Array> {
  validateOptions(opts);
  const sorted = sortCpioEntries(entries);
  validateCpioEntries(sorted);
  let offset = 0;
  let ino = 1;
  for (const entry of sorted) {
    for (const chunk of entryChunks(entry, ino++, opts.mtime)) {
      yield chunk;
      offset += chunk.length;
    }
  }
  const trailer = trailerChunk();
  yield trailer;
  offset += trailer.length;
  const block = opts.blockSize ?? 0;
  if (block > 0 && offset % block !== 0) yield new Uint8Array(block - (offset % block));
}

/** One entry's header+name, then its data and the padding to the next 4-byte boundary. */
function entryChunks(entry: CpioEntry, ino: number, mtime: number): Uint8Array[] {
  const name = encoder.encode(entry.path.slice(1) + '\0');
  const data = entryData(entry);
  const header = encodeHeader(entryFields(entry, ino, data.length, name.length, mtime), name);
  if (data.length === 0) return [header];
  const pad = padding(data.length);
  return pad > 0 ? [header, data, new Uint8Array(pad)] : [header, data];
}

function trailerChunk(): Uint8Array {
  const name = encoder.encode(TRAILER + '\0');
  return encodeHeader({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, rdevMajor: 0, rdevMinor: 0, nameSize: name.length }, name);
}

/** A run of the sorted entries' bytes, cut where an entry ends. */
export interface NewcSegment {
  chunks: Uint8Array[];
  /** bytes of all chunks */
  length: number;
  /** holds one entry whose data is already compressed: stored as it is, not compressed again */
  stored: boolean;
}

export interface SegmentOptions extends NewcOptions {
  /** a segment ends once it holds this many bytes (a single larger entry makes a larger one) */
  segmentSize: number;
  /** entries given a stored segment of their own (an embedded compressed filesystem image) */
  stored?: (entry: CpioEntry) => boolean;
  /**
   * entries compressed one by one already (cold kernel modules): together one stored archive after
   * all the others, whose directories are made by then
   */
  storedTail?: (entry: CpioEntry) => boolean;
}

/**
 * The archive cut between entries into segments for the image to compress one by one: joined they
 * are newcChunks' archive, byte for byte (so `zstd -dc | cpio -i` reads it whole). The kernel's
 * unpacker (init/initramfs.c) takes a compressed stream that ends where an entry ends (its state is
 * back to Reset there) and goes on with the next. A stored entry is an archive of its own (its
 * trailer, and one before it, are added), since an uncompressed stretch is read as an archive. The
 * cuts depend on the entries alone (never on the machine), so the image stays reproducible.
 */
export function* newcSegments(entries: readonly CpioEntry[], opts: SegmentOptions): Generator<NewcSegment> {
  validateOptions(opts);
  if (!Number.isInteger(opts.segmentSize) || opts.segmentSize < 1) throw new Error(`cpio: segmentSize must be a positive integer, got ${opts.segmentSize}`);
  const all = sortCpioEntries(entries);
  validateCpioEntries(all);
  const isTail = opts.storedTail ?? (() => false);
  const sorted = all.filter((e) => !isTail(e));
  const tail = all.filter(isTail);
  let current: NewcSegment = { chunks: [], length: 0, stored: false };
  const close = (trailer: boolean): NewcSegment => {
    const done = current;
    if (trailer) {
      done.chunks.push(trailerChunk());
      done.length += done.chunks.at(-1)!.length;
    }
    current = { chunks: [], length: 0, stored: false };
    return done;
  };
  let ino = 1;
  let ended = false;
  for (const entry of sorted) {
    const chunks = entryChunks(entry, ino++, opts.mtime);
    const stored = opts.stored?.(entry) ?? false;
    if (current.chunks.length && (stored || current.length >= opts.segmentSize)) yield close(stored);
    current.chunks.push(...chunks);
    current.length += chunks.reduce((n, c) => n + c.length, 0);
    current.stored = stored;
    if (stored) yield close(true);
    ended = stored;
  }
  // The last segment ends the archive, unless a stored entry's own archive did (no entries: a trailer alone).
  if (!ended) yield close(true);
  if (!tail.length) return;
  for (const entry of tail) current.chunks.push(...entryChunks(entry, ino++, opts.mtime));
  current.length = current.chunks.reduce((n, c) => n + c.length, 0);
  current.stored = true;
  yield close(true);
}

/** The whole archive as one buffer. */
export function writeNewc(entries: readonly CpioEntry[], opts: NewcOptions): Uint8Array {
  const chunks = [...newcChunks(entries, opts)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Sorts by path components compared bytewise: a directory's own entry is a prefix of its contents'
 * component lists, so it always comes first, which the kernel needs to create children inside it.
 */
export function sortCpioEntries(entries: readonly CpioEntry[]): CpioEntry[] {
  return [...entries].sort((a, b) => comparePathComponents(a.path, b.path));
}

/**
 * The order of two paths' component lists, each component compared as UTF-8 bytes (shorter first
 * on a tie). Read in place: `/` ends a component, so it sorts before any other character at the
 * first difference; below the surrogates UTF-16 order is code point order, which is UTF-8's. A
 * comparator that split and encoded both paths cost ~0.1 s of garbage per generic image (~20k
 * comparisons in the plan and in each archive).
 */
export function comparePathComponents(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === SLASH) return -1;
    if (y === SLASH) return 1;
    if (x >= SURROGATES || y >= SURROGATES) return compareEncoded(a, b);
    return x - y;
  }
  return a.length - b.length;
}

const SLASH = 0x2f;
const SURROGATES = 0xd800;

/** The same order for paths beyond the BMP's first part: components encoded and compared. */
function compareEncoded(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = Buffer.compare(encoder.encode(pa[i]!), encoder.encode(pb[i]!));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/** Expects sorted entries. Throws on anything the kernel would mis-unpack; these are planner bugs. */
export function validateCpioEntries(sorted: readonly CpioEntry[]): void {
  const dirs = new Set<string>();
  let previous: string | undefined;
  for (const entry of sorted) {
    validatePath(entry.path);
    if (entry.path === previous) throw new Error(`cpio: duplicate path ${entry.path}`);
    previous = entry.path;
    const parent = entry.path.slice(0, entry.path.lastIndexOf('/'));
    if (parent !== '' && !dirs.has(parent)) {
      throw new Error(`cpio: parent directory ${parent} of ${entry.path} is not a directory in the archive`);
    }
    if (entry.type === 'dir') dirs.add(entry.path);
    validateFields(entry);
  }
}

function validatePath(path: string): void {
  if (!path.startsWith('/') || path === '/') throw new Error(`cpio: not an absolute, non-root path: '${path}'`);
  const parts = path.slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw new Error(`cpio: path is not normalised: '${path}'`);
  }
}

function validateFields(entry: CpioEntry): void {
  const where = `cpio: ${entry.path}`;
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
    throw new Error(`${where}: mode must be permission bits (0..0o7777), got ${entry.mode}`);
  }
  if (entry.type === 'symlink' && !entry.target) throw new Error(`${where}: symlink without target`);
  if (entry.type === 'char' || entry.type === 'block') {
    for (const n of [entry.major, entry.minor]) {
      if (n === undefined || !Number.isInteger(n) || n < 0 || n > MAX_U32) {
        throw new Error(`${where}: device node needs integer major and minor`);
      }
    }
  }
  if (entryData(entry).length > MAX_U32) throw new Error(`${where}: larger than 4 GiB, newc cannot store it`);
}

function validateOptions(opts: NewcOptions): void {
  if (!Number.isInteger(opts.mtime) || opts.mtime < 0 || opts.mtime > MAX_U32) {
    throw new Error(`cpio: mtime must be an integer 0..2^32-1, got ${opts.mtime}`);
  }
  const block = opts.blockSize ?? 0;
  if (!Number.isInteger(block) || block < 0 || block % 4 !== 0) {
    throw new Error(`cpio: blockSize must be a non-negative multiple of 4, got ${block}`);
  }
}

function entryData(entry: CpioEntry): Uint8Array {
  if (entry.type === 'file') return entry.data ?? new Uint8Array(0);
  // A symlink's "content" is its target, without a terminating NUL.
  if (entry.type === 'symlink') return encoder.encode(entry.target ?? '');
  return new Uint8Array(0);
}

function entryFields(entry: CpioEntry, ino: number, size: number, nameSize: number, mtime: number): HeaderFields {
  const isNode = entry.type === 'char' || entry.type === 'block';
  return {
    ino,
    mode: TYPE_BITS[entry.type] | entry.mode,
    // 2 for a directory ("." and its entry in the parent); the kernel ignores nlink except for
    // hard-link detection on regular files, where 1 means "no links".
    nlink: entry.type === 'dir' ? 2 : 1,
    mtime,
    size,
    rdevMajor: isNode ? (entry.major ?? 0) : 0,
    rdevMinor: isNode ? (entry.minor ?? 0) : 0,
    nameSize,
  };
}

function encodeHeader(f: HeaderFields, name: Uint8Array): Uint8Array {
  // uid, gid, devmajor, devminor and check are always 0: the image is owned by root and
  // the device the files came from is irrelevant (and would leak host details).
  const numbers = [f.ino, f.mode, 0, 0, f.nlink, f.mtime, f.size, 0, 0, f.rdevMajor, f.rdevMinor, f.nameSize, 0];
  const text = MAGIC + numbers.map((n) => n.toString(16).toUpperCase().padStart(8, '0')).join('');
  const unpadded = HEADER_SIZE + name.length;
  const out = new Uint8Array(unpadded + padding(unpadded));
  out.set(encoder.encode(text), 0);
  out.set(name, HEADER_SIZE);
  return out;
}

/** Zero bytes needed to reach the next 4-byte boundary; every header starts 4-aligned. */
function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}
