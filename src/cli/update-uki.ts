// SPDX-License-Identifier: GPL-2.0-or-later
// `update` and `remove` for unified kernel images. The images at --dest are plain initramfs images,
// whatever `uki` says in mkruckus.conf (a boot loader loads them as an initrd). The UKIs mkruckus
// made for a kernel, where boot loaders look for them (EFI/Linux on the ESP or XBOOTLDR, under
// --base), are rebuilt in place by `update` and deleted by `remove`. "Made by mkruckus": its
// .uname is the kernel and its .initrd holds /etc/ruckusrd/build.conf.
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readImage } from '../archive/read.ts';
import { build } from '../build.ts';
import { buildRequest, type CreateFlags } from '../core/request.ts';
import { BaseFs } from '../host/base.ts';
import { readConfigFiles } from '../host/config.ts';
import { isPe, readUki } from '../uki/read.ts';

/** Where systemd-boot and kernel-install put Type #2 entries: the ESP (/efi, /boot/efi) or XBOOTLDR (/boot). */
export const UKI_DIRS = ['/efi/EFI/Linux', '/boot/efi/EFI/Linux', '/boot/EFI/Linux'];

const UKI_ONLY = ['uki', 'ukiStub', 'kernelImage', 'cmdline', 'splash', 'signKey', 'signCert'] as const;

/** Flags for the plain image at --dest: no UKI, whatever the flags or files say. */
export function plainImageFlags(flags: CreateFlags): CreateFlags {
  const plain: Record<string, unknown> = { ...flags };
  for (const k of UKI_ONLY) delete plain[k];
  return { ...(plain as CreateFlags), uki: false };
}

interface FoundUki {
  path: string;
  cmdline?: string;
}

/** The UKIs of `kver` that mkruckus made, once each (/boot/efi may be /efi), in path order. */
export async function findOwnUkis(base: string, kver: string): Promise<FoundUki[]> {
  const seen = new Set<string>();
  const found: FoundUki[] = [];
  for (const dir of UKI_DIRS.map((d) => join(base, d)).filter((d) => existsSync(d))) {
    for (const name of readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.efi')).sort()) {
      const path = join(dir, name);
      const real = realpathSync(path);
      if (seen.has(real)) continue;
      seen.add(real);
      const uki = await ownUki(path, kver);
      if (uki) found.push(uki);
    }
  }
  return found;
}

async function ownUki(path: string, kver: string): Promise<FoundUki | undefined> {
  try {
    const bytes = readFileSync(path);
    if (!isPe(bytes)) return undefined;
    const { report, initrd } = readUki(bytes);
    if (report.uname !== kver || !initrd) return undefined;
    const segments = await readImage(initrd);
    if (!segments.some((s) => s.entries.some((e) => e.path === '/etc/ruckusrd/build.conf'))) return undefined;
    return { path, ...(report.cmdline !== undefined ? { cmdline: report.cmdline } : {}) };
  } catch {
    return undefined; // not a UKI we can read is not one we made
  }
}

/**
 * Rebuilds each of `kver`'s UKIs in place with the current flags and configuration, the second
 * stage embedded. The command line is the usual one (--cmdline, `cmdline =`, /etc/kernel/cmdline);
 * when there is none, the UKI keeps the one it has, so a rebuild never drops it.
 */
export async function updateOwnUkis(flags: Omit<CreateFlags, 'out'>, base: string, kver: string): Promise<string[]> {
  const lines: string[] = [];
  const config = readConfigFiles(base);
  const fs = new BaseFs(base);
  const usual = flags.cmdline !== undefined || config.cmdline !== undefined
    || ['/etc/kernel/cmdline', '/usr/lib/kernel/cmdline'].some((p) => fs.stat(p)?.isFile());
  for (const uki of await findOwnUkis(base, kver)) {
    const f: CreateFlags = {
      ...flags, kernel: kver, out: uki.path, force: true, uki: true, secondStagePlacement: 'embedded',
      ...(!usual && uki.cmdline !== undefined ? { cmdline: uki.cmdline } : {}),
    };
    const result = await build(buildRequest(f, config, process.env));
    if (flags.dryRun) {
      lines.push(`${kver}: would rebuild ${uki.path} (UKI)`);
      continue;
    }
    lines.push(`${kver}: ${uki.path} (UKI, ${((result.sizes.ucode + result.sizes.compressed) / 1048576).toFixed(1)} MiB of initramfs)`);
  }
  return lines;
}

/** Deletes `kver`'s UKIs; one line per file. */
export async function removeOwnUkis(base: string, kver: string): Promise<string[]> {
  const found = await findOwnUkis(base, kver);
  for (const uki of found) rmSync(uki.path, { force: true });
  return found.map((u) => `${kver}: removed ${u.path}`);
}
