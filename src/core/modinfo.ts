// SPDX-License-Identifier: GPL-2.0-or-later
// The `.modinfo` section of a kernel module (an uncompressed ELF relocatable): NUL-separated `key=value`
// records. We read it for `firmware=` (what the driver may request at probe time, so the image must carry it).

export interface ModInfo {
  name: string | undefined;
  firmware: string[];
  /** raw `softdep=` values (`pre: a post: b`); parse with kmod.ts parseSoftdepValue */
  softdep: string[];
  /** from the comma-separated `depends=` */
  depends: string[];
  alias: string[];
}

interface ElfReader {
  view: DataView;
  is64: boolean;
  le: boolean;
}

interface SectionHeader {
  name: number;
  offset: number;
  size: number;
  link: number;
}

function fail(why: string): never {
  throw new Error(`not a valid ELF module: ${why}`);
}

function openElf(elf: Uint8Array): ElfReader {
  if (elf.length < 52 || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) fail('bad magic');
  const cls = elf[4];
  const data = elf[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) fail('unknown class or byte order');
  return { view: new DataView(elf.buffer, elf.byteOffset, elf.byteLength), is64: cls === 2, le: data === 1 };
}

function word(r: ElfReader, off: number, size: 2 | 4 | 8): number {
  if (off + size > r.view.byteLength) fail('header out of bounds');
  if (size === 2) return r.view.getUint16(off, r.le);
  if (size === 4) return r.view.getUint32(off, r.le);
  return Number(r.view.getBigUint64(off, r.le));
}

function sectionHeader(r: ElfReader, shoff: number, entsize: number, i: number): SectionHeader {
  const at = shoff + i * entsize;
  if (r.is64) {
    return { name: word(r, at, 4), offset: word(r, at + 24, 8), size: word(r, at + 32, 8), link: word(r, at + 40, 4) };
  }
  return { name: word(r, at, 4), offset: word(r, at + 16, 4), size: word(r, at + 20, 4), link: word(r, at + 24, 4) };
}

function sectionBytes(elf: Uint8Array, sh: SectionHeader): Uint8Array {
  if (sh.offset + sh.size > elf.length) fail('section out of bounds');
  return elf.subarray(sh.offset, sh.offset + sh.size);
}

/** The bytes of the section called `name`, found through the section-header string table. */
export function findElfSection(elf: Uint8Array, name: string): Uint8Array | undefined {
  const r = openElf(elf);
  const shoff = word(r, r.is64 ? 0x28 : 0x20, r.is64 ? 8 : 4);
  const entsize = word(r, r.is64 ? 0x3a : 0x2e, 2);
  let shnum = word(r, r.is64 ? 0x3c : 0x30, 2);
  let shstrndx = word(r, r.is64 ? 0x3e : 0x32, 2);
  if (shoff === 0) return undefined;
  // ELF extended numbering: the real counts live in section 0 when they overflow 16 bits
  const first = sectionHeader(r, shoff, entsize, 0);
  if (shnum === 0) shnum = first.size;
  if (shstrndx === 0xffff) shstrndx = first.link;
  if (shstrndx >= shnum) fail('bad string table index');
  const strtab = sectionBytes(elf, sectionHeader(r, shoff, entsize, shstrndx));
  const wanted = new TextEncoder().encode(name + '\0');
  for (let i = 1; i < shnum; i++) {
    const sh = sectionHeader(r, shoff, entsize, i);
    if (sameBytes(strtab, sh.name, wanted)) return sectionBytes(elf, sh);
  }
  return undefined;
}

function sameBytes(hay: Uint8Array, at: number, needle: Uint8Array): boolean {
  if (at + needle.length > hay.length) return false;
  for (let i = 0; i < needle.length; i++) if (hay[at + i] !== needle[i]) return false;
  return true;
}

/** Splits a `.modinfo` section into its `key=value` records, in file order. */
export function parseModinfoRecords(section: Uint8Array): [string, string][] {
  const out: [string, string][] = [];
  for (const rec of new TextDecoder().decode(section).split('\0')) {
    const eq = rec.indexOf('=');
    if (eq > 0) out.push([rec.slice(0, eq), rec.slice(eq + 1)]);
  }
  return out;
}

export function parseModinfo(elf: Uint8Array): ModInfo {
  const info: ModInfo = { name: undefined, firmware: [], softdep: [], depends: [], alias: [] };
  const section = findElfSection(elf, '.modinfo');
  if (!section) return info;
  for (const [key, value] of parseModinfoRecords(section)) {
    if (key === 'name') info.name = value;
    else if (key === 'firmware') info.firmware.push(value);
    else if (key === 'softdep') info.softdep.push(value);
    else if (key === 'alias') info.alias.push(value);
    else if (key === 'depends') info.depends.push(...value.split(',').filter(Boolean));
  }
  return info;
}
