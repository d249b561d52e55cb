// SPDX-License-Identifier: GPL-2.0-or-later
// --rescue-shell as image data (src/core/rescue.ts): the policy line, and root's shadow entry,
// refused when busybox sulogin could never accept it.
import { describe, expect, test } from 'bun:test';
import { needsCryptSulogin, rescueItems, rootShadowEntry } from '../../src/core/rescue.ts';

const SHA512 = '$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.';
const shadow = (hash: string) => `daemon:*:19000:0:99999:7:::\nroot:${hash}:19000:0:99999:7:::\nuser:$6$x$y:19000::::::\n`;

describe('rootShadowEntry', () => {
  test('a SHA-512, SHA-256 or MD5 crypt hash is kept, the other fields and users are not', () => {
    expect(rootShadowEntry(shadow(SHA512), 'B/etc/shadow')).toBe(`root:${SHA512}:0:0:99999:7:::\n`);
    expect(rootShadowEntry(shadow('$5$s$h'), 'B')).toBe('root:$5$s$h:0:0:99999:7:::\n');
    expect(rootShadowEntry(shadow('$1$s$h'), 'B')).toBe('root:$1$s$h:0:0:99999:7:::\n');
  });

  test.each([
    ['*', "root's password is locked or empty in B/etc/shadow; set one (passwd root)"],
    ['!$6$s$h', "root's password is locked or empty in B/etc/shadow; set one (passwd root)"],
    ['', "root's password is locked or empty in B/etc/shadow; set one (passwd root)"],
    ['$y$j9T$abc$def', "root's password hash in B/etc/shadow is yescrypt; busybox sulogin checks only $1$, $5$ and $6$ (e.g. chpasswd -c SHA512), and the base has no util-linux sulogin with libcrypt"],
    ['$2b$10$abc', "root's password hash in B/etc/shadow is bcrypt; busybox sulogin checks only $1$, $5$ and $6$ (e.g. chpasswd -c SHA512), and the base has no util-linux sulogin with libcrypt"],
    ['$6$', "root's password hash in B/etc/shadow is of an unknown kind; busybox sulogin checks only $1$, $5$ and $6$ (e.g. chpasswd -c SHA512), and the base has no util-linux sulogin with libcrypt"],
  ])('root:%p is refused', (hash, why) => {
    expect(() => rootShadowEntry(shadow(hash), 'B/etc/shadow')).toThrow(`--rescue-shell password: ${why}`);
  });

  test('with util-linux sulogin in the base, any crypt(3) hash is kept, and says it needs that sulogin', () => {
    const yescrypt = '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$U4SOHmDd8SvW5vCUKSMR6N835VPwFAtgYNhQ9mFFeL5';
    const entry = rootShadowEntry(shadow(yescrypt), 'B', true);
    expect(entry).toBe(`root:${yescrypt}:0:0:99999:7:::\n`);
    expect(needsCryptSulogin(entry)).toBe(true);
    expect(needsCryptSulogin(rootShadowEntry(shadow('$2b$10$abc'), 'B', true))).toBe(true);
    expect(needsCryptSulogin(rootShadowEntry(shadow(SHA512), 'B', true))).toBe(false);
    // Locked, empty and malformed hashes stay refused: no sulogin could ever accept them.
    for (const bad of ['*', '!$y$j9T$a$b', '', '$6$', 'plain']) expect(() => rootShadowEntry(shadow(bad), 'B', true)).toThrow('--rescue-shell password');
  });

  test('no shadow file, or no root in it', () => {
    expect(() => rootShadowEntry(undefined, 'B/etc/shadow')).toThrow('--rescue-shell password: no root entry in B/etc/shadow');
    expect(() => rootShadowEntry('xroot:$6$a$b:1::::::\n', 'B/etc/shadow')).toThrow('no root entry');
  });
});

describe('rescueItems', () => {
  const text = (d: Uint8Array) => new TextDecoder().decode(d);
  test('each policy is one line /init reads; only password adds passwd and a 0600 shadow', () => {
    for (const p of ['auto', 'open', 'off'] as const) {
      const items = rescueItems(p);
      expect(items.map((i) => i.path)).toEqual(['/etc/ruckusrd/rescue']);
      expect(items[0]!.kind === 'bytes' && text(items[0]!.data)).toBe(`shell=${p}\n`);
    }
    const items = rescueItems('password', 'root:$6$a$b:0:0:99999:7:::\n');
    expect(items.map((i) => [i.path, i.kind === 'bytes' ? i.mode.toString(8) : '', i.kind === 'bytes' ? text(i.data) : ''])).toEqual([
      ['/etc/ruckusrd/rescue', '644', 'shell=password\n'],
      ['/etc/passwd', '644', 'root:x:0:0:root:/root:/bin/sh\n'],
      ['/etc/shadow', '600', 'root:$6$a$b:0:0:99999:7:::\n'],
    ]);
  });
});
