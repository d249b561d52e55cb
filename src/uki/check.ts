// SPDX-License-Identifier: GPL-2.0-or-later
// `verify` of a unified kernel image: what would stop it from booting, beyond its initramfs (which
// verify checks as any image). Pure: the UKI's bytes and the kernel versions of the initramfs'
// module trees in, problems out.
import type { Problem } from '../core/verify.ts';
import { findSection, parsePe, sectionData } from './pe.ts';
import { readUki } from './read.ts';
import { bzImageVersion, checkKernel } from './uki.ts';

export function checkUki(bytes: Uint8Array, moduleVersions: readonly string[]): Problem[] {
  const out: Problem[] = [];
  const error = (text: string) => out.push({ severity: 'error', text });
  const pe = parsePe(bytes);
  const { report } = readUki(bytes);
  const linux = findSection(pe, '.linux');
  if (!linux) error('the UKI has no .linux section: there is no kernel to start');
  else {
    const bad = checkKernel(sectionData(bytes, linux), pe.machine);
    if (bad) error(`the .linux section is ${bad}`);
    const version = bzImageVersion(sectionData(bytes, linux));
    if (version !== undefined && report.uname !== undefined && version !== report.uname) {
      error(`the kernel in .linux is ${version}, the UKI says ${report.uname} (.uname)`);
    }
  }
  if (!findSection(pe, '.initrd')) error('the UKI has no .initrd section');
  if (!findSection(pe, '.osrel')) out.push({ severity: 'warning', text: 'no .osrel section: systemd-boot does not list a UKI without one' });
  if (report.cmdline === undefined) {
    out.push({ severity: 'warning', text: "no .cmdline section: the stub takes the boot loader's command line, even under Secure Boot" });
  }
  if (report.uname !== undefined && moduleVersions.length > 0 && !moduleVersions.includes(report.uname)) {
    error(`the kernel is ${report.uname}, but the initramfs has kernel modules for ${moduleVersions.join(', ')}`);
  }
  for (const s of report.signatures) {
    if (!s.valid) error(`the signature by ${s.subject} does not verify (${s.problem}): Secure Boot refuses it`);
  }
  return out;
}
