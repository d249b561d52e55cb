// SPDX-License-Identifier: GPL-2.0-or-later
// --trust-layer values and the /etc/ruckusrd/verity file layers.sh reads (src/core/verity.ts).
import { expect, test } from 'bun:test';
import { parseTrustLayer, verityItems } from '../../src/core/verity.ts';

const H = 'ab'.repeat(32);

test('NAME=ROOTHASH: a layer name and a 64-128 digit hex hash, stored lower-case', () => {
  expect(parseTrustLayer(`base=${H.toUpperCase()}`)).toEqual({ name: 'base', hash: H });
  expect(parseTrustLayer(`a.b-c_9=${'0'.repeat(128)}`)).toEqual({ name: 'a.b-c_9', hash: '0'.repeat(128) });
});

test.each(['base', `=${H}`, `base=${H.slice(1)}`, `base=${H}0`.padEnd(140, '0'), `../x=${H}`, `a..b=${H}`, `a/b=${H}`, `base=${H.slice(2)}zz`, `base =${H}`])(
  '%p is a one-line error',
  (v) => expect(() => parseTrustLayer(v)).toThrow(`--trust-layer ${v}: expected NAME=ROOTHASH`),
);

test('the file: the policy line and one trust line per layer; none for auto with nothing trusted', () => {
  expect(verityItems('auto', [])).toEqual([]);
  const [item] = verityItems('require', [{ name: 'base', hash: H }, { name: 'extra', hash: H }]);
  expect(item!.path).toBe('/etc/ruckusrd/verity');
  expect(item!.kind === 'bytes' && new TextDecoder().decode(item!.data)).toBe(`policy=require\ntrust base ${H}\ntrust extra ${H}\n`);
  expect(() => verityItems('auto', [{ name: 'base', hash: H }, { name: 'base', hash: H }])).toThrow('--trust-layer: layer base is given twice');
});
