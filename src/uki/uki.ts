// SPDX-License-Identifier: GPL-2.0-or-later
// A unified kernel image from its parts (the UAPI UKI specification): the stub's sections, then
// .osrel, .cmdline, .uname, .splash, .initrd and, last, .linux (ukify's order: the kernel's memory
// may run past its data, so nothing follows it). Pure; the parts are read by src/host/uki.ts.
import { appendSections, type NewSection } from './layout.ts';
import { isPe, machineName, parsePe, PeFormatError } from './pe.ts';

export interface UkiParts {
  /** the kernel image (a bzImage with its PE header, as the EFI stub boots it) */
  linux: Uint8Array;
  /** the initramfs: early microcode cpio, then the compressed archive */
  initrd: Uint8Array;
  /** the kernel command line; without one systemd-stub takes the boot loader's, even under Secure Boot */
  cmdline?: string;
  /** os-release of the system the image boots */
  osrel: Uint8Array;
  /** the kernel version */
  uname: string;
  /** a BMP shown while booting */
  splash?: Uint8Array;
}

/** Section names in the order they are appended. */
export const UKI_SECTION_ORDER = ['.osrel', '.cmdline', '.uname', '.splash', '.initrd', '.linux'] as const;

/**
 * /etc/kernel/cmdline style text as one line: words split on any whitespace (newlines included),
 * `#` comment lines dropped, joined by single spaces, as kernel-install reads that file.
 */
export function normalizeCmdline(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join(' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

/** What is wrong with `linux` as an EFI-stub kernel for a stub of `machine`, or undefined. */
export function checkKernel(linux: Uint8Array, machine: number): string | undefined {
  if (!isPe(linux)) return 'not an EFI-bootable kernel image (no MZ header)';
  // The x86 boot protocol header: "HdrS" at 0x202 in every bzImage.
  const hdrS = linux.length > 0x206 && new TextDecoder().decode(linux.subarray(0x202, 0x206)) === 'HdrS';
  if (machine === 0x8664 && !hdrS) return 'not an x86 bzImage (no HdrS boot header)';
  let kernelMachine: number;
  try {
    kernelMachine = parsePe(linux).machine;
  } catch (err) {
    return `not a PE image (${(err as Error).message})`;
  }
  if (kernelMachine !== machine) return `built for ${machineName(kernelMachine)}, the stub for ${machineName(machine)}`;
  return undefined;
}

/**
 * The version a bzImage carries (the x86 boot header's kernel_version: an offset, from 0x200, of
 * "6.1.0-56-amd64 (debian-kernel@…) #1 SMP …"), as `file` and ukify read it; undefined without one.
 */
export function bzImageVersion(linux: Uint8Array): string | undefined {
  if (linux.length < 0x210 || new TextDecoder().decode(linux.subarray(0x202, 0x206)) !== 'HdrS') return undefined;
  const offset = (linux[0x20e]! | (linux[0x20f]! << 8)) + 0x200;
  if (offset === 0x200 || offset >= linux.length) return undefined;
  const end = linux.indexOf(0, offset);
  const text = new TextDecoder().decode(linux.subarray(offset, end < 0 ? Math.min(linux.length, offset + 256) : end));
  return /^(\S+)/.exec(text)?.[1];
}

export function isBmp(data: Uint8Array): boolean {
  return data.length > 54 && data[0] === 0x42 && data[1] === 0x4d;
}

export function ukiSections(parts: UkiParts): NewSection[] {
  const enc = new TextEncoder();
  const sections: NewSection[] = [{ name: '.osrel', data: parts.osrel }];
  if (parts.cmdline !== undefined) sections.push({ name: '.cmdline', data: enc.encode(parts.cmdline) });
  sections.push({ name: '.uname', data: enc.encode(parts.uname) });
  if (parts.splash) sections.push({ name: '.splash', data: parts.splash });
  sections.push({ name: '.initrd', data: parts.initrd });
  // The kernel's own SizeOfImage covers its bss: reserve it, so a stub that runs the kernel in place
  // (or a loader honouring VirtualSize) never lets it overwrite memory past the section.
  sections.push({ name: '.linux', data: parts.linux, virtualSize: parsePe(parts.linux).sizeOfImage, code: true });
  return sections;
}

/** The UKI: `stub` with the parts appended. Throws PeFormatError on a bad stub or kernel. */
export function makeUki(stub: Uint8Array, parts: UkiParts): Uint8Array {
  const machine = parsePe(stub).machine;
  const bad = checkKernel(parts.linux, machine);
  if (bad) throw new PeFormatError(`kernel image: ${bad}`);
  if (parts.splash && !isBmp(parts.splash)) throw new PeFormatError('splash: not a BMP image');
  return appendSections(stub, ukiSections(parts));
}
