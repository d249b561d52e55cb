// SPDX-License-Identifier: GPL-2.0-or-later
// The --rescue-shell image files: with `password`, root's entry comes from the base's /etc/shadow,
// read through the base's resolver (never the host's file through a link).
// A hash busybox's sulogin cannot check (yescrypt, Debian's default) brings the base's util-linux
// sulogin and its libraries: a real file, so it wins over busybox's weak applet link of that name.
import { needsCryptSulogin, rescueItems, rootShadowEntry, type RescuePolicy } from '../core/rescue.ts';
import type { StageItem } from '../core/stage.ts';
import type { BaseFs } from './base.ts';
import { resolveBinaries } from './binaries.ts';

export async function readRescueItems(policy: RescuePolicy, base: BaseFs, baseDir: string): Promise<StageItem[]> {
  if (policy !== 'password') return rescueItems(policy);
  const where = `${baseDir.replace(/\/$/, '')}/etc/shadow`;
  const shadow = base.readOptional('/etc/shadow')?.toString('utf8');
  // The base's sulogin is looked for only when busybox's cannot check root's hash.
  const root = shadow?.split('\n').find((l) => l.startsWith('root:'));
  const sulogin = root !== undefined && needsCryptSulogin(root) ? await readCryptSulogin(base) : undefined;
  const entry = rootShadowEntry(shadow, where, sulogin !== undefined);
  return [...rescueItems(policy, entry), ...(sulogin ?? [])];
}

/** The base's sulogin with its libraries when it checks hashes through libcrypt (util-linux's). */
async function readCryptSulogin(base: BaseFs): Promise<StageItem[] | undefined> {
  const r = await resolveBinaries(base, ['sulogin'], { optional: true });
  if (r.missing.length > 0) return undefined;
  return r.items.some((i) => /\/libcrypt\.so\.\d+$/.test(i.path)) ? r.items : undefined;
}
