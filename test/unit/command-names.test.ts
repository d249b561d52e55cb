// SPDX-License-Identifier: GPL-2.0-or-later
// OUT of the default command against the command names: equal, one edit away (insert, delete,
// substitute, swap of neighbours, case), or clearly a file.
import { describe, expect, test } from 'bun:test';
import { checkOutName, editDistance } from '../../src/core/command-names.ts';
import { UserError } from '../../src/log.ts';

const NAMES = ['create', 'inspect', 'update', 'remove', 'layer'];

describe('editDistance', () => {
  test.each([
    ['update', 'update', 0], ['update', 'updte', 1], ['update', 'uupdate', 1], ['update', 'upbate', 1],
    ['update', 'upadte', 1], ['update', 'pudate', 1], ['update', 'udpaet', 2], ['', 'abc', 3], ['out.img', 'update', 6],
  ] as const)('%s ~ %s = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('checkOutName', () => {
  test.each([['update'], ['Update'], ['UPDATE'], ['updte'], ['upadte'], ['remve'], ['layers'], ['creat']])('%s is refused, naming ./%s', (out) => {
    expect(() => checkOutName(out, NAMES)).toThrow(UserError);
    expect(() => checkOutName(out, NAMES)).toThrow(`./${out}`);
  });

  test('the message says which command', () => {
    expect(() => checkOutName('update', NAMES)).toThrow("'update' is the update command");
    expect(() => checkOutName('updat', NAMES)).toThrow("unknown command 'updat'; did you mean 'update'?");
  });

  test.each([['./update'], ['/tmp/update'], ['out.img'], ['initrd.img'], ['upd'], ['updates.img'], ['removed-x']])('%s is a file', (out) => {
    expect(() => checkOutName(out, NAMES)).not.toThrow();
  });
});
