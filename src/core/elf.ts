// SPDX-License-Identifier: GPL-2.0-or-later
// Reads what the dynamic loader needs from an ELF file: interpreter, DT_NEEDED, search paths.
// We parse the bytes ourselves instead of running ldd: ldd executes the target's loader on the
// host, which is unsafe for foreign files and wrong when --base is not the running system.

export interface ElfInfo {
  class: 32 | 64;
  littleEndian: boolean;
  /** e_machine (62 = x86-64, 183 = aarch64, ...) */
  machine: number;
  /** PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2; absent for static binaries and most libraries */
  interp?: string;
  soname?: string;
  needed: string[];
  rpath: string[];
  runpath: string[];
}

// Program header types, the extended-count marker and dynamic tags (the ELF gABI); src/host/elf-parts.ts reads the same.
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PN_XNUM = 0xffff;
export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_STRTAB = 5;
export const DT_STRSZ = 10;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_RUNPATH = 29;
const decoder = new TextDecoder();

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/** Bounds-checked reads that honour the file's class and byte order. */
class Reader {
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    readonly is64: boolean,
    readonly le: boolean,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private check(off: number, size: number): void {
    if (off < 0 || off + size > this.buf.length) throw new Error(`malformed ELF: read past end at ${off}`);
  }
  u16(off: number): number {
    this.check(off, 2);
    return this.view.getUint16(off, this.le);
  }
  u32(off: number): number {
    this.check(off, 4);
    return this.view.getUint32(off, this.le);
  }
  /** A native word (Elf32_Addr/Off or Elf64_Addr/Off/Xword). Offsets beyond 2^53 are nonsense anyway. */
  word(off: number): number {
    if (!this.is64) return this.u32(off);
    this.check(off, 8);
    return Number(this.view.getBigUint64(off, this.le));
  }
  /** Signed word, for d_tag: DT_* values in the OS/processor ranges are negative as Elf64_Sxword. */
  sword(off: number): number {
    if (!this.is64) {
      this.check(off, 4);
      return this.view.getInt32(off, this.le);
    }
    this.check(off, 8);
    return Number(this.view.getBigInt64(off, this.le));
  }
  cstring(off: number, limit = this.buf.length): string {
    this.check(off, 1);
    let end = off;
    while (end < limit && this.buf[end] !== 0) end++;
    return decoder.decode(this.buf.subarray(off, end));
  }
}

/** Returns null if `buf` is not an ELF file; throws on an ELF file too damaged to read. */
export function parseElf(buf: Uint8Array): ElfInfo | null {
  if (buf.length < 16 || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) return null;
  const cls = buf[4];
  const data = buf[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) throw new Error('malformed ELF: bad class or byte order');
  const r = new Reader(buf, cls === 2, data === 1);
  const segments = readSegments(r);
  const info: ElfInfo = {
    class: r.is64 ? 64 : 32,
    littleEndian: r.le,
    machine: r.u16(18),
    needed: [],
    rpath: [],
    runpath: [],
  };
  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) info.interp = r.cstring(interp.offset, interp.offset + interp.filesz);
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (dynamic) readDynamic(r, dynamic, segments, info);
  return info;
}

function readSegments(r: Reader): Segment[] {
  const phoff = r.word(r.is64 ? 32 : 28);
  const phentsize = r.u16(r.is64 ? 54 : 42);
  let phnum = r.u16(r.is64 ? 56 : 44);
  // With more than 0xfffe program headers the real count lives in section header 0's sh_info.
  if (phnum === PN_XNUM) phnum = r.u32(r.word(r.is64 ? 40 : 32) + (r.is64 ? 44 : 28));
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    segments.push(
      r.is64
        ? { type: r.u32(p), offset: r.word(p + 8), vaddr: r.word(p + 16), filesz: r.word(p + 32) }
        : { type: r.u32(p), offset: r.word(p + 4), vaddr: r.word(p + 8), filesz: r.word(p + 16) },
    );
  }
  return segments;
}

/**
 * DT_STRTAB holds a virtual address, not a file offset: it only becomes readable by finding
 * the PT_LOAD segment that maps it (section headers may be stripped, so we don't use them).
 */
function vaddrToOffset(segments: Segment[], vaddr: number): number {
  for (const s of segments) {
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return s.offset + (vaddr - s.vaddr);
  }
  throw new Error(`malformed ELF: address 0x${vaddr.toString(16)} is not in any PT_LOAD segment`);
}

function readDynamic(r: Reader, dynamic: Segment, segments: Segment[], info: ElfInfo): void {
  const entSize = r.is64 ? 16 : 8;
  const entries: { tag: number; val: number }[] = [];
  for (let p = dynamic.offset; p + entSize <= dynamic.offset + dynamic.filesz; p += entSize) {
    const tag = r.sword(p);
    if (tag === DT_NULL) break;
    entries.push({ tag, val: r.word(p + entSize / 2) });
  }
  const strtab = entries.find((e) => e.tag === DT_STRTAB);
  if (!strtab) return;
  const strOffset = vaddrToOffset(segments, strtab.val);
  const str = (e: { val: number }): string => r.cstring(strOffset + e.val);
  for (const e of entries) {
    if (e.tag === DT_NEEDED) info.needed.push(str(e));
    else if (e.tag === DT_SONAME) info.soname = str(e);
    else if (e.tag === DT_RPATH) info.rpath.push(...splitPath(str(e)));
    else if (e.tag === DT_RUNPATH) info.runpath.push(...splitPath(str(e)));
  }
}

/** ld.so skips empty elements of a search path, so we do too. */
function splitPath(value: string): string[] {
  return value.split(':').filter((d) => d !== '');
}
