// SPDX-License-Identifier: GPL-2.0-or-later
// The keymap module's reading of the base's keyboard settings (modules/keymap/keyboard.ts), and the
// conversion to busybox's binary map with the real ckbcomp and loadkeys, read back by the format's
// own layout (`bkeymap`, 256 table flags, then 128 little-endian u16 entries per table present).
import { describe, expect, test } from 'bun:test';
import { describeKeymap, keymapSource, parseAssignments, xkbCommand } from '../../modules/keymap/keyboard.ts';
import { describeNeeding, missing } from './need.ts';

const DEBIAN_DE = '# KEYBOARD CONFIGURATION FILE\nXKBMODEL="pc105"\nXKBLAYOUT="de"\nXKBVARIANT="nodeadkeys"\nXKBOPTIONS=""\n\nBACKSPACE="guess"\n';

describe('keymapSource', () => {
  test.each([
    ['KEYMAP=de-latin1', undefined, { kind: 'keymap', name: 'de-latin1' }],
    ["KEYMAP='fr'\nFONT=lat9w-16", DEBIAN_DE, { kind: 'keymap', name: 'fr' }],
    [undefined, DEBIAN_DE, { kind: 'xkb', layout: 'de', variant: 'nodeadkeys', model: 'pc105', options: '' }],
    ['FONT=x\nXKBLAYOUT=cz\nXKBOPTIONS=grp:alt_shift_toggle', undefined, { kind: 'xkb', layout: 'cz', variant: '', model: '', options: 'grp:alt_shift_toggle' }],
    ['KEYMAP=us', DEBIAN_DE, undefined],
    [undefined, 'XKBMODEL="pc105"\nXKBLAYOUT="us"\nXKBVARIANT=""\n', undefined],
    [undefined, undefined, undefined],
    ['KEYMAP="de; rm -rf /"', undefined, undefined],
    [undefined, 'XKBLAYOUT="de"\nXKBVARIANT="$(reboot)"\n', undefined],
  ])('vconsole.conf %p, keyboard %p: %p', (vconsole, keyboard, want) => {
    expect(keymapSource(vconsole, keyboard)).toEqual(want as ReturnType<typeof keymapSource>);
  });

  test('assignments: quotes stripped, other lines skipped', () => {
    expect([...parseAssignments('# c\nA="x y"\nB=\'z\'\n  C=plain\nnot a line\nd=lower\n')]).toEqual([['A', 'x y'], ['B', 'z'], ['C', 'plain']]);
  });

  test('the ckbcomp command and the recorded name', () => {
    const src = keymapSource(undefined, DEBIAN_DE)!;
    expect(src.kind === 'xkb' && xkbCommand(src)).toEqual(['ckbcomp', '-charmap', 'ISO-8859-1', '-model', 'pc105', '-variant', 'nodeadkeys', 'de']);
    expect(describeKeymap(src)).toBe('de:nodeadkeys');
  });
});

/** The entry of KEYCODE in the plain (unshifted) table of a busybox binary keymap. */
function plainEntry(map: Uint8Array, keycode: number): number {
  expect(new TextDecoder().decode(map.subarray(0, 7))).toBe('bkeymap');
  const flags = map.subarray(7, 7 + 256);
  expect(flags[0]).toBe(1);
  const at = 7 + 256 + keycode * 2;
  return map[at]! | (map[at + 1]! << 8);
}

describeNeeding(missing('ckbcomp', 'loadkeys'), 'the binary map from ckbcomp | loadkeys -b', () => {
  test('German: the key at US "y" (keycode 21) types z, the key at US "z" (keycode 44) y; US is the other way round', () => {
    const make = (layout: string) => {
      const text = Bun.spawnSync(xkbCommand({ kind: 'xkb', layout, variant: '', model: 'pc105', options: '' }), { stdout: 'pipe' }).stdout;
      return new Uint8Array(Bun.spawnSync(['loadkeys', '-b'], { stdin: text, stdout: 'pipe' }).stdout);
    };
    // KT_LATIN (0) or KT_LETTER (11) in the high byte, the character in the low one.
    const de = make('de');
    expect(String.fromCharCode(plainEntry(de, 21) & 0xff)).toBe('z');
    expect(String.fromCharCode(plainEntry(de, 44) & 0xff)).toBe('y');
    expect(plainEntry(de, 26) & 0xff).toBe(0xfc); // ü, Latin-1, where US has [
    const us = make('us');
    expect(String.fromCharCode(plainEntry(us, 21) & 0xff)).toBe('y');
  }, 60_000);
});
