// SPDX-License-Identifier: GPL-2.0-or-later
// Image reader for `inspect` and tests. An initramfs is what the kernel's unpack_to_rootfs() walks:
// segments, each an uncompressed cpio archive or one compressed stream holding cpio archives, with
// zero padding allowed between them (Debian: an uncompressed microcode cpio, then a zstd one).
//
// Entries are decoded by cpio-stream, an implementation independent of our writer, so tests that read
// our images back are not checking the writer against itself. Our own code here only finds where an
// archive ends, which cpio-stream does not tell (it ignores everything after the first trailer).

import type { CpioEntryType } from './cpio.ts';
import { decompressStream, ImageFormatError, type DetectedCompression } from './compress.ts';
import { UserError } from '../log.ts';

export { ImageFormatError };

export type ImageEntryType = CpioEntryType | 'fifo' | 'socket';

export interface ImageEntry {
  /** absolute path in the image ('/' for the '.' entry) */
  path: string;
  type: ImageEntryType;
  /** permission bits */
  mode: number;
  size: number;
  target?: string;
  major?: number;
  minor?: number;
  /** file content, only with `{ data: true }` */
  data?: Uint8Array;
}

export interface ImageSegment {
  offset: number;
  /** bytes this segment spans in the image (the cpio archive itself when uncompressed) */
  compressedSize: number;
  uncompressedSize: number;
  compression: DetectedCompression | 'none';
  /** false for lzma, whose end cannot be found: then the segment is assumed to run to the end */
  exactEnd: boolean;
  entries: ImageEntry[];
}

export interface ReadOptions {
  /** keep file contents in `entries[].data` (tests); off by default to keep `inspect` lean */
  data?: boolean;
}

export async function readImage(bytes: Uint8Array, opts: ReadOptions = {}): Promise<ImageSegment[]> {
  const segments: ImageSegment[] = [];
  for (let at = skipZeros(bytes, 0); at < bytes.length; at = skipZeros(bytes, at)) {
    if (isCpioMagic(bytes, at)) {
      // The kernel only recognises a cpio header on a 4-byte boundary of the image.
      if (at % 4 !== 0) throw new ImageFormatError(`cpio archive at offset ${at} is not 4-byte aligned`);
      const end = cpioArchiveEnd(bytes, at);
      const entries = await extractEntries(bytes.subarray(at, end), opts);
      const size = end - at;
      segments.push({
        offset: at, compressedSize: size, uncompressedSize: size, compression: 'none', exactEnd: true, entries,
      });
      at = end;
    } else {
      const stream = await decompressStream(bytes, at);
      const entries = await readArchives(stream.data, opts, stream.compression, at);
      segments.push({
        offset: at,
        compressedSize: stream.consumed,
        uncompressedSize: stream.data.length,
        compression: stream.compression,
        exactEnd: stream.exactEnd,
        entries,
      });
      at += stream.consumed;
    }
  }
  if (segments.length === 0) throw new ImageFormatError('no cpio archive found (the file is empty or all zeros)');
  return segments;
}

/** Reads and parses an image file; any problem with the file becomes a one-line UserError. */
export async function readImageFile(path: string, opts: ReadOptions = {}): Promise<ImageSegment[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Bun.file(path).bytes();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new UserError(`cannot read image ${path}: ${why}`);
  }
  try {
    return await readImage(bytes, opts);
  } catch (err) {
    if (err instanceof ImageFormatError) throw new UserError(`${path} is not a valid initramfs: ${err.message}`);
    throw err;
  }
}

/** A decompressed stream may hold several cpio archives back to back, zero padding between them. */
async function readArchives(
  data: Uint8Array,
  opts: ReadOptions,
  compression: DetectedCompression,
  offset: number,
): Promise<ImageEntry[]> {
  const entries: ImageEntry[] = [];
  for (let at = skipZeros(data, 0); at < data.length; at = skipZeros(data, at)) {
    if (!isCpioMagic(data, at)) {
      throw new ImageFormatError(`${compression} segment at offset ${offset} holds non-cpio data at ${at}`);
    }
    const end = cpioArchiveEnd(data, at);
    entries.push(...(await extractEntries(data.subarray(at, end), opts)));
    at = end;
  }
  return entries;
}

function skipZeros(bytes: Uint8Array, at: number): number {
  while (at < bytes.length && bytes[at] === 0) at++;
  return at;
}

const decoder = new TextDecoder();

function isCpioMagic(bytes: Uint8Array, at: number): boolean {
  const magic = decoder.decode(bytes.subarray(at, at + 6));
  return magic === '070701' || magic === '070702';
}

/** Hex header field `index` (0 = ino) of the newc header at `at`. */
function headerField(bytes: Uint8Array, at: number, index: number): number {
  const start = at + 6 + index * 8;
  const text = decoder.decode(bytes.subarray(start, start + 8));
  if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new ImageFormatError(`bad cpio header at offset ${at}`);
  return parseInt(text, 16);
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Walks newc headers from `start` to just past the trailer (offsets relative to `bytes`). */
function cpioArchiveEnd(bytes: Uint8Array, start: number): number {
  let at = start;
  for (;;) {
    if (at + 110 > bytes.length) throw new ImageFormatError(`truncated cpio archive (offset ${at})`);
    if (!isCpioMagic(bytes, at)) throw new ImageFormatError(`bad cpio magic at offset ${at}`);
    const fileSize = headerField(bytes, at, 6);
    const nameSize = headerField(bytes, at, 11);
    const name = decoder.decode(bytes.subarray(at + 110, at + 110 + nameSize - 1));
    // Header and name are padded together to 4 from the archive's start, then the data likewise.
    const next = start + align4(align4(at - start + 110 + nameSize) + fileSize);
    if (next > bytes.length) throw new ImageFormatError(`truncated cpio archive (entry ${name})`);
    at = next;
    if (name === 'TRAILER!!!') return at;
  }
}

/** The part of cpio-stream we use; it ships no type declarations. */
interface CpioStreamHeader {
  name: string;
  mode: number;
  size: number;
  rdevmajor: number;
  rdevminor: number;
  linkname?: string;
}
interface CpioStreamExtract {
  on(event: 'entry', cb: (header: CpioStreamHeader, stream: NodeJS.ReadableStream, next: () => void) => void): this;
  on(event: 'finish', cb: () => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
  end(chunk: Uint8Array): void;
}
// require() keeps this untyped CommonJS package out of the type checker while Bun still bundles it;
// called where used, so a build (which never reads an image) does not load it at startup.
const cpioStream = () => require('cpio-stream') as { extract(): CpioStreamExtract };

/** Parses one complete archive (ending with its trailer) with cpio-stream. */
function extractEntries(archive: Uint8Array, opts: ReadOptions): Promise<ImageEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: ImageEntry[] = [];
    const extract = cpioStream().extract();
    extract.on('entry', (header, stream, next) => {
      let entry: ImageEntry;
      try {
        entry = toImageEntry(header);
      } catch (err) {
        return reject(err); // leaves the extractor waiting; nothing else holds on to it
      }
      entries.push(entry);
      const chunks: Buffer[] = [];
      if (opts.data && entry.type === 'file') stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (opts.data && entry.type === 'file') entry.data = new Uint8Array(Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    extract.on('finish', () => resolve(entries));
    extract.on('error', (err) => reject(new ImageFormatError(`cpio: ${err.message}`)));
    extract.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  });
}

const TYPES: Record<number, ImageEntryType> = {
  0o100000: 'file',
  0o040000: 'dir',
  0o120000: 'symlink',
  0o020000: 'char',
  0o060000: 'block',
  0o010000: 'fifo',
  0o140000: 'socket',
};

function toImageEntry(h: CpioStreamHeader): ImageEntry {
  const type = TYPES[h.mode & 0o170000];
  if (type === undefined) {
    throw new ImageFormatError(`cpio entry ${h.name} has unknown type bits (mode ${h.mode.toString(8)})`);
  }
  const entry: ImageEntry = { path: imagePath(h.name), type, mode: h.mode & 0o7777, size: h.size };
  if (type === 'symlink') entry.target = h.linkname ?? '';
  if (type === 'char' || type === 'block') {
    entry.major = h.rdevmajor;
    entry.minor = h.rdevminor;
  }
  return entry;
}

/** Archives name entries 'usr/bin/x', './usr/bin/x' or '.'; show them all as absolute paths. */
function imagePath(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}
