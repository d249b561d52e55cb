// SPDX-License-Identifier: GPL-2.0-or-later
// The host side of --uki: reads the stub, the kernel image, os-release and the command line (from
// the flags' files, else from --base), and signs with sbsign, checking the result with sbverify
// before anything replaces OUT. The keys are only ever passed to sbsign by path: never read,
// copied into the image, or logged.
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError, warn } from '../log.ts';
import { parsePe, PeFormatError } from '../uki/pe.ts';
import { makeUki, normalizeCmdline, type UkiParts } from '../uki/uki.ts';
import { BaseFs } from './base.ts';
import { probeTool } from './tools.ts';

export interface UkiOptions {
  stub?: string;
  kernelImage?: string;
  cmdline?: string;
  splash?: string;
  sign?: { key: string; cert: string };
}

/** systemd-boot-efi's stub per PE machine of the kernel. */
const STUBS: Record<number, string> = {
  0x8664: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub',
  0x14c: '/usr/lib/systemd/boot/efi/linuxia32.efi.stub',
  0xaa64: '/usr/lib/systemd/boot/efi/linuxaa64.efi.stub',
};

function readHostFile(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${what}: cannot read ${path}${code === 'ENOENT' ? ': no such file' : ''}`);
  }
}

function readBaseFile(base: BaseFs, what: string, paths: string[]): Uint8Array {
  const found = paths.find((p) => base.stat(p)?.isFile());
  if (found === undefined) throw new UserError(`${what}: none of ${paths.join(', ')} in base ${base.root}`);
  return base.readFile(found);
}

/** Fails before any work when a file the UKI needs from the flags is missing or unreadable. */
export function checkUkiFiles(u: UkiOptions): void {
  const files: [string, string | undefined][] = [
    ['--uki-stub', u.stub], ['--kernel-image', u.kernelImage], ['--splash', u.splash],
    ['--sign-key', u.sign?.key], ['--sign-cert', u.sign?.cert],
  ];
  for (const [flag, path] of files) {
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch {
      throw new UserError(`${flag}: cannot read ${path}`);
    }
  }
}

/** Everything but the initramfs, from the flags' files or the base. */
export function readUkiParts(baseDir: string, kver: string, u: UkiOptions): { stub: Uint8Array; parts: Omit<UkiParts, 'initrd'> } {
  const base = new BaseFs(baseDir);
  const linux = u.kernelImage !== undefined
    ? readHostFile('--kernel-image', u.kernelImage)
    : readBaseFile(base, 'kernel image', [`/boot/vmlinuz-${kver}`, `/usr/lib/modules/${kver}/vmlinuz`, `/lib/modules/${kver}/vmlinuz`]);
  let machine: number;
  try {
    machine = parsePe(linux).machine;
  } catch {
    throw new UserError(`kernel image for ${kver} is not EFI-bootable (no PE header)`);
  }
  const stubPath = STUBS[machine];
  const stub = u.stub !== undefined ? readHostFile('--uki-stub', u.stub)
    : stubPath ? readBaseFile(base, 'EFI stub (systemd-boot-efi, or --uki-stub)', [stubPath])
    : (() => { throw new UserError(`no EFI stub known for this kernel's machine; give --uki-stub`); })();
  const osrel = readBaseFile(base, 'os-release', ['/etc/os-release', '/usr/lib/os-release']);
  const cmdline = readCmdline(base, u.cmdline);
  const splash = u.splash === undefined ? undefined : readHostFile('--splash', u.splash);
  return { stub, parts: { linux, osrel, uname: kver, ...(cmdline === undefined ? {} : { cmdline }), ...(splash ? { splash } : {}) } };
}

/** --cmdline, else the base's /etc/kernel/cmdline or /usr/lib/kernel/cmdline (kernel-install's files). */
function readCmdline(base: BaseFs, given: string | undefined): string | undefined {
  if (given !== undefined) return normalizeCmdline(given);
  for (const p of ['/etc/kernel/cmdline', '/usr/lib/kernel/cmdline']) {
    if (base.stat(p)?.isFile()) return normalizeCmdline(base.readFile(p).toString());
  }
  // systemd-stub then takes the boot loader's command line, Secure Boot or not.
  warn('no --cmdline and no /etc/kernel/cmdline: the UKI has no .cmdline, so whoever is at the boot loader chooses one');
  return undefined;
}

/** The UKI around `initrd`; a bad stub or kernel is the user's error, said in one line. */
export function assembleUki(stub: Uint8Array, parts: Omit<UkiParts, 'initrd'>, initrd: Uint8Array): Uint8Array {
  try {
    return makeUki(stub, { ...parts, initrd });
  } catch (err) {
    if (err instanceof PeFormatError) throw new UserError(`cannot make the UKI: ${err.message}`);
    throw err;
  }
}

/**
 * Signs `image` with sbsign and checks it with sbverify against the same certificate. Works in a
 * private temporary directory (mode 0700), removed whatever happens.
 */
export async function runSignUki(image: Uint8Array, key: string, cert: string): Promise<Uint8Array> {
  for (const tool of ['sbsign', 'sbverify']) {
    if (!Bun.which(tool)) throw new UserError(`signing needs ${tool} (Debian package sbsigntool)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mkruckus-sign-'));
  try {
    const unsigned = join(dir, 'unsigned.efi');
    const signed = join(dir, 'signed.efi');
    writeFileSync(unsigned, image, { mode: 0o600 });
    const s = await probeTool(['sbsign', '--key', key, '--cert', cert, '--output', signed, unsigned]);
    if (!s.ok) throw new UserError(`sbsign failed: ${lastLine(s.stderr)}`);
    const v = await probeTool(['sbverify', '--cert', cert, signed]);
    if (!v.ok) throw new UserError(`the signed UKI does not verify against ${cert}: ${lastLine(v.stderr + v.stdout)}`);
    return readFileSync(signed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function lastLine(text: string): string {
  // sbsigntool warns about "gaps between PE/COFF sections" on every run; the cause is the last line.
  return text.trim().split('\n').filter((l) => !l.startsWith('warning:')).at(-1) ?? 'no output';
}

/** build.ts's UKI step: the image bytes wrapped (and signed) as one UKI. */
export async function wrapInUki(baseDir: string, kver: string, u: UkiOptions, initrd: Uint8Array[]): Promise<Uint8Array[]> {
  const { stub, parts } = readUkiParts(baseDir, kver, u);
  const uki = assembleUki(stub, parts, Buffer.concat(initrd));
  return [u.sign ? await runSignUki(uki, u.sign.key, u.sign.cert) : uki];
}
