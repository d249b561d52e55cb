// SPDX-License-Identifier: GPL-2.0-or-later
// The console shell policy (--rescue-shell) as image data: /etc/ruckusrd/rescue for /init, and with
// `password` the root entries sulogin checks. Pure: the base's shadow text comes in, files go out.
import { UserError } from '../log.ts';
import type { StageItem } from './stage.ts';

export type RescuePolicy = 'auto' | 'open' | 'password' | 'off';

/** Hashes busybox's sulogin can check (its pw_encrypt: MD5, SHA-256 and SHA-512 crypt). */
const CHECKABLE = /^\$[156]\$[^:\s]+$/;
/** Any crypt(3) hash: what util-linux's sulogin checks through libxcrypt (yescrypt, bcrypt, …). */
const CRYPT_HASH = /^\$[0-9a-z]+\$[^:\s]+$/;

/** busybox's sulogin cannot check the hash of this shadow line: util-linux's (with libcrypt) has to go into the image. */
export function needsCryptSulogin(line: string): boolean {
  return !CHECKABLE.test(line.split(':')[1] ?? '');
}

/**
 * root's line of a shadow file, as the image's /etc/shadow; refused (one line) when root could never
 * log in (locked, empty, missing), or when its hash is one busybox cannot check (yescrypt `$y$`,
 * Debian's default, or bcrypt) and the base has no util-linux sulogin (`cryptSulogin`) to check it:
 * the rescue shell would then be off without anyone having asked for that.
 */
export function rootShadowEntry(shadow: string | undefined, where: string, cryptSulogin = false): string {
  const line = shadow?.split('\n').find((l) => l.startsWith('root:'));
  if (line === undefined) throw new UserError(`--rescue-shell password: no root entry in ${where}`);
  const hash = line.split(':')[1] ?? '';
  if (hash === '' || hash.startsWith('!') || hash.startsWith('*')) {
    throw new UserError(`--rescue-shell password: root's password is locked or empty in ${where}; set one (passwd root)`);
  }
  if (!CHECKABLE.test(hash) && !(cryptSulogin && CRYPT_HASH.test(hash))) {
    const kind = hash.startsWith('$y$') ? 'yescrypt' : hash.startsWith('$2') ? 'bcrypt' : 'of an unknown kind';
    throw new UserError(
      `--rescue-shell password: root's password hash in ${where} is ${kind}; busybox sulogin checks only $1$, $5$ and $6$ (e.g. chpasswd -c SHA512), and the base has no util-linux sulogin with libcrypt`,
    );
  }
  return `root:${hash}:0:0:99999:7:::\n`;
}

/** Image files of the policy: the policy line always; root's passwd/shadow entries with `password`. */
export function rescueItems(policy: RescuePolicy, shadowEntry?: string): StageItem[] {
  const enc = new TextEncoder();
  const items: StageItem[] = [{ kind: 'bytes', path: '/etc/ruckusrd/rescue', mode: 0o644, data: enc.encode(`shell=${policy}\n`) }];
  if (policy === 'password' && shadowEntry !== undefined) {
    items.push(
      { kind: 'bytes', path: '/etc/passwd', mode: 0o644, data: enc.encode('root:x:0:0:root:/root:/bin/sh\n') },
      // secret: the image holding a password hash is written 0600 (build.ts), like one holding a key.
      { kind: 'bytes', path: '/etc/shadow', mode: 0o600, data: enc.encode(shadowEntry), secret: true } as StageItem,
    );
  }
  return items;
}
