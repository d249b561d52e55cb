// SPDX-License-Identifier: GPL-2.0-or-later
// PE/COFF reading, as far as a unified kernel image needs it: the headers that place sections in
// the file and in memory, the section table, and the certificate table (Authenticode signatures).
// Pure: bytes in, data out. Offsets follow the Microsoft PE format specification.

export class PeFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeFormatError';
  }
}

export const SECTION_HEADER_SIZE = 40;
/** IMAGE_DIRECTORY_ENTRY_SECURITY: its "virtual address" is a file offset, not an RVA. */
const CERT_DIRECTORY = 4;
export const PE32 = 0x10b;
export const PE32_PLUS = 0x20b;

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
}

export interface PeImage {
  /** file offset of the "PE\0\0" signature */
  peOffset: number;
  machine: number;
  timeDateStamp: number;
  pointerToSymbolTable: number;
  numberOfSymbols: number;
  /** file offset of the optional header */
  optOffset: number;
  magic: number;
  sectionAlignment: number;
  fileAlignment: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  sizeOfInitializedData: number;
  checkSum: number;
  /** file offset of the data directories */
  dirOffset: number;
  numberOfDirs: number;
  /** file offset of the section table */
  sectionTableOffset: number;
  sections: PeSection[];
  /** the certificate table (file offset and size), when the image is signed */
  certTable?: { offset: number; size: number };
}

const MACHINES: Record<number, string> = { 0x8664: 'x86-64', 0x14c: 'i386', 0xaa64: 'arm64', 0x1c2: 'arm', 0x5064: 'riscv64' };

export function machineName(machine: number): string {
  return MACHINES[machine] ?? `0x${machine.toString(16)}`;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function isPe(bytes: Uint8Array): boolean {
  return bytes.length >= 64 && bytes[0] === 0x4d && bytes[1] === 0x5a;
}

export function parsePe(bytes: Uint8Array): PeImage {
  if (!isPe(bytes)) throw new PeFormatError('no MZ header');
  const v = view(bytes);
  const peOffset = v.getUint32(0x3c, true);
  if (peOffset + 24 > bytes.length || v.getUint32(peOffset, true) !== 0x00004550) throw new PeFormatError('no PE signature');
  const coff = peOffset + 4;
  const numberOfSections = v.getUint16(coff + 2, true);
  const sizeOfOptionalHeader = v.getUint16(coff + 16, true);
  const optOffset = coff + 20;
  const magic = v.getUint16(optOffset, true);
  if (magic !== PE32 && magic !== PE32_PLUS) throw new PeFormatError(`unknown optional header magic 0x${magic.toString(16)}`);
  const dirOffset = optOffset + (magic === PE32_PLUS ? 112 : 96);
  const numberOfDirs = v.getUint32(dirOffset - 4, true);
  const sectionTableOffset = optOffset + sizeOfOptionalHeader;
  if (sectionTableOffset + numberOfSections * SECTION_HEADER_SIZE > bytes.length) throw new PeFormatError('truncated section table');
  const pe: PeImage = {
    peOffset,
    machine: v.getUint16(coff, true),
    timeDateStamp: v.getUint32(coff + 4, true),
    pointerToSymbolTable: v.getUint32(coff + 8, true),
    numberOfSymbols: v.getUint32(coff + 12, true),
    optOffset,
    magic,
    sectionAlignment: v.getUint32(optOffset + 32, true),
    fileAlignment: v.getUint32(optOffset + 36, true),
    sizeOfImage: v.getUint32(optOffset + 56, true),
    sizeOfHeaders: v.getUint32(optOffset + 60, true),
    sizeOfInitializedData: v.getUint32(optOffset + 8, true),
    checkSum: v.getUint32(optOffset + 64, true),
    dirOffset,
    numberOfDirs,
    sectionTableOffset,
    sections: readSections(bytes, sectionTableOffset, numberOfSections),
  };
  if (numberOfDirs > CERT_DIRECTORY) {
    const offset = v.getUint32(dirOffset + CERT_DIRECTORY * 8, true);
    const size = v.getUint32(dirOffset + CERT_DIRECTORY * 8 + 4, true);
    if (offset !== 0 && size !== 0) {
      if (offset + size > bytes.length) throw new PeFormatError('certificate table runs past the end of the file');
      pe.certTable = { offset, size };
    }
  }
  return pe;
}

function readSections(bytes: Uint8Array, at: number, count: number): PeSection[] {
  const v = view(bytes);
  const sections: PeSection[] = [];
  for (let i = 0; i < count; i++, at += SECTION_HEADER_SIZE) {
    const raw = bytes.subarray(at, at + 8);
    const nul = raw.indexOf(0);
    sections.push({
      name: new TextDecoder().decode(nul < 0 ? raw : raw.subarray(0, nul)),
      virtualSize: v.getUint32(at + 8, true),
      virtualAddress: v.getUint32(at + 12, true),
      sizeOfRawData: v.getUint32(at + 16, true),
      pointerToRawData: v.getUint32(at + 20, true),
      characteristics: v.getUint32(at + 36, true),
    });
  }
  return sections;
}

/** A section's content as loaded: its raw bytes, cut to the virtual size (the rest is file padding). */
export function sectionData(bytes: Uint8Array, s: PeSection): Uint8Array {
  const size = s.virtualSize === 0 ? s.sizeOfRawData : Math.min(s.virtualSize, s.sizeOfRawData);
  if (s.pointerToRawData + size > bytes.length) throw new PeFormatError(`section ${s.name} runs past the end of the file`);
  return bytes.subarray(s.pointerToRawData, s.pointerToRawData + size);
}

export function findSection(pe: PeImage, name: string): PeSection | undefined {
  return pe.sections.find((s) => s.name === name);
}

/**
 * The optional header's CheckSum as imagehlp's CheckSumMappedFile computes it: 16-bit one's-
 * complement-style sum of the file with the CheckSum field taken as zero, plus the file length.
 */
export function peChecksum(bytes: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  const v = view(bytes);
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) {
    if (i === checksumOffset || i === checksumOffset + 2) continue;
    sum += v.getUint16(i, true);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (bytes.length & 1) {
    sum += bytes[bytes.length - 1]!;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + bytes.length) >>> 0;
}

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
