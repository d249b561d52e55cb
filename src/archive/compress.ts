// SPDX-License-Identifier: GPL-2.0-or-later
// Image compressors with fixed settings (deterministic output), and the reverse for the reader:
// magic sniffing plus finding where one compressed stream ends, as the kernel does when it unpacks
// a concatenation of archives.

import { availableParallelism } from 'node:os';
import type Zlib from 'node:zlib';
import type { NewcSegment } from './cpio.ts';
import { UserError } from '../log.ts';

/** node:zlib is loaded where an image is read, not at every start (~20-30 ms of a compiled binary's start). */
const zlib = () => require('node:zlib') as typeof Zlib;

export type Compression = 'zstd' | 'gzip' | 'xz' | 'lz4' | 'none';
/** What the reader can meet in an image: also lzma, which we never write (xz replaced it). */
export type DetectedCompression = Exclude<Compression, 'none'> | 'lzma';

/**
 * zstd level 3 (zstd's own default): on ~29 MB of storage drivers it takes ~0.2 s in-process for
 * ratio 4.1, while level 6 needs ~0.7 s (ratio 4.5) and 19 over 20 s: only 3 leaves room in a
 * one-second build on two cores. The level does not change the boot-time decompression speed much.
 */
export const ZSTD_LEVEL = 3;
export const GZIP_LEVEL = 9;

/** Corrupt, truncated or unknown compressed data (not a bug of ours, not the user's flags). */
export class ImageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFormatError';
  }
}

export async function compress(data: Uint8Array, alg: Compression): Promise<Uint8Array> {
  switch (alg) {
    case 'none':
      return data;
    case 'zstd':
      // On Bun's thread pool: compressSegments runs one per CPU at once.
      return Bun.zstdCompress(data, { level: ZSTD_LEVEL });
    case 'gzip':
      // zlib's gzip header has mtime 0, no file name and a fixed OS byte: already reproducible.
      return Bun.gzipSync(onArrayBuffer(data), { level: GZIP_LEVEL });
    case 'xz':
      // The kernel's xz decoder only verifies CRC32 (or no check); the default CRC64 fails to boot.
      // -T1: multi-threaded xz splits blocks by thread count, which would make output host-dependent.
      return runFilter(['xz', '--format=xz', '--check=crc32', '-T1', '-6', '-c'], data);
    case 'lz4':
      // The kernel only understands lz4's legacy frame format (-l), not the modern frame.
      return runFilter(['lz4', '-l', '-9', '-c'], data);
  }
}

/**
 * cpio of the image in segments of about this many bytes (cut between entries), each compressed on
 * its own: the segments compress in parallel (one per CPU, Bun's thread pool), each copied into a
 * staging buffer that later segments reuse, rather than the whole archive into one fresh buffer
 * (first-touch page faults cost as much as zstd itself on a virtual machine). Measured on the 134 MiB
 * cpio of Debian 6.12's `--add storage-all` (CPU medians of 5, loaded machine): one 140 MB buffer
 * 1.8 s, segments of 16 MiB 1.2 s, 4 MiB 1.0 s (+0.5 % size: a new zstd frame resets level 3's 2 MiB
 * window), 2 MiB 1.1 s (+1.2 %). Images of less than this stay one stream.
 */
export const SEGMENT_SIZE = 4 << 20;

/**
 * The segments as the image holds them, in order: each compressed with `alg`, or as they are when
 * stored (already compressed) or `none`. An uncompressed archive must start 4-byte aligned in the
 * initrd (init/initramfs.c reads it as cpio only there): `offset` is where the first segment
 * starts (after the early microcode), and zeros, which the kernel skips, go before one that would not.
 * `pack` is compress() with `alg` unless the caller caches it (src/host/segment-cache.ts); the bytes
 * it is given are valid until its promise settles (its staging buffer is then reused). `find`, a
 * cache's lookup by the segment's chunks, answers before any copy is made: a warm build then copies
 * none of the ~10 MiB into fresh staging memory.
 */
export async function compressSegments(
  segments: Iterable<NewcSegment>, alg: Compression, offset = 0, pack: (data: Uint8Array) => Promise<Uint8Array> = (data) => compress(data, alg),
  find?: (chunks: readonly Uint8Array[]) => Uint8Array | undefined,
): Promise<Uint8Array[]> {
  const parts: Promise<Uint8Array>[] = [];
  const staging = new Staging(availableParallelism());
  for (const segment of segments) {
    if (!segment.stored && alg !== 'none') {
      const known = find?.(segment.chunks);
      parts.push(known ? Promise.resolve(known) : staging.run(segment, pack));
      continue;
    }
    // Where it starts depends on the compressed sizes before it: stored segments are rare (one
    // embedded second stage per image), so waiting for those costs nothing.
    const at = (await Promise.all(parts)).reduce((n, p) => n + p.length, offset);
    if (at % 4) parts.push(Promise.resolve(new Uint8Array(4 - (at % 4))));
    parts.push(...segment.chunks.map((c) => Promise.resolve(c)));
  }
  return Promise.all(parts);
}

/** At most `slots` segments compressed at once, each copied into a buffer of its slot that later segments reuse. */
class Staging {
  private readonly free: Uint8Array[] = [];
  private readonly waiting: (() => void)[] = [];
  private busy = 0;

  constructor(private readonly slots: number) {}

  async run(segment: NewcSegment, pack: (data: Uint8Array) => Promise<Uint8Array>): Promise<Uint8Array> {
    while (this.busy >= this.slots) await new Promise<void>((wake) => this.waiting.push(wake));
    this.busy++;
    let buf = this.free.pop();
    // Pages are touched only where written: a generous size costs nothing and is rarely outgrown.
    if (!buf || buf.length < segment.length) buf = new Uint8Array(Math.max(segment.length, 2 * SEGMENT_SIZE));
    try {
      let at = 0;
      for (const chunk of segment.chunks) {
        buf.set(chunk, at);
        at += chunk.length;
      }
      return await pack(buf.subarray(0, segment.length));
    } finally {
      this.free.push(buf);
      this.busy--;
      this.waiting.shift()?.();
    }
  }
}

/** Bun's gzip takes only ArrayBuffer-backed views; copy the (rare) shared-memory ones. */
function onArrayBuffer(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return data.buffer instanceof ArrayBuffer ? (data as Uint8Array<ArrayBuffer>) : new Uint8Array(data);
}

/** Identifies compressed data by its magic at `offset`; null when it is none we know. */
export function detectCompression(bytes: Uint8Array, offset = 0): DetectedCompression | null {
  const has = (...magic: number[]): boolean => magic.every((m, i) => bytes[offset + i] === m);
  if (has(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (has(0x1f, 0x8b)) return 'gzip';
  if (has(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (has(0x02, 0x21, 0x4c, 0x18)) return 'lz4';
  // lzma-alone has no real magic: like the kernel, take the usual properties byte and dictionary start.
  if (has(0x5d, 0x00)) return 'lzma';
  return null;
}

export interface CompressedStream {
  compression: DetectedCompression;
  data: Uint8Array;
  /** compressed bytes used, so the caller can go on after them */
  consumed: number;
  /** false when the format does not tell where it ends (lzma): then it took the rest of the input */
  exactEnd: boolean;
}

/** Decompresses the one compressed stream starting at `offset`, reporting how many bytes it spans. */
export async function decompressStream(bytes: Uint8Array, offset: number): Promise<CompressedStream> {
  const compression = detectCompression(bytes, offset);
  if (compression === null) throw new ImageFormatError(`unknown data at offset ${offset}: ${magicHex(bytes, offset)}`);
  const rest = bytes.subarray(offset);
  try {
    switch (compression) {
      case 'zstd': {
        const end = zstdFramesEnd(rest);
        return { compression, data: Bun.zstdDecompressSync(rest.subarray(0, end)), consumed: end, exactEnd: true };
      }
      case 'gzip':
        return { compression, ...gunzipCounting(rest), exactEnd: true };
      case 'xz': {
        const end = xzStreamEnd(rest);
        const data = await runFilter(['xz', '-dc'], rest.subarray(0, end));
        return { compression, data, consumed: end, exactEnd: true };
      }
      case 'lz4': {
        const end = lz4LegacyEnd(rest);
        const data = await runFilter(['lz4', '-dc'], rest.subarray(0, end));
        return { compression, data, consumed: end, exactEnd: true };
      }
      case 'lzma': {
        // lzma-alone streams have no length we could find without decoding: take the rest.
        const data = await runFilter(['xz', '-dc', '--format=lzma', '--single-stream'], rest);
        return { compression, data, consumed: rest.length, exactEnd: false };
      }
    }
  } catch (err) {
    if (err instanceof UserError || err instanceof ImageFormatError) throw err;
    throw new ImageFormatError(`${compression} data at offset ${offset} is corrupt: ${(err as Error).message}`);
  }
}

/** Convenience: decompresses data that starts with a known magic. */
export async function decompress(data: Uint8Array): Promise<Uint8Array> {
  return (await decompressStream(data, 0)).data;
}

function magicHex(bytes: Uint8Array, offset: number): string {
  return Buffer.from(bytes.subarray(offset, offset + 6)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

export function u32le(bytes: Uint8Array, at: number): number {
  if (at + 4 > bytes.length) throw new ImageFormatError('truncated compressed data');
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function byteAt(bytes: Uint8Array, at: number): number {
  const b = bytes[at];
  if (b === undefined) throw new ImageFormatError('truncated zstd frame');
  return b;
}

const ZSTD_MAGIC = 0xfd2fb528;

/** End of the run of zstd (and skippable) frames at the start of `b`, from frame and block headers. */
export function zstdFramesEnd(b: Uint8Array): number {
  let at = 0;
  while (at + 4 <= b.length) {
    const magic = u32le(b, at);
    if (magic === ZSTD_MAGIC) at = zstdFrameEnd(b, at);
    else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) at += 8 + u32le(b, at + 4);
    else break;
  }
  if (at > b.length) throw new ImageFormatError('truncated zstd frame');
  return at;
}

function zstdFrameEnd(b: Uint8Array, start: number): number {
  const descriptor = byteAt(b, start + 4);
  const singleSegment = (descriptor >> 5) & 1;
  const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
  const dictIdBytes = [0, 1, 2, 4][descriptor & 3]!;
  const hasChecksum = (descriptor >> 2) & 1;
  // Window descriptor (absent for single-segment frames), dictionary id, content size.
  let at = start + 5 + (singleSegment ? 0 : 1) + dictIdBytes + contentSizeBytes;
  for (;;) {
    const header = byteAt(b, at) | (byteAt(b, at + 1) << 8) | (byteAt(b, at + 2) << 16);
    const blockType = (header >> 1) & 3;
    if (blockType === 3) throw new ImageFormatError('corrupt zstd frame (reserved block type)');
    // An RLE block stores its one byte however many it expands to.
    at += 3 + (blockType === 1 ? 1 : header >>> 3);
    if (header & 1) break;
  }
  return at + (hasChecksum ? 4 : 0);
}

/**
 * gzip members back to back (a multi-member file, compressSegments' pieces), up to the first byte
 * that starts no member: an image's stored tail right after them ("070701"). Decoded member by
 * member: zlib's gunzip reads on into whatever follows a member and fails on it ("incorrect header
 * check") unless it is a zero byte, so an image whose gzip segment needed no padding before its
 * stored tail (one build in four) could not be read back.
 */
function gunzipCounting(b: Uint8Array): { data: Uint8Array; consumed: number } {
  const parts: Uint8Array[] = [];
  let at = 0;
  do {
    const body = at + gzipHeaderLength(b, at);
    // With `info`, zlib returns the engine too (bytesWritten: the deflate bytes it consumed).
    const r = zlib().inflateRawSync(b.subarray(body), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    const out = new Uint8Array(r.buffer.buffer, r.buffer.byteOffset, r.buffer.length);
    const end = body + r.engine.bytesWritten;
    if (u32le(b, end) !== Bun.hash.crc32(out) || u32le(b, end + 4) !== out.length >>> 0) {
      throw new ImageFormatError(`gzip member at offset ${at}: its CRC32 or length does not match its data`);
    }
    parts.push(out);
    at = end + 8;
  } while (b[at] === 0x1f && b[at + 1] === 0x8b);
  return { data: parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts)), consumed: at };
}

/** RFC 1952: 10 bytes, then the optional extra field, name, comment and header CRC its flags announce. */
function gzipHeaderLength(b: Uint8Array, at: number): number {
  if (b[at + 2] !== 8) throw new ImageFormatError(`gzip member at offset ${at} is not deflate`);
  const flags = b[at + 3] ?? 0;
  let p = at + 10;
  if (flags & 4) p += 2 + ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8));
  for (const bit of [8, 16]) {
    if (!(flags & bit)) continue;
    while (p < b.length && b[p] !== 0) p++;
    p++;
  }
  if (flags & 2) p += 2;
  if (p >= b.length) throw new ImageFormatError(`truncated gzip header at offset ${at}`);
  return p - at;
}

/**
 * xz: streams are a multiple of 4 bytes and end in a 12-byte footer (CRC32 of the next 6 bytes,
 * backward size, the stream flags repeated from the header, "YZ"). The first aligned position where
 * all of that checks out is the end; a false match would need a CRC32 collision.
 */
function xzStreamEnd(b: Uint8Array): number {
  const flags0 = b[6];
  const flags1 = b[7];
  for (let end = 32; end <= b.length; end += 4) {
    if (b[end - 2] !== 0x59 || b[end - 1] !== 0x5a || b[end - 4] !== flags0 || b[end - 3] !== flags1) continue;
    if (Bun.hash.crc32(b.subarray(end - 8, end - 2)) === u32le(b, end - 12)) return end;
  }
  throw new ImageFormatError('truncated xz stream (no stream footer)');
}

const LZ4_LEGACY_MAGIC = 0x184c2102;
/** The legacy format's chunks hold at most 8 MiB of output; bigger length fields are not chunks. */
const LZ4_MAX_CHUNK = 8 * 1024 * 1024 + Math.ceil((8 * 1024 * 1024) / 255) + 16;

/** lz4 legacy: a magic, then chunks of (u32 length, data); ends at the input's end or a zero pad. */
function lz4LegacyEnd(b: Uint8Array): number {
  let at = 4;
  while (at + 4 <= b.length) {
    const size = u32le(b, at);
    // Concatenated legacy streams repeat the magic; the kernel reads on through it.
    if (size === LZ4_LEGACY_MAGIC) at += 4;
    else if (size === 0 || size > LZ4_MAX_CHUNK) break;
    else if (at + 4 + size > b.length) throw new ImageFormatError('truncated lz4 chunk');
    else at += 4 + size;
  }
  return at;
}

/** Pipes `input` through an external compressor and returns its stdout. */
async function runFilter(cmd: string[], input: Uint8Array): Promise<Uint8Array> {
  let proc;
  try {
    proc = Bun.spawn({ cmd, stdin: input, stdout: 'pipe', stderr: 'pipe' });
  } catch (err) {
    throw new UserError(`cannot run ${cmd[0]} (is it installed?): ${(err as Error).message}`);
  }
  const [out, stderr, code] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited with ${code}: ${stderr.trim()}`);
  return out;
}
