// SPDX-License-Identifier: GPL-2.0-or-later
// /etc/ruckusrd/stage2.conf records cannot be forged (issue 12 item 9): a value with a newline (an
// OUT path with one, say) would add `dev=` or cut `path=`; it is refused, naming the key, before
// anything is written. The shell reader (templates/lib/stage2.sh) reads one record per line.
import { expect, test } from 'bun:test';
import { renderStage2Conf, type Stage2Info } from '../../src/core/stages.ts';

const good: Stage2Info = { type: 'erofs', placement: 'boot', dev: 'UUID=1-2', path: '/boot/initrd.img.stage2', size: 10, sha256: 'ab', dirs: ['etc', 'usr'] };

test('a clean record renders one line per key', () => {
  expect(renderStage2Conf(good)).toBe('type=erofs\nplacement=boot\ndev=UUID=1-2\npath=/boot/initrd.img.stage2\nsize=10\nsha256=ab\ndirs=etc usr\n');
});

test.each([
  ['path', { path: '/boot/x\ndev=LABEL=evil' }],
  ['path', { path: '/boot/a b' }],
  ['dev', { dev: 'UUID=1\r' }],
  ['path', { path: '/boot/\x1b[31m' }],
  ['dirs', { dirs: ['etc\nsize=1'] }],
  ['dirs', { dirs: ['a b'] }],
  ['dirs', { dirs: ['*'] }],
])('%s %p is refused', (key, change) => {
  expect(() => renderStage2Conf({ ...good, ...change } as Stage2Info)).toThrow(`cannot record the second stage's ${key} `);
});
