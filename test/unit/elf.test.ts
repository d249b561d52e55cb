// SPDX-License-Identifier: GPL-2.0-or-later
// The ELF reader and ld.so.conf parser, checked against the host's own readelf (which we never use in
// the product, but which is the reference on a real Debian system). The library resolver built on them
// is in binaries.test.ts.

import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { normalize } from 'node:path';
import { parseElf } from '../../src/core/elf.ts';
import { globToRegExp, hasGlobMagic, parseLdSoConf } from '../../src/core/ldconf.ts';
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

/**
 * A 64-bit little-endian ELF with the given program headers and a dynamic section of `dyn` entries
 * (values that are strings become offsets into one string table). The file is mapped at VADDR by
 * one PT_LOAD unless `load` says otherwise.
 */
const VADDR = 0x10000;
function elfWith(opts: {
  dyn?: [number, number | string][];
  interp?: string;
  load?: { vaddr: number; size: number } | null;
  strtabAt?: number;
  dynPad?: number;
}): Uint8Array<ArrayBuffer> {
  const strings = ['\0'];
  const str = (s: string): number => {
    const at = strings.join('').length;
    strings.push(`${s}\0`);
    return at;
  };
  const dyn = (opts.dyn ?? []).map(([tag, v]) => [tag, typeof v === 'string' ? str(v) : v] as [number, number]);
  const strtab = strings.join('');
  const interp = opts.interp === undefined ? '' : opts.interp;
  const phdrs: [number, number, number, number][] = []; // type, offset, vaddr, filesz (offsets fixed below)
  const phnum = 1 + (opts.interp === undefined ? 0 : 1) + (opts.load === null ? 0 : 1);
  const interpOff = 64 + 56 * phnum;
  const strOff = interpOff + interp.length;
  const dynOff = Math.ceil((strOff + strtab.length) / 8) * 8;
  const size = dynOff + dyn.length * 16 + (opts.dynPad ?? 0);
  if (opts.interp !== undefined) phdrs.push([3, interpOff, VADDR + interpOff, interp.length]);
  if (opts.load !== null) phdrs.push([1, 0, opts.load?.vaddr ?? VADDR, opts.load?.size ?? size]);
  phdrs.push([2, dynOff, VADDR + dynOff, dyn.length * 16 + (opts.dynPad ?? 0)]);
  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(18, 62, true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, phdrs.length, true);
  phdrs.forEach(([type, off, addr, filesz], i) => {
    const p = 64 + i * 56;
    v.setUint32(p, type, true);
    v.setBigUint64(p + 8, BigInt(off), true);
    v.setBigUint64(p + 16, BigInt(addr), true);
    v.setBigUint64(p + 32, BigInt(filesz), true);
  });
  buf.set(new TextEncoder().encode(interp), interpOff);
  buf.set(new TextEncoder().encode(strtab), strOff);
  dyn.forEach(([tag, val], i) => {
    v.setBigInt64(dynOff + i * 16, BigInt(tag), true);
    v.setBigUint64(dynOff + i * 16 + 8, BigInt(tag === 5 ? (opts.strtabAt ?? VADDR + strOff) : val), true);
  });
  return buf;
}

describe('parseElf edges', () => {
  const STRTAB: [number, number] = [5, 0];
  test('a static binary: no interpreter, no dynamic section', () => {
    const b = elfWith({ dyn: [] });
    expect(parseElf(b)).toEqual({ class: 64, littleEndian: true, machine: 62, needed: [], rpath: [], runpath: [] });
  });
  test('every tag it reads, empty path elements dropped, entries after DT_NULL ignored', () => {
    const b = elfWith({
      interp: '/lib/ld.so\0',
      dyn: [[1, 'liba.so'], [15, ':/r1::/r2:'], [29, '/p1'], [29, '/p2:'], [14, 'libme.so'], [1, 'libb.so'], [0x6ffffffb, 8], STRTAB,
        [0, 0], [1, 'libafter.so']],
    });
    expect(parseElf(b)).toEqual({
      class: 64, littleEndian: true, machine: 62, interp: '/lib/ld.so', soname: 'libme.so',
      needed: ['liba.so', 'libb.so'], rpath: ['/r1', '/r2'], runpath: ['/p1', '/p2'],
    });
  });
  test('the interpreter ends at its segment when it has no NUL', () => {
    const b = elfWith({ interp: '/lib/ld.so', dyn: [] });
    expect(parseElf(b)?.interp).toBe('/lib/ld.so');
  });
  test('without DT_STRTAB no names can be read: none are reported', () => {
    expect(parseElf(elfWith({ dyn: [[1, 'liba.so'], [14, 'me']] }))).toEqual({ class: 64, littleEndian: true, machine: 62, needed: [], rpath: [], runpath: [] });
  });
  test('a dynamic section not a whole number of entries: the partial entry is not read', () => {
    expect(parseElf(elfWith({ dyn: [[1, 'liba.so'], STRTAB], dynPad: 8 }))?.needed).toEqual(['liba.so']);
  });
  test('DT_STRTAB is mapped through PT_LOAD: an offset in the segment', () => {
    const plain = elfWith({ dyn: [[1, 'liba.so'], STRTAB] });
    const strVaddr = Number(new DataView(plain.buffer).getBigUint64(plain.length - 16 + 8, true));
    const shifted = elfWith({ dyn: [[1, 'liba.so'], STRTAB], load: { vaddr: VADDR + 0x1000, size: plain.length }, strtabAt: strVaddr + 0x1000 });
    expect(parseElf(shifted)?.needed).toEqual(['liba.so']);
  });
  test.each([
    ['below the segment', { vaddr: VADDR + 0x100000, size: 4096 }],
    ['just past the segment', { vaddr: VADDR, size: 64 }],
    ['with no PT_LOAD', null],
  ] as [string, { vaddr: number; size: number } | null][])('DT_STRTAB %s is malformed', (_name, load) => {
    expect(() => parseElf(elfWith({ dyn: [[1, 'liba.so'], STRTAB], load }))).toThrow(/^malformed ELF: address 0x[0-9a-f]+ is not in any PT_LOAD segment$/);
  });
  test('PN_XNUM: the program header count from section header 0', () => {
    const b = elfWith({ dyn: [[1, 'liba.so'], STRTAB] });
    const v = new DataView(b.buffer);
    const count = v.getUint16(56, true);
    v.setUint16(56, 0xffff, true);
    // a section header 0 placed over the (unused) padding: sh_info at +44
    const big = new Uint8Array(b.length + 64);
    big.set(b);
    const w = new DataView(big.buffer);
    w.setBigUint64(40, BigInt(b.length), true); // e_shoff
    w.setUint32(b.length + 44, count, true);
    expect(parseElf(big)?.needed).toEqual(['liba.so']);
  });
  test.each([
    ['16 bytes of magic only', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /malformed ELF: read past end at/],
    ['class 0', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, ...new Array(58).fill(0)]), /^malformed ELF: bad class or byte order$/],
    ['byte order 3', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 3, ...new Array(58).fill(0)]), /^malformed ELF: bad class or byte order$/],
  ] as [string, Uint8Array, RegExp][])('%s throws', (_name, bytes, message) => {
    expect(() => parseElf(bytes)).toThrow(message);
  });
  test.each([
    ['15 bytes', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['a wrong magic byte', Object.assign(elfWith({}), { 3: 0x47 })],
    ['a wrong first byte', Object.assign(elfWith({}), { 0: 0x7e })],
  ] as [string, Uint8Array][])('%s is not ELF', (_name, bytes) => {
    expect(parseElf(bytes)).toBeNull();
  });
});

describe('ld.so.conf edges', () => {
  const parse = (files: Record<string, string>, globs: Record<string, string[]> = {}): string[] =>
    parseLdSoConf(files['/etc/ld.so.conf'] ?? '', '/etc/ld.so.conf', { glob: (p) => globs[p] ?? (p in files ? [p] : []), read: (p) => files[p] });
  test('comments, blanks, hwcap, relative and duplicate lines; `/` stays, trailing slashes go', () => {
    expect(parse({ '/etc/ld.so.conf': '# c\n\n  /a/  # tail\n/\nrel/dir\nhwcap 1 x\n/a\n/b//\n\t/c\t\n' })).toEqual(['/a', '/', '/b', '/c']);
  });
  test('include: several patterns on one line, relative to the including file, sorted, missing files skipped', () => {
    const files = {
      '/etc/ld.so.conf': 'include d/*.conf /etc/extra.conf /etc/missing.conf\ninclude\n/last\n',
      '/etc/d/b.conf': '/b\n', '/etc/d/a.conf': '/a\n', '/etc/extra.conf': '/extra\n',
    };
    expect(parse(files, { '/etc/d/*.conf': ['/etc/d/b.conf', '/etc/d/a.conf'] })).toEqual(['/a', '/b', '/extra', '/last']);
  });
  test('an include cycle ends; a file included twice counts once', () => {
    const files = { '/etc/ld.so.conf': 'include /x.conf\ninclude /x.conf\n/top\n', '/x.conf': 'include /etc/ld.so.conf\n/x\n' };
    expect(parse(files)).toEqual(['/x', '/top']);
  });
  test('a file at the root includes relative to /', () => {
    const io = { glob: (p: string) => [p], read: (p: string) => (p.replace(/^\/+/, '/') === '/a.conf' ? '/from-root\n' : undefined) };
    expect(parseLdSoConf('include a.conf\n', '/ld.so.conf', io)).toEqual(['/from-root']);
  });
});

describe('glob helpers', () => {
  test.each([
    ['*.conf', 'a.conf', true], ['*.conf', '.conf', true], ['*.conf', 'a.confx', false], ['*.conf', 'd/a.conf', false],
    ['?.so', 'a.so', true], ['?.so', 'ab.so', false], ['?.so', '/.so', false], ['lib[0-9].so', 'lib5.so', true],
    ['lib[0-9].so', 'libx.so', false], ['lib[!0-9].so', 'libx.so', true], ['lib[!0-9].so', 'lib5.so', false],
    ['a[b', 'a[b', true], ['a[b', 'ab', false], ['a+b(c)', 'a+b(c)', true], ['a.b', 'axb', false], ['[]]x', ']x', true], ['[]]x', 'ax', false],
    ['[!]]x', 'ax', true], ['[!]]x', ']x', false], ['[]a]', 'a', true], ['[a]', 'a', true], ['[!a]', 'a', false],
    ['a$^|{}', 'a$^|{}', true], ['a\\b', 'a\\b', true],
  ] as [string, string, boolean][])('%p ~ %p = %p', (pattern, name, want) => {
    expect(globToRegExp(pattern).test(name)).toBe(want);
  });
  test.each([['*', true], ['a?', true], ['[x]', true], ['plain.conf', false], ['a]b', false], ['', false]] as [string, boolean][])(
    'hasGlobMagic(%p) = %p', (s, want) => expect(hasGlobMagic(s)).toBe(want),
  );
});
