// SPDX-License-Identifier: GPL-2.0-or-later
// What `inspect` shows of a unified kernel image: its sections (as objdump -h places them), the
// kernel version, command line and os-release it carries, its signatures, and the initramfs bytes
// for the usual segment listing. Pure.
import { readSignatures, type SignatureInfo } from './authenticode.ts';
import { findSection, isPe, machineName, parsePe, sectionData } from './pe.ts';

export interface UkiSectionInfo {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  fileOffset: number;
  /** bytes of content (what objdump -h calls Size) */
  size: number;
  sha256: string;
}

export interface UkiReport {
  machine: string;
  sections: UkiSectionInfo[];
  uname?: string;
  cmdline?: string;
  osrel?: Record<string, string>;
  signatures: SignatureInfo[];
}

export { isPe };

/** os-release lines: KEY=value, the value unquoted as a shell would. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const raw = m[2]!;
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    out[m[1]!] = quoted ? quoted[2]!.replace(/\\(["\\$`])/g, '$1') : raw;
  }
  return out;
}

/** The report and the .initrd content; throws PeFormatError for a broken PE. */
export function readUki(bytes: Uint8Array): { report: UkiReport; initrd?: Uint8Array } {
  const pe = parsePe(bytes);
  const text = (name: string) => {
    const s = findSection(pe, name);
    return s ? new TextDecoder().decode(sectionData(bytes, s)).replace(/\0+$/, '') : undefined;
  };
  const sections = pe.sections.map((s) => {
    const data = sectionData(bytes, s);
    return {
      name: s.name, virtualAddress: s.virtualAddress, virtualSize: s.virtualSize, fileOffset: s.pointerToRawData,
      size: data.length, sha256: new Bun.CryptoHasher('sha256').update(data).digest('hex'),
    };
  });
  const osrel = text('.osrel');
  const initrd = findSection(pe, '.initrd');
  const report: UkiReport = {
    machine: machineName(pe.machine),
    sections,
    ...(text('.uname') !== undefined ? { uname: text('.uname') } : {}),
    ...(text('.cmdline') !== undefined ? { cmdline: text('.cmdline') } : {}),
    ...(osrel !== undefined ? { osrel: parseOsRelease(osrel) } : {}),
    signatures: readSignatures(bytes, pe),
  };
  return { report, ...(initrd ? { initrd: sectionData(bytes, initrd) } : {}) };
}

function hexAddr(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

export function renderUkiReport(r: UkiReport): string[] {
  const isUki = ['.linux', '.initrd'].every((n) => r.sections.some((s) => s.name === n));
  const lines = [`${isUki ? 'unified kernel image' : 'PE image, not a unified kernel image (no .linux and .initrd)'} (${r.machine}), ${r.sections.length} sections:`];
  for (const s of r.sections) {
    lines.push(`  ${s.name.padEnd(9)} vma ${hexAddr(s.virtualAddress)} file ${hexAddr(s.fileOffset)} ${String(s.size).padStart(10)} bytes`);
  }
  lines.push(`kernel version: ${r.uname ?? '(no .uname)'}`);
  lines.push(`command line: ${r.cmdline ?? '(no .cmdline: the boot loader\'s is used)'}`);
  if (r.osrel) lines.push(`os-release: ${r.osrel.PRETTY_NAME ?? r.osrel.NAME ?? '?'} (ID=${r.osrel.ID ?? '?'}${r.osrel.VERSION_ID ? ` VERSION_ID=${r.osrel.VERSION_ID}` : ''})`);
  if (r.signatures.length === 0) lines.push('signed: no');
  for (const s of r.signatures) {
    const state = s.valid ? 'signature valid' : `SIGNATURE INVALID: ${s.problem}`;
    lines.push(`signed: by ${s.subject} (issuer ${s.issuer}, serial ${s.serial}, ${s.digest}): ${state}`);
  }
  lines.push('');
  return lines;
}
