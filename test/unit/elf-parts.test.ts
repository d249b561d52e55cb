// SPDX-License-Identifier: GPL-2.0-or-later
// src/host/elf-parts.ts: parseElf over the parts read must say what it says over the whole file, for
// every file of the host's binary and library directories (ELF or not, damaged or not), and for
// synthetic files laid out so that a part would be missed.
import { describe, expect, test } from 'bun:test';
import { lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseElf } from '../../src/core/elf.ts';
import { withElfParts } from '../../src/host/elf-parts.ts';

/** parseElf's outcome over the parts, and (`copy`) the bytes it saw */
const readElfParts = (path: string, copy = true) =>
  withElfParts(path, path, (data) => ({ parsed: outcome(data), copy: copy ? new Uint8Array(data) : undefined! }));
import { missing, testNeeding } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const DIRS = ['/usr/bin', '/usr/sbin', '/usr/lib/x86_64-linux-gnu'];
const LIBCRYPTO = '/usr/lib/x86_64-linux-gnu/libcrypto.so.3';

const outcome = (data: Uint8Array) => {
  try {
    return parseElf(data);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
};

/** Up to 4 MiB each: reading the host's biggest libraries whole would make this a slow test. */
function regularFiles(dir: string): string[] {
  return readdirSync(dir).map((n) => join(dir, n)).filter((p) => lstatSync(p).isFile() && lstatSync(p).size <= 4 << 20);
}

describe('readElfParts', () => {
  testNeeding(missing(...DIRS), `parseElf over the parts equals parseElf over the whole file, for every file of ${DIRS.join(' ')}`, () => {
    let elves = 0;
    for (const path of DIRS.flatMap(regularFiles)) {
      const whole = outcome(readFileSync(path));
      expect({ path, parsed: readElfParts(path, false).value.parsed }).toEqual({ path, parsed: whole });
      if (whole && typeof whole === 'object') elves++;
    }
    expect(elves).toBeGreaterThan(100);
  }, 120_000);

  testNeeding(missing(LIBCRYPTO), 'a big library is read in a few pages, not whole', () => {
    const { value, read } = readElfParts(LIBCRYPTO);
    expect(value.copy.length).toBe(lstatSync(LIBCRYPTO).size);
    expect(read).toBeLessThan(value.copy.length / 10);
    expect(parseElf(value.copy)?.needed).toContain('libc.so.6');
    // the shared buffer is zero again where it held libcrypto's parts: a text file of the same length
    // (its head read, nothing else) shows zeros after the head
    const dir = tempDir('elf-parts');
    try {
      writeFileSync(join(dir, 'text'), 'x'.repeat(value.copy.length));
      const text = readElfParts(join(dir, 'text')).value.copy;
      expect(value.copy.subarray(4096).some((b) => b !== 0)).toBe(true);
      expect(text.subarray(4096).every((b) => b === 0)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a string table without DT_STRSZ, or one not ending in NUL, is read whole', () => {
    const dir = tempDir('elf-parts');
    try {
      // a 64-bit little-endian ELF: PT_LOAD over the file, PT_DYNAMIC at 0x200, strings at 0x1100 (past HEAD)
      const make = (strsz: number | undefined, strings: string) => {
        const buf = new Uint8Array(0x2000);
        const v = new DataView(buf.buffer);
        buf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
        v.setUint16(18, 62, true);
        v.setBigUint64(32, 64n, true);
        v.setUint16(54, 56, true);
        v.setUint16(56, 2, true);
        const ph = (i: number, type: number, off: number, size: number) => {
          v.setUint32(64 + i * 56, type, true);
          v.setBigUint64(64 + i * 56 + 8, BigInt(off), true);
          v.setBigUint64(64 + i * 56 + 16, BigInt(off), true);
          v.setBigUint64(64 + i * 56 + 32, BigInt(size), true);
        };
        ph(0, 1, 0, buf.length);
        ph(1, 2, 0x200, 64);
        const dyn = [[1n, 1n], [5n, 0x1100n], ...(strsz === undefined ? [] : [[10n, BigInt(strsz)]]), [0n, 0n]];
        dyn.forEach(([tag, val], i) => {
          v.setBigUint64(0x200 + i * 16, tag!, true);
          v.setBigUint64(0x208 + i * 16, val!, true);
        });
        buf.set(new TextEncoder().encode(strings), 0x1100);
        return buf;
      };
      const cases = [make(undefined, '\0libx.so.1\0'), make(6, '\0libx.so.1\0'), make(11, '\0libx.so.1\0')];
      cases.forEach((buf, i) => {
        const path = join(dir, `elf${i}`);
        writeFileSync(path, buf);
        const parts = readElfParts(path);
        expect(parts.value.parsed).toEqual(outcome(buf));
        expect(parseElf(parts.value.copy)?.needed[0]).toStartWith('libx.so');
        // the complete table (11 bytes, NUL at the end) is read alone; the others whole
        expect(parts.read === buf.length).toBe(i !== 2);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
