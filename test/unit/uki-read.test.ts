// SPDX-License-Identifier: GPL-2.0-or-later
// Reading UKIs back (src/uki/read.ts, src/uki/authenticode.ts): the signer as `sbverify --list`
// names it, a signature that `sbverify` accepts is valid here and one byte changed anywhere that
// Authenticode covers makes it invalid, and os-release values unquoted as a shell would.
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSignatures } from '../../src/uki/authenticode.ts';
import { findSection, parsePe } from '../../src/uki/pe.ts';
import { parseOsRelease, readUki, renderUkiReport } from '../../src/uki/read.ts';
import { bzImageVersion, makeUki } from '../../src/uki/uki.ts';
import { checkUki } from '../../src/uki/check.ts';
import { missing, testNeeding } from './need.ts';
import { NEWEST_SIGNED_KERNEL } from './kernels.ts';
import { tempDir } from '../temp-dirs.ts';

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const KERNEL = spawnSync('sh', ['-c', 'ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1'], { encoding: 'utf8' }).stdout.trim() || '/boot/vmlinuz-(none)';

function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

test('parseOsRelease: quoted and bare values, comments and junk ignored', () => {
  const text = '# comment\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID=\'12\'\nPRETTY_NAME="say \\"hi\\""\nnot a line\n';
  expect(parseOsRelease(text)).toEqual({ NAME: 'Debian GNU/Linux', ID: 'debian', VERSION_ID: '12', PRETTY_NAME: 'say "hi"' });
});

// The newest signed one: an unsigned kernel (linux-image-6.12*-unsigned) may be newer.
testNeeding(missing(NEWEST_SIGNED_KERNEL, 'sbverify'), "Debian's signed kernel: valid, signed by whom sbverify --list says", () => {
  const bytes = readFileSync(NEWEST_SIGNED_KERNEL);
  const sigs = readSignatures(bytes, parsePe(bytes));
  expect(sigs).toHaveLength(1);
  expect(sigs[0]!.valid).toBe(true);
  const listed = sh(['sbverify', '--list', NEWEST_SIGNED_KERNEL]).out;
  const subject = /subject: (\S.*)$/m.exec(listed)![1]!; // "/CN=Debian Secure Boot Signer 2022 - linux"
  expect(`/${sigs[0]!.subject.replaceAll(', ', '/')}`).toBe(subject);
});

testNeeding(missing(STUB, KERNEL, 'sbsign', 'sbverify', 'openssl'), 'a UKI signed by sbsign: valid; a changed byte in a section or header is not', () => {
  const dir = tempDir('uki-read');
  try {
    const enc = new TextEncoder();
    const uki = makeUki(readFileSync(STUB), {
      linux: readFileSync(KERNEL), initrd: enc.encode('initrd'), cmdline: 'root=/dev/vda', osrel: enc.encode('ID=test\n'), uname: '1.2.3',
    });
    writeFileSync(join(dir, 'u.efi'), uki);
    expect(sh(['openssl', 'req', '-new', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '1', '-subj', '/CN=reader test/']).ok).toBe(true);
    expect(sh(['sbsign', '--key', join(dir, 'k'), '--cert', join(dir, 'c'), '--output', join(dir, 's.efi'), join(dir, 'u.efi')]).ok).toBe(true);
    const signed = readFileSync(join(dir, 's.efi'));
    const { report, initrd } = readUki(signed);
    expect(report.signatures).toEqual([expect.objectContaining({ subject: 'CN=reader test', valid: true, digest: 'sha256' })]);
    expect(report).toMatchObject({ uname: '1.2.3', cmdline: 'root=/dev/vda', osrel: { ID: 'test' } });
    expect(new TextDecoder().decode(initrd)).toBe('initrd');
    expect(readUki(uki).report.signatures).toEqual([]);
    const pe = parsePe(signed);
    // One byte of the command line, then one of the header (the stub's subsystem field).
    for (const at of [findSection(pe, '.cmdline')!.pointerToRawData, pe.optOffset + 68]) {
      const changed = Buffer.from(signed);
      changed[at] = changed[at]! ^ 0x01;
      writeFileSync(join(dir, 'x.efi'), changed);
      expect(sh(['sbverify', '--cert', join(dir, 'c'), join(dir, 'x.efi')]).ok).toBe(false);
      expect(readUki(changed).report.signatures[0]).toMatchObject({ valid: false, problem: expect.stringContaining('digest mismatch') });
    }
    // The CheckSum field is outside the signed digest: changing it changes nothing.
    const checksum = Buffer.from(signed);
    checksum[pe.optOffset + 64] = checksum[pe.optOffset + 64]! ^ 0xff;
    expect(readUki(checksum).report.signatures[0]!.valid).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

testNeeding(missing(KERNEL, 'file'), 'bzImageVersion: the version `file` reads from the boot header', () => {
  const version = /version (\S+)/.exec(sh(['file', '-b', KERNEL]).out)![1]!;
  expect(bzImageVersion(readFileSync(KERNEL))).toBe(version);
  expect(bzImageVersion(readFileSync(STUB))).toBeUndefined();
});

testNeeding(missing(STUB, KERNEL), 'checkUki: what verify reports beyond the initramfs', () => {
  const enc = new TextEncoder();
  const linux = readFileSync(KERNEL);
  const kver = bzImageVersion(linux)!;
  const parts = { linux, initrd: enc.encode('i'), cmdline: 'root=/dev/vda', osrel: enc.encode('ID=t\n'), uname: kver };
  expect(checkUki(makeUki(readFileSync(STUB), parts), [kver])).toEqual([]);
  expect(checkUki(makeUki(readFileSync(STUB), parts), ['0.0.1-other'])).toEqual([
    { severity: 'error', text: `the kernel is ${kver}, but the initramfs has kernel modules for 0.0.1-other` },
  ]);
  expect(checkUki(makeUki(readFileSync(STUB), { ...parts, uname: '0.0.1-other' }), [])).toEqual([
    { severity: 'error', text: `the kernel in .linux is ${kver}, the UKI says 0.0.1-other (.uname)` },
  ]);
  const { cmdline: _none, ...noCmdline } = parts;
  expect(checkUki(makeUki(readFileSync(STUB), noCmdline), [kver]).map((p) => p.severity)).toEqual(['warning']);
  expect(checkUki(readFileSync(STUB), []).filter((p) => p.severity === 'error').map((p) => p.text)).toEqual([
    'the UKI has no .linux section: there is no kernel to start',
    'the UKI has no .initrd section',
  ]);
});

testNeeding(missing(STUB, KERNEL), 'renderUkiReport: a UKI says so; a PE without .linux and .initrd (a kernel) says it is not one', () => {
  const enc = new TextEncoder();
  const uki = makeUki(readFileSync(STUB), { linux: readFileSync(KERNEL), initrd: enc.encode('i'), cmdline: 'a b', osrel: enc.encode('PRETTY_NAME="P N"\nID=t\n'), uname: '1.2' });
  const lines = renderUkiReport(readUki(uki).report);
  expect(lines[0]).toMatch(/^unified kernel image \(x86-64\), \d+ sections:$/);
  expect(lines).toEqual(expect.arrayContaining(['kernel version: 1.2', 'command line: a b', 'os-release: P N (ID=t)', 'signed: no']));
  expect(renderUkiReport(readUki(readFileSync(KERNEL)).report)[0]).toStartWith('PE image, not a unified kernel image');
});
