// SPDX-License-Identifier: GPL-2.0-or-later
// The UKI writer (src/uki) against the references: binutils `objdump -h` reads the section table we
// write, sbsigntool (`sbverify --list`, `sbsign`) parses the PE as strictly as a signer does, the
// PE CheckSum agrees with the values the linker, Debian's kernel build and sbsign computed, and the
// layout follows the UKI specification's rules (order, alignment, no overlap, .linux last).
import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendSections } from '../../src/uki/layout.ts';
import { findSection, parsePe, peChecksum, PeFormatError, sectionData, type PeImage } from '../../src/uki/pe.ts';
import { makeUki, normalizeCmdline, UKI_SECTION_ORDER, type UkiParts } from '../../src/uki/uki.ts';
import { describeNeeding, missing, testNeeding } from './need.ts';
import { NEWEST_SIGNED_KERNEL } from './kernels.ts';
import { tempDir } from '../temp-dirs.ts';

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
const kernels = spawnSync('sh', ['-c', 'ls /boot/vmlinuz-* 2>/dev/null | sort -V'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
const KERNEL = kernels.at(-1) ?? '/boot/vmlinuz-(none installed)';

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

/** `objdump -h` rows: name, size, VMA, file offset. */
function objdumpSections(file: string): { name: string; size: number; vma: number; off: number }[] {
  const rows = [...run('objdump', ['-h', file]).out.matchAll(/^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/gm)];
  return rows.map((m) => ({ name: m[1]!, size: parseInt(m[2]!, 16), vma: parseInt(m[3]!, 16), off: parseInt(m[4]!, 16) }));
}

test('normalizeCmdline: /etc/kernel/cmdline text as one line', () => {
  const cases: [string, string][] = [
    ['root=/dev/vda ro\n', 'root=/dev/vda ro'],
    ['  root=/dev/vda\n\tquiet  \nrw\n', 'root=/dev/vda quiet rw'],
    ['# a comment\nroot=LABEL=x\n  # another\nsqsh_layers=a:b\n', 'root=LABEL=x sqsh_layers=a:b'],
    ['', ''],
  ];
  for (const [text, want] of cases) expect(normalizeCmdline(text)).toBe(want);
});

test('parsePe refuses what is not a PE image', () => {
  expect(() => parsePe(new Uint8Array(100))).toThrow(PeFormatError);
  const mz = new Uint8Array(256);
  mz.set([0x4d, 0x5a]);
  new DataView(mz.buffer).setUint32(0x3c, 0x80, true);
  expect(() => parsePe(mz)).toThrow(/no PE signature/);
});

describeNeeding(missing(STUB, BOOT, KERNEL, 'objdump', 'sbverify', 'sbsign', 'openssl'), 'UKI layout against objdump, sbsigntool and the spec', () => {
  const dir = tempDir('uki-unit');
  const stub = readFileSync(STUB);
  const linux = readFileSync(KERNEL);
  const enc = new TextEncoder();
  const parts: UkiParts = {
    linux,
    initrd: enc.encode('070701'.padEnd(9001, 'x')), // more than a page: an overlap would show
    cmdline: 'root=LABEL=r console=ttyS0',
    osrel: enc.encode('ID=debian\nVERSION_ID=12\n'),
    uname: '6.1.0-test',
  };
  const uki = makeUki(stub, parts);
  const file = join(dir, 'uki.efi');
  writeFileSync(file, uki);
  const pe = parsePe(uki);
  const stubPe = parsePe(stub);
  const added = pe.sections.slice(stubPe.sections.length);

  test('objdump -h reads every section where we put it', () => {
    const seen = objdumpSections(file);
    expect(seen.map((s) => s.name)).toEqual(pe.sections.map((s) => s.name));
    for (const [i, s] of pe.sections.entries()) {
      expect(seen[i]).toEqual({ name: s.name, size: Math.min(s.virtualSize || s.sizeOfRawData, s.sizeOfRawData), vma: s.virtualAddress, off: s.pointerToRawData });
    }
  });

  test('the stub is kept as it was; the UKI sections follow it, in order, .linux last', () => {
    expect(pe.sections.slice(0, stubPe.sections.length)).toEqual(stubPe.sections);
    expect(added.map((s) => s.name)).toEqual(UKI_SECTION_ORDER.filter((n) => n !== '.splash'));
    expect(added.at(-1)!.name).toBe('.linux');
    for (const s of stubPe.sections) expect(uki.subarray(s.pointerToRawData, s.pointerToRawData + s.sizeOfRawData)).toEqual(stub.subarray(s.pointerToRawData, s.pointerToRawData + s.sizeOfRawData));
  });

  test('each section holds exactly its part', () => {
    const text = (n: string) => new TextDecoder().decode(sectionData(uki, findSection(pe, n)!));
    expect(text('.cmdline')).toBe(parts.cmdline!);
    expect(text('.uname')).toBe(parts.uname);
    expect(text('.osrel')).toBe('ID=debian\nVERSION_ID=12\n');
    expect(sectionData(uki, findSection(pe, '.initrd')!)).toEqual(parts.initrd);
    const l = findSection(pe, '.linux')!;
    expect(uki.subarray(l.pointerToRawData, l.pointerToRawData + linux.length)).toEqual(new Uint8Array(linux));
    // The kernel's memory (its bss) is reserved in the UKI's address space.
    expect(l.virtualSize).toBe(Math.max(linux.length, parsePe(linux).sizeOfImage));
  });

  test('spec rules: aligned, ascending, non-overlapping in memory and in the file; headers and SizeOfImage cover all', () => {
    checkLayout(pe, uki.length, stubPe.sections.length);
    for (const s of added) expect(s.virtualAddress % 4096).toBe(0);
  });

  // Debian's signed kernel: sbsign set its CheckSum (an unsigned kernel's is 0, and it may be the newest).
  testNeeding(missing(NEWEST_SIGNED_KERNEL), 'CheckSum as the linker, Debian and sbsign compute it; our own is recomputed', () => {
    for (const f of [STUB, BOOT, NEWEST_SIGNED_KERNEL]) {
      const b = readFileSync(f);
      const p = parsePe(b);
      expect(peChecksum(b, p.optOffset + 64)).toBe(p.checkSum);
    }
    expect(pe.checkSum).toBe(peChecksum(uki, pe.optOffset + 64));
    expect(pe.checkSum).not.toBe(stubPe.checkSum);
  });

  test('sbsigntool parses it without complaint, signs it, and the signature verifies', () => {
    expect(run('sbverify', ['--list', file]).out).toContain('No signature table present');
    const key = join(dir, 'k.key');
    const cert = join(dir, 'c.pem');
    expect(run('openssl', ['req', '-new', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=uki unit test/']).ok).toBe(true);
    const signed = join(dir, 'signed.efi');
    const s = run('sbsign', ['--key', key, '--cert', cert, '--output', signed, file]);
    expect(s.ok).toBe(true);
    // sbsign warns when the sections leave gaps or the file has data it cannot account for.
    expect(s.out).not.toContain('warning');
    expect(run('sbverify', ['--cert', cert, signed]).out).toContain('Signature verification OK');
    // A signed file wraps again: the old signature goes, the sections stay.
    const again = appendSections(readFileSync(signed), [{ name: '.extra', data: enc.encode('x') }]);
    expect(parsePe(again).certTable).toBeUndefined();
    checkLayout(parsePe(again), again.length, added.length + stubPe.sections.length);
  }, 60_000);

  test('a splash goes before the initramfs and must be a BMP', () => {
    const bmp = new Uint8Array(70);
    bmp.set([0x42, 0x4d]);
    const withSplash = parsePe(makeUki(stub, { ...parts, splash: bmp }));
    expect(withSplash.sections.slice(stubPe.sections.length).map((s) => s.name)).toEqual([...UKI_SECTION_ORDER]);
    expect(() => makeUki(stub, { ...parts, splash: enc.encode('GIF89a'.padEnd(80)) })).toThrow(/not a BMP/);
  });

  test('refused: a UKI as a stub, a kernel that is not a bzImage, a long name, no header room', () => {
    expect(() => makeUki(uki, parts)).toThrow(/already has a .osrel section/);
    expect(() => makeUki(stub, { ...parts, linux: stub })).toThrow(/not an x86 bzImage/);
    expect(() => makeUki(stub, { ...parts, linux: new Uint8Array(4096) })).toThrow(/no MZ header/);
    expect(() => appendSections(stub, [{ name: '.toolongname', data: enc.encode('x') }])).toThrow(/longer than 8 bytes/);
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `.s${i}`, data: enc.encode('x') }));
    expect(() => appendSections(stub, many)).toThrow(/no room for 40 more section headers/);
  });

  test('pure: the same parts give the same bytes', () => {
    expect(makeUki(stub, parts)).toEqual(uki);
    rmSync(dir, { recursive: true, force: true });
  });
});

/** The layout rules; VA alignment only from section `from` on (the stub's .sdmagic sits at 0x19100). */
function checkLayout(pe: PeImage, fileLength: number, from: number): void {
  const headersEnd = pe.sectionTableOffset + pe.sections.length * 40;
  expect(headersEnd).toBeLessThanOrEqual(pe.sizeOfHeaders);
  expect(pe.sizeOfHeaders % pe.fileAlignment).toBe(0);
  for (const [i, s] of pe.sections.entries()) {
    if (i >= from) expect(s.virtualAddress % pe.sectionAlignment).toBe(0);
    expect(s.pointerToRawData % pe.fileAlignment).toBe(0);
    expect(s.sizeOfRawData % pe.fileAlignment).toBe(0);
    expect(s.pointerToRawData).toBeGreaterThanOrEqual(pe.sizeOfHeaders);
    expect(s.pointerToRawData + s.sizeOfRawData).toBeLessThanOrEqual(fileLength);
    const next = pe.sections[i + 1];
    if (!next) continue;
    expect(next.virtualAddress).toBeGreaterThanOrEqual(s.virtualAddress + s.virtualSize);
    expect(next.pointerToRawData).toBeGreaterThanOrEqual(s.pointerToRawData + s.sizeOfRawData);
  }
  const last = pe.sections.at(-1)!;
  expect(pe.sizeOfImage).toBeGreaterThanOrEqual(last.virtualAddress + last.virtualSize);
  expect(pe.sizeOfImage % pe.sectionAlignment).toBe(0);
}
