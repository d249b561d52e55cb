// SPDX-License-Identifier: GPL-2.0-or-later
// The host side of --uki: reads the stub, the kernel image, os-release and the command line (from
// the flags' files, else from --base), and signs (src/uki/sign.ts), checking the result with
// sbverify before anything replaces OUT. The private key is read into memory only: never copied
// into the image, a file, or a log.
import type Crypto from 'node:crypto';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, warn } from '../log.ts';
import { readSignatures } from '../uki/authenticode.ts';
import { checkUki } from '../uki/check.ts';
import { machineName, parsePe, PeFormatError } from '../uki/pe.ts';
import { signPe } from '../uki/sign.ts';
import { bzImageVersion, makeUki, normalizeCmdline, type UkiParts } from '../uki/uki.ts';
import { BaseFs } from './base.ts';
import { makeScratch } from './scratch.ts';
import { probeTool } from './tools.ts';
/** node:crypto is loaded where a UKI is signed or checked, not at every start. */
const crypto = () => require('node:crypto') as typeof Crypto;

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
  // A kernel image of another version than the modules would boot without any of them.
  const version = bzImageVersion(linux);
  if (version !== undefined && version !== kver) throw new UserError(`the kernel image is ${version}, but the modules are for ${kver}: give --kernel ${version} or a matching --kernel-image`);
  const stubPath = STUBS[machine];
  const stub = u.stub !== undefined ? readHostFile('--uki-stub', u.stub)
    : stubPath ? readBaseFile(base, 'EFI stub (systemd-boot-efi, or --uki-stub)', [stubPath])
    : (() => { throw new UserError(`no EFI stub known for this kernel's machine; give --uki-stub`); })();
  const osrel = readBaseFile(base, 'os-release', ['/etc/os-release', '/usr/lib/os-release']);
  const cmdline = readCmdline(base, u.cmdline, u.sign !== undefined);
  const splash = u.splash === undefined ? undefined : readHostFile('--splash', u.splash);
  return { stub, parts: { linux, osrel, uname: kver, ...(cmdline === undefined ? {} : { cmdline }), ...(splash ? { splash } : {}) } };
}

/**
 * --cmdline, else the base's /etc/kernel/cmdline or /usr/lib/kernel/cmdline (kernel-install's files).
 * A signed UKI must carry one: without it systemd-stub takes the boot loader's, Secure Boot or not,
 * and `init=/bin/sh` typed there would run a shell that the signature was meant to rule out.
 */
function readCmdline(base: BaseFs, given: string | undefined, signed: boolean): string | undefined {
  if (given !== undefined) return normalizeCmdline(given);
  for (const p of ['/etc/kernel/cmdline', '/usr/lib/kernel/cmdline']) {
    if (base.stat(p)?.isFile()) return normalizeCmdline(base.readFile(p).toString());
  }
  if (signed) throw new UserError('a signed UKI needs a command line (--cmdline or /etc/kernel/cmdline): without one, whoever is at the boot loader chooses it');
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

/** The private key of --sign-key, in memory only: never written, copied or printed. */
function readSigningKey(path: string): KeyObject {
  try {
    return crypto().createPrivateKey(readFileSync(path));
  } catch (err) {
    const encrypted = /passphrase|encrypted|bad decrypt/i.test((err as Error).message);
    throw new UserError(encrypted
      ? `--sign-key: ${path} is encrypted; decrypt it to a private file first (openssl pkey -in KEY -out PLAIN)`
      : `--sign-key: ${path} is not a PEM private key`);
  }
}

function readCertificate(path: string): X509Certificate {
  try {
    return new (crypto().X509Certificate)(readFileSync(path));
  } catch {
    throw new UserError(`--sign-cert: ${path} is not an X.509 certificate (PEM or DER)`);
  }
}

/**
 * Signs `image` (src/uki/sign.ts: deterministic, no signing time) and checks the result twice
 * before anything replaces OUT: with our own reader, and with sbverify against the certificate,
 * the reference. sbverify reads a file: a private temporary directory, removed whatever happens.
 */
export async function runSignUki(image: Uint8Array, keyPath: string, certPath: string): Promise<Uint8Array> {
  if (!Bun.which('sbverify')) throw new UserError('checking the signature needs sbverify (Debian package sbsigntool)');
  let signed: Uint8Array;
  try {
    signed = signPe(image, readSigningKey(keyPath), readCertificate(certPath));
  } catch (err) {
    if (err instanceof PeFormatError) throw new UserError(`cannot sign the UKI: ${err.message}`);
    throw err;
  }
  const own = readSignatures(signed, parsePe(signed));
  if (own.length !== 1 || !own[0]!.valid) throw new Error(`internal: the UKI signature does not verify (${own[0]?.problem ?? 'none found'})`);
  const scratch = makeScratch('sign');
  try {
    const file = join(scratch.path, 'signed.efi');
    writeFileSync(file, signed, { mode: 0o600 });
    const v = await probeTool(['sbverify', '--cert', certPath, file]);
    if (!v.ok) throw new UserError(`sbverify refuses the signed UKI: ${lastLine(v.stderr + v.stdout)}`);
    return signed;
  } finally {
    scratch.remove();
  }
}

function lastLine(text: string): string {
  // sbsigntool warns about "gaps between PE/COFF sections" on some images; the cause is the last line.
  return text.trim().split('\n').filter((l) => !l.startsWith('warning:')).at(-1) ?? 'no output';
}

/** build.ts's UKI step: the image bytes wrapped (and signed) as one UKI. */
export async function wrapInUki(baseDir: string, kver: string, u: UkiOptions, initrd: Uint8Array[]): Promise<Uint8Array[]> {
  const { stub, parts } = readUkiParts(baseDir, kver, u);
  const uki = assembleUki(stub, parts, Buffer.concat(initrd));
  const out = u.sign ? await runSignUki(uki, u.sign.key, u.sign.cert) : uki;
  // What `verify` would say of the UKI itself (its initramfs was checked before it was packed).
  const errors = checkUki(out, [kver]).filter((p) => p.severity === 'error');
  if (errors.length) throw new UserError(`the UKI would not boot, so it was not written: ${errors[0]!.text}`);
  return [out];
}

/** --dry-run: the UKI's parts resolved and read as the build would (the initramfs aside), in words. */
export function describeUki(baseDir: string, kver: string, u: UkiOptions): string[] {
  const { stub, parts } = readUkiParts(baseDir, kver, u);
  const signer = u.sign ? (readSigningKey(u.sign.key), readCertificate(u.sign.cert).subject.replaceAll('\n', ', ')) : undefined;
  return [
    `uki: ${machineName(parsePe(stub).machine)} stub ${u.stub ?? '(the base\'s systemd-boot-efi)'}, kernel ${bzImageVersion(parts.linux) ?? kver} ${u.kernelImage ?? `(the base's /boot/vmlinuz-${kver})`}`,
    `uki .cmdline: ${parts.cmdline ?? '(none: the boot loader\'s)'}`,
    `uki signed by: ${signer ?? '(unsigned)'}`,
  ];
}
