// SPDX-License-Identifier: GPL-2.0-or-later
// Appending sections to an EFI stub: the section layout of a unified kernel image (the UAPI UKI
// specification, and what ukify does). New sections come after the stub's own, each at a page-
// aligned virtual address (no overlap, in ascending order) and at a FileAlignment-aligned file
// offset; SizeOfImage, SizeOfInitializedData and CheckSum are updated. Pure: bytes in, bytes out.
import { alignUp, parsePe, peChecksum, PeFormatError, SECTION_HEADER_SIZE, type PeImage, type PeSection } from './pe.ts';

export interface NewSection {
  /** at most 8 bytes: longer names need a COFF string table, which image files do not have */
  name: string;
  data: Uint8Array;
  /** bytes it takes in memory when more than its data (the kernel's SizeOfImage: its bss follows) */
  virtualSize?: number;
  /** IMAGE_SCN_CNT_CODE instead of initialized data (.linux: a kernel run in place by the stub) */
  code?: boolean;
}

const SCN_CNT_CODE = 0x20;
const SCN_CNT_INITIALIZED_DATA = 0x40;
const SCN_MEM_READ = 0x40000000;
/** New sections start on page boundaries whatever the stub's SectionAlignment, for page protections. */
const PAGE = 4096;

/** Where each new section goes: its header fields, computed from the stub's layout. */
export function planSections(stub: PeImage, fileLength: number, sections: readonly NewSection[]): PeSection[] {
  const fa = stub.fileAlignment;
  const align = Math.max(stub.sectionAlignment, PAGE);
  let fileEnd = alignUp(Math.max(stub.sizeOfHeaders, ...stub.sections.map((s) => s.pointerToRawData + s.sizeOfRawData)), fa);
  let memEnd = alignUp(Math.max(stub.sizeOfHeaders, ...stub.sections.map((s) => s.virtualAddress + Math.max(s.virtualSize, s.sizeOfRawData))), align);
  if (fileEnd > fileLength) throw new PeFormatError('section data runs past the end of the stub');
  return sections.map((s) => {
    if (new TextEncoder().encode(s.name).length > 8) throw new PeFormatError(`section name ${s.name} is longer than 8 bytes`);
    const virtualSize = Math.max(s.data.length, s.virtualSize ?? 0);
    const placed: PeSection = {
      name: s.name,
      virtualSize,
      virtualAddress: memEnd,
      sizeOfRawData: alignUp(s.data.length, fa),
      pointerToRawData: fileEnd,
      characteristics: SCN_MEM_READ | (s.code ? SCN_CNT_CODE : SCN_CNT_INITIALIZED_DATA),
    };
    fileEnd += placed.sizeOfRawData;
    memEnd = alignUp(memEnd + Math.max(virtualSize, placed.sizeOfRawData), align);
    return placed;
  });
}

/** The stub with `sections` appended. A signature on the stub is dropped (it cannot stay valid). */
export function appendSections(stubBytes: Uint8Array, sections: readonly NewSection[]): Uint8Array {
  const stub = parsePe(stubBytes);
  checkStub(stub, sections);
  const placed = planSections(stub, stubBytes.length, sections);
  const headersEnd = stub.sectionTableOffset + (stub.sections.length + placed.length) * SECTION_HEADER_SIZE;
  const firstData = Math.min(...stub.sections.filter((s) => s.sizeOfRawData > 0).map((s) => s.pointerToRawData));
  if (headersEnd > firstData) {
    throw new PeFormatError(`no room for ${placed.length} more section headers before the stub's first section (${headersEnd} > ${firstData})`);
  }
  const last = placed.at(-1)!;
  const out = new Uint8Array(last.pointerToRawData + last.sizeOfRawData);
  // The stub up to the end of its own sections: a trailing symbol table or signature is not copied.
  out.set(stubBytes.subarray(0, Math.min(stubBytes.length, placed[0]!.pointerToRawData)));
  const v = new DataView(out.buffer);
  placed.forEach((s, i) => {
    writeSectionHeader(v, stub.sectionTableOffset + (stub.sections.length + i) * SECTION_HEADER_SIZE, s);
    out.set(sections[i]!.data, s.pointerToRawData);
  });
  const coff = stub.peOffset + 4;
  v.setUint16(coff + 2, stub.sections.length + placed.length, true);
  if (stub.pointerToSymbolTable !== 0) {
    v.setUint32(coff + 8, 0, true);
    v.setUint32(coff + 12, 0, true);
  }
  const opt = stub.optOffset;
  const added = placed.reduce((n, s) => n + s.sizeOfRawData, 0);
  v.setUint32(opt + 8, stub.sizeOfInitializedData + added, true);
  v.setUint32(opt + 56, alignUp(last.virtualAddress + Math.max(last.virtualSize, last.sizeOfRawData), stub.sectionAlignment), true);
  v.setUint32(opt + 60, Math.max(stub.sizeOfHeaders, alignUp(headersEnd, stub.fileAlignment)), true);
  if (stub.numberOfDirs > 4) v.setBigUint64(stub.dirOffset + 4 * 8, 0n, true);
  v.setUint32(opt + 64, peChecksum(out, opt + 64), true);
  return out;
}

function checkStub(stub: PeImage, sections: readonly NewSection[]): void {
  if (sections.length === 0) throw new PeFormatError('no sections to add');
  const misaligned = stub.sections.find((s) => s.sizeOfRawData > 0 && s.pointerToRawData % stub.fileAlignment !== 0);
  if (misaligned) throw new PeFormatError(`stub section ${misaligned.name} is not aligned to its FileAlignment`);
  const names = new Set(stub.sections.map((s) => s.name));
  const clash = sections.find((s) => names.has(s.name));
  if (clash) throw new PeFormatError(`the stub already has a ${clash.name} section (is it a UKI already?)`);
}

function writeSectionHeader(v: DataView, at: number, s: PeSection): void {
  const name = new TextEncoder().encode(s.name);
  for (let i = 0; i < 8; i++) v.setUint8(at + i, name[i] ?? 0);
  v.setUint32(at + 8, s.virtualSize, true);
  v.setUint32(at + 12, s.virtualAddress, true);
  v.setUint32(at + 16, s.sizeOfRawData, true);
  v.setUint32(at + 20, s.pointerToRawData, true);
  // No relocations or line numbers: bytes 24..35 stay zero.
  v.setUint32(at + 36, s.characteristics, true);
}
