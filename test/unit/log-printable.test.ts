// SPDX-License-Identifier: GPL-2.0-or-later
// src/log.ts: what an error line may quote. Control characters (C0, DEL, C1) become \xNN so a quoted
// value never adds a line or drives the terminal; a long value is cut and its size given.
import { describe, expect, test } from 'bun:test';
import { printable, quoted, UserError } from '../../src/log.ts';

describe('printable and quoted', () => {
  test.each([
    ['plain text', 'plain text'],
    ['a\nb', 'a\\x0ab'],
    ['\x1b[31mred\x00', '\\x1b[31mred\\x00'],
    ['del\x7f c1\x9b', 'del\\x7f c1\\x9b'],
    ['tab\tcr\r', 'tab\\x09cr\\x0d'],
    ['é ü ✓', 'é ü ✓'],
  ])('%j → %j', (text, want) => expect(printable(text)).toBe(want));

  test('a value longer than the bound is cut, with its size in bytes', () => {
    expect(printable('x'.repeat(81))).toBe(`${'x'.repeat(80)}… (81 bytes)`);
    expect(printable('x'.repeat(80))).toBe('x'.repeat(80));
    expect(quoted('é'.repeat(100), 3)).toBe("'ééé…' (200 bytes)");
    expect(quoted('a\nb')).toBe("'a\\x0ab'");
  });

  test('a UserError is one printable line whatever it quotes, at most a few KB', () => {
    const e = new UserError(`bad: ${'\n'.repeat(3)}${'z'.repeat(1 << 20)}`);
    expect(e.message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(e.message.length).toBeLessThan(5000);
    expect(e.message).toStartWith('bad: \\x0a\\x0a\\x0az');
    expect(e.message).toEndWith(`… (${(1 << 20) + 8} bytes)`);
  });
});
