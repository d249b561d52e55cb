// SPDX-License-Identifier: GPL-2.0-or-later
// The ELF reader and ld.so.conf parser, checked against the host's own readelf (which we never use in
// the product, but which is the reference on a real Debian system). The library resolver built on them
// is in binaries.test.ts.

import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { normalize } from 'node:path';
import { parseElf } from '../../src/core/elf.ts';
import { parseLdSoConf } from '../../src/core/ldconf.ts';
import { missing, testNeeding } from './need.ts';

const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A minimal dynamic ELF, so 32-bit and big-endian layouts are tested without cross toolchains. */
function makeElf(is64: boolean, le: boolean): Uint8Array {
  const strtab = '\0libfoo.so.1\0libbar.so.2\0$ORIGIN/../lib::/opt/x\0libme.so.3\0';
  const at = (s: string) => strtab.indexOf(`\0${s}\0`) + 1;
  const interp = '/lib/ld-test.so.1\0';
  const [ehsize, phentsize, dynent] = is64 ? [64, 56, 16] : [52, 32, 8];
  const interpOff = ehsize + 3 * phentsize;
  const strOff = interpOff + interp.length;
  const dynOff = Math.ceil((strOff + strtab.length) / 8) * 8;
  const vaddr = 0x400000; // the string table must be found through PT_LOAD, not used as an offset
  const dyn = [[1, at('libfoo.so.1')], [1, at('libbar.so.2')], [14, at('libme.so.3')],
    [29, at('$ORIGIN/../lib::/opt/x')], [5, vaddr + strOff], [0, 0]];
  const buf = new Uint8Array(dynOff + dyn.length * dynent);
  const v = new DataView(buf.buffer);
  const word = (off: number, val: number) => (is64 ? v.setBigUint64(off, BigInt(val), le) : v.setUint32(off, val, le));
  buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  v.setUint16(18, is64 ? 21 : 20, le); // EM_PPC64 / EM_PPC
  word(is64 ? 32 : 28, ehsize);
  v.setUint16(is64 ? 54 : 42, phentsize, le);
  v.setUint16(is64 ? 56 : 44, 3, le);
  const segments = [[3, interpOff, vaddr + interpOff, interp.length], [1, 0, vaddr, buf.length],
    [2, dynOff, vaddr + dynOff, dyn.length * dynent]];
  segments.forEach(([type, offset, addr, size], i) => {
    const p = ehsize + i * phentsize;
    v.setUint32(p, type as number, le);
    const fields = is64 ? [p + 8, p + 16, p + 32] : [p + 4, p + 8, p + 16];
    fields.forEach((off, j) => word(off, [offset, addr, size][j] as number));
  });
  buf.set(new TextEncoder().encode(interp), interpOff);
  buf.set(new TextEncoder().encode(strtab), strOff);
  dyn.forEach(([tag, val], i) => {
    word(dynOff + i * dynent, tag as number);
    word(dynOff + i * dynent + dynent / 2, val as number);
  });
  return buf;
}

describe('parseElf', () => {
  for (const [is64, le] of [[false, true], [false, false], [true, true], [true, false]] as const) {
    test(`reads a ${is64 ? 64 : 32}-bit ${le ? 'little' : 'big'}-endian ELF`, () => {
      expect(parseElf(makeElf(is64, le))).toEqual({
        class: is64 ? 64 : 32, littleEndian: le, machine: is64 ? 21 : 20, interp: '/lib/ld-test.so.1',
        soname: 'libme.so.3', needed: ['libfoo.so.1', 'libbar.so.2'], rpath: [], runpath: ['$ORIGIN/../lib', '/opt/x'],
      });
    });
  }

  test('is null for non-ELF data and throws on a truncated ELF', () => {
    expect(parseElf(new TextEncoder().encode('#!/bin/sh\necho hi\n'))).toBeNull();
    expect(parseElf(new Uint8Array(0))).toBeNull();
    const head = readFileSync('/usr/bin/ls').subarray(0, 100);
    expect(() => parseElf(head)).toThrow(/malformed ELF/);
  });

  for (const path of ['/usr/bin/ls', '/usr/bin/mksquashfs', '/usr/bin/qemu-system-x86_64', LIBC]) {
    testNeeding(missing('readelf', path), `matches readelf for ${path}`, () => {
      const elf = parseElf(readFileSync(path));
      if (!elf) throw new Error('not ELF');
      const dyn = run('readelf', ['-dW', path]);
      const needed = [...dyn.matchAll(/\(NEEDED\).*\[(.*)\]/g)].map((m) => m[1]);
      const soname = /\(SONAME\).*\[(.*)\]/.exec(dyn)?.[1];
      const interp = /Requesting program interpreter: (.*)\]/.exec(run('readelf', ['-lW', path]))?.[1];
      expect(elf.needed).toEqual(needed as string[]);
      expect(elf.soname).toBe(soname);
      expect(elf.interp).toBe(interp);
      expect(elf.class).toBe(64);
      expect(elf.littleEndian).toBe(true);
    });
  }
});

describe('parseLdSoConf', () => {
  test('follows includes in glob order, relative to the including file', () => {
    const files: Record<string, string> = {
      '/etc/ld.so.conf': 'include /etc/ld.so.conf.d/*.conf\n/usr/local/lib/ # trailing slash\n',
      '/etc/ld.so.conf.d/b.conf': '/opt/b\ninclude ../extra.conf\n',
      '/etc/ld.so.conf.d/a.conf': '# multiarch\n/opt/a\nhwcap 0 nosegneg\nrelative/ignored\n',
      '/etc/extra.conf': '/opt/extra\ninclude /etc/ld.so.conf\n',
    };
    const io = {
      glob: (p: string) => (p === '/etc/ld.so.conf.d/*.conf' ? ['/etc/ld.so.conf.d/b.conf', '/etc/ld.so.conf.d/a.conf'] : [p]),
      read: (p: string) => files[normalize(p)], // BaseFs resolves `..`; here a lexical fold suffices
    };
    const text = files['/etc/ld.so.conf'] as string;
    expect(parseLdSoConf(text, '/etc/ld.so.conf', io)).toEqual(['/opt/a', '/opt/b', '/opt/extra', '/usr/local/lib']);
  });
});
