// SPDX-License-Identifier: GPL-2.0-or-later
// An ELF file of the base as parseElf (src/core/elf.ts) sees it, with only the bytes it reads filled
// in: the file header, the program headers, PT_INTERP, PT_DYNAMIC and the dynamic string table. The
// library closure needs nothing else of a binary, and reading whole files cost a generic image ~20 MiB
// of fresh memory (libcrypto alone is 4.5 MiB): on a virtual machine, where every first touch of a
// page is a trap to the hypervisor, ~0.1 s. The buffer has the file's length and is zero elsewhere;
// zero pages never written are never touched. A file laid out in any other way is read whole, so
// parseElf judges it exactly as before (a damaged file gets the same error).
import { closeSync } from 'node:fs';
import {
  DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB, PN_XNUM, PT_DYNAMIC, PT_INTERP, PT_LOAD,
} from '../core/elf.ts';
import { openHostRegular, preadInto } from './base.ts';

/** The file header and, in every ELF we know, the program headers after it. */
const HEAD = 4096;
/** the strings parseElf reads */
const STRING_TAGS = new Set([DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH]);

export interface ElfParts<T> {
  value: T;
  /** bytes read from the file (its length when it was read whole) */
  read: number;
}

type ReadAt = (from: number, len: number) => boolean;

/**
 * One buffer for every file, zeroed again where written after each: memory fresh from the system
 * is zero without being touched, while a new zeroed buffer per file may be cleared page by page
 * (memory the allocator reuses), which would cost what reading the file whole costs.
 */
const ARENA = 64 << 20;
let arena: Uint8Array | undefined;

/**
 * `parse` over the file as parseElf sees it: its length, the parts parseElf reads, zeros elsewhere.
 * The bytes are valid during the call only (a file bigger than ARENA gets a buffer of its own).
 */
export function withElfParts<T>(hostPath: string, label: string, parse: (data: Uint8Array) => T): ElfParts<T> {
  const { fd, size } = openHostRegular(hostPath, label);
  const own = size > ARENA;
  const data = own ? new Uint8Array(size) : (arena ??= new Uint8Array(ARENA)).subarray(0, size);
  const written: [number, number][] = [];
  let read = 0;
  try {
    // false when the range is not all inside the file: then it is read whole
    const readAt: ReadAt = (from, len) => {
      if (from < 0 || len < 0 || from + len > size) return false;
      written.push([from, from + len]);
      read += preadInto(fd, data, from, len);
      return true;
    };
    readAt(0, Math.min(HEAD, size));
    if (readParts(data, readAt)) return { value: parse(data), read };
    written.push([0, size]);
    read = preadInto(fd, data, 0, size);
    // a file that shrank meanwhile: what it has now
    return { value: parse(read < size ? data.subarray(0, read) : data), read };
  } finally {
    closeSync(fd);
    if (!own) for (const [from, to] of written) data.fill(0, from, to);
  }
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/**
 * Reads what parseElf will read, mirroring its walk; true when all of it is in place, false for a
 * layout it does not follow (PN_XNUM, ranges outside the file, a string table without DT_STRSZ or
 * not ending in NUL, a string offset outside it), which the caller answers with a whole read.
 */
function readParts(buf: Uint8Array, readAt: ReadAt): boolean {
  const magic = buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
  if (buf.length < 16 || !magic) return true; // parseElf looks at the magic only: not an ELF file
  if (buf.length < 64 || (buf[4] !== 1 && buf[4] !== 2) || (buf[5] !== 1 && buf[5] !== 2)) return false;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const word = (off: number) => (is64 ? Number(view.getBigUint64(off, le)) : view.getUint32(off, le));
  const sword = (off: number) => (is64 ? Number(view.getBigInt64(off, le)) : view.getInt32(off, le));
  const phoff = word(is64 ? 32 : 28);
  const phentsize = view.getUint16(is64 ? 54 : 42, le);
  const phnum = view.getUint16(is64 ? 56 : 44, le);
  if (phnum === PN_XNUM || phentsize < (is64 ? 56 : 32) || !readAt(phoff, phnum * phentsize)) return false;
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    segments.push(is64
      ? { type: view.getUint32(p, le), offset: word(p + 8), vaddr: word(p + 16), filesz: word(p + 32) }
      : { type: view.getUint32(p, le), offset: word(p + 4), vaddr: word(p + 8), filesz: word(p + 16) });
  }
  for (const s of segments) if ((s.type === PT_INTERP || s.type === PT_DYNAMIC) && !readAt(s.offset, s.filesz)) return false;
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic) return true;
  // parseElf's readDynamic: entries up to DT_NULL, the first DT_STRTAB, strings at its offsets
  const ent = is64 ? 16 : 8;
  let strtab: number | undefined;
  let strsz: number | undefined;
  let maxString = -1;
  for (let p = dynamic.offset; p + ent <= dynamic.offset + dynamic.filesz; p += ent) {
    const tag = sword(p);
    if (tag === DT_NULL) break;
    const val = word(p + ent / 2);
    if (tag === DT_STRTAB) strtab ??= val;
    else if (tag === DT_STRSZ) strsz ??= val;
    else if (STRING_TAGS.has(tag)) maxString = Math.max(maxString, val);
  }
  if (strtab === undefined) return true;
  const load = segments.find((s) => s.type === PT_LOAD && strtab >= s.vaddr && strtab < s.vaddr + s.filesz);
  if (!load || strsz === undefined || maxString >= strsz) return false;
  const at = load.offset + (strtab - load.vaddr);
  // maxString < strsz: a string to read means strsz > 0, and a NUL at the end keeps cstring inside
  return readAt(at, strsz) && (maxString < 0 || buf[at + strsz - 1] === 0);
}
