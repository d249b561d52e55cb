// SPDX-License-Identifier: GPL-2.0-or-later
// src/host/digest.ts: the remembered sha256 is the buffer's own, never another buffer's.
import { expect, test } from 'bun:test';
import { sha256Hex } from '../../src/host/digest.ts';

const direct = (b: Uint8Array) => new Bun.CryptoHasher('sha256').update(b).digest('hex');

test('each buffer gets its own sha256, the same when asked again', () => {
  const a = new Uint8Array(4096).fill(1);
  const b = new Uint8Array(4096).fill(2);
  const a2 = new Uint8Array(4096).fill(1);
  for (let round = 0; round < 2; round++) {
    expect(sha256Hex(a)).toBe(direct(a));
    expect(sha256Hex(b)).toBe(direct(b));
    expect(sha256Hex(a2)).toBe(direct(a));
    expect(sha256Hex(a.subarray(1))).toBe(direct(a.subarray(1)));
  }
});
