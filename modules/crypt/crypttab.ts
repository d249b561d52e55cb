// SPDX-License-Identifier: GPL-2.0-or-later
// /etc/crypttab (crypttab(5): NAME SOURCE [KEY [OPTIONS]]) as data, for the build: which key files
// the boot entries need. Pure; the boot-time reader is crypt.sh's crypt_plan_crypttab.

export interface CrypttabEntry {
  name: string;
  source: string;
  /** `none` when a passphrase is asked (`none`, `-`, empty) */
  key: string;
  options: string[];
}

export function parseCrypttab(text: string): CrypttabEntry[] {
  const out: CrypttabEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, source, key = 'none', options = ''] = line.split(/\s+/);
    if (!name || !source) continue;
    out.push({ name, source, key: key === '-' || key === '' ? 'none' : key, options: options.split(',').filter(Boolean) });
  }
  return out;
}

/** Entries opened at boot: not noauto, not swap/tmp/plain with a random key. */
export function bootEntries(entries: CrypttabEntry[]): CrypttabEntry[] {
  const skip = ['noauto', 'swap', 'tmp', 'plain'];
  return entries.filter((e) => !e.options.some((o) => skip.includes(o)));
}

/** Key files the image must carry: absolute paths of regular files, not devices (/dev/urandom). */
export function keyFiles(entries: CrypttabEntry[]): string[] {
  const paths = bootEntries(entries).map((e) => e.key).filter((k) => k.startsWith('/') && !k.startsWith('/dev/'));
  return [...new Set(paths)].sort();
}

/** Detached headers (header=/PATH) the boot entries need in the image. */
export function headerFiles(entries: CrypttabEntry[]): string[] {
  const paths = bootEntries(entries).flatMap((e) => e.options.filter((o) => o.startsWith('header=/')).map((o) => o.slice('header='.length)));
  return [...new Set(paths.filter((p) => !p.startsWith('/dev/')))].sort();
}

/** Whether a boot entry is to be unlocked by a LUKS2 token through systemd-cryptsetup. */
export function wantsTokens(entries: CrypttabEntry[]): boolean {
  return bootEntries(entries).some((e) => e.options.some((o) => /^(tpm2|fido2)-device=/.test(o)));
}
