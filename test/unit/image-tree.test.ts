// SPDX-License-Identifier: GPL-2.0-or-later
// ImageTree.resolve (src/core/verify.ts): the one-lookup way for plain paths gives what walking the
// path component by component gives, on random trees with relative and absolute links (to files,
// to directories, to the root, dangling, in loops) and on paths with `.`, `..` and double slashes.
import { expect, test } from 'bun:test';
import { ImageTree, type TreeEntry } from '../../src/core/verify.ts';

const walkOf = (t: ImageTree) => (t as unknown as { walk(p: string): TreeEntry | undefined }).walk.bind(t);

test('resolve agrees with the component walk on random trees and paths', () => {
  let seed = 5;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const names = ['a', 'b', 'c', 'lib', 'usr'];
  for (let round = 0; round < 60; round++) {
    const entries: TreeEntry[] = [];
    const dirs = [''];
    for (let i = 0; i < 25; i++) {
      const path = `${dirs[rand(dirs.length)]}/${names[rand(names.length)]}${rand(3) ? '' : i}`;
      const kind = rand(4);
      if (kind === 0) {
        entries.push({ path, type: 'dir', mode: 0o755 });
        dirs.push(path);
      } else if (kind === 1) {
        const targets = ['/', '..', '.', 'a', '../a', '/usr', '/usr/lib', 'b/c', '../../lib', '/nowhere', path.slice(path.lastIndexOf('/') + 1)];
        entries.push({ path, type: 'symlink', mode: 0o777, target: targets[rand(targets.length)] });
      } else entries.push({ path, type: 'file', mode: 0o644 });
    }
    const tree = new ImageTree(entries);
    const walk = walkOf(tree);
    const parts = ['a', 'b', 'c', 'lib', 'usr', '.', '..', ''];
    for (let k = 0; k < 60; k++) {
      const path = '/' + Array.from({ length: 1 + rand(4) }, () => parts[rand(parts.length)]).join('/');
      const fromEntry = entries[rand(entries.length)]!.path + (rand(2) ? '' : `/${parts[rand(parts.length)]}`);
      for (const p of [path, fromEntry]) expect([p, tree.resolve(p)]).toEqual([p, walk(p)]);
    }
  }
});

test('a plain path under a linked directory resolves through the link, a file in the middle resolves to nothing', () => {
  const tree = new ImageTree([
    { path: '/usr', type: 'dir', mode: 0o755 }, { path: '/usr/lib', type: 'dir', mode: 0o755 },
    { path: '/lib', type: 'symlink', mode: 0o777, target: 'usr/lib' }, { path: '/usr/lib/x.so', type: 'file', mode: 0o644 },
    { path: '/root', type: 'symlink', mode: 0o777, target: '/' },
  ]);
  expect(tree.resolve('/lib/x.so')?.path).toBe('/usr/lib/x.so');
  expect(tree.resolve('/root/lib/x.so')?.path).toBe('/usr/lib/x.so');
  expect(tree.resolve('/usr/lib/x.so/y')).toBeUndefined();
});
