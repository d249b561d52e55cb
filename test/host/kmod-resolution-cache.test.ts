// SPDX-License-Identifier: GPL-2.0-or-later
// The resolution cache (src/host/kmod-resolution-cache.ts): a hit is served without computing; other
// index bytes, requests or another program miss; a stale or corrupt entry is computed again; run
// from sources nothing is stored.
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kmod from '../../src/core/kmod.ts';
import { restrictKmodIndex, storeResolution } from '../../src/core/kmod-subset.ts';
import { cachedRendering, cachedResolution, programIdentity } from '../../src/host/kmod-resolution-cache.ts';
import { tempDir } from '../temp-dirs.ts';

const enc = new TextEncoder();
const DEP = 'k/a.ko: k/b.ko\nk/b.ko:\nk/c.ko:\n';
const parts = (dep = DEP, first = ['a'], then = ['c']) => ({ files: [['dep', enc.encode(dep)], ['alias', undefined]] as [string, Uint8Array | undefined][], first, then });
function counted(dep = DEP) {
  let calls = 0;
  const compute = () => {
    calls++;
    const whole = kmod.parseKmodIndex({ dep });
    const r = kmod.resolveKmodsInTwo(whole, ['a'], ['c']);
    return { index: restrictKmodIndex(whole, r.modules), resolved: r };
  };
  return { compute, calls: () => calls };
}
const names = (a: { resolved: { modules: kmod.KmodEntry[] } }) => a.resolved.modules.map((e) => e.name);

describe('cachedResolution', () => {
  test('computed once, then read back; other bytes, requests or program compute again', () => {
    const root = tempDir('resolved');
    const dir = join(root, 'kmod-xz');
    const c = counted();
    expect(names(cachedResolution(parts(), c.compute, 'bin 1', dir))).toEqual(['b', 'a', 'c']);
    expect(names(cachedResolution(parts(), c.compute, 'bin 1', dir))).toEqual(['b', 'a', 'c']);
    expect(c.calls()).toBe(1);
    cachedResolution(parts(DEP.replace('k/c.ko', 'k/d.ko')), c.compute, 'bin 1', dir);
    cachedResolution(parts(DEP, ['a', 'c'], []), c.compute, 'bin 1', dir);
    cachedResolution(parts(), c.compute, 'bin 2', dir);
    expect(c.calls()).toBe(4);
    rmSync(root, { recursive: true, force: true });
  });

  test('an entry is what a hit serves; a stale (wrong-shaped) or corrupt one is computed again and replaced', () => {
    const root = tempDir('resolved');
    const dir = join(root, 'kmod-xz');
    const c = counted();
    cachedResolution(parts(), c.compute, 'bin', dir);
    const [entry] = readdirSync(join(root, 'kmod-resolved'));
    const path = join(root, 'kmod-resolved', entry!);
    // another valid answer under this key is served as it is: the build reads the cache
    const other = kmod.parseKmodIndex({ dep: 'k/q.ko:\n' });
    const r = kmod.resolveKmodsInTwo(other, ['q'], []);
    writeFileSync(path, JSON.stringify(storeResolution(other, r)));
    expect(names(cachedResolution(parts(), c.compute, 'bin', dir))).toEqual(['q']);
    for (const bad of ['{"truncated', JSON.stringify({ ...storeResolution(other, r), modules: ['gone'] }), '']) {
      writeFileSync(path, bad);
      expect(names(cachedResolution(parts(), c.compute, 'bin', dir))).toEqual(['b', 'a', 'c']);
    }
    expect(c.calls()).toBe(4);
    expect(names(cachedResolution(parts(), c.compute, 'bin', dir))).toEqual(['b', 'a', 'c']);
    expect(c.calls()).toBe(4);
    rmSync(root, { recursive: true, force: true });
  });

  test('no program identity (run from sources) or no cache home: computed every time, nothing stored', () => {
    const root = tempDir('resolved');
    const c = counted();
    cachedResolution(parts(), c.compute, undefined, join(root, 'kmod-xz'));
    cachedResolution(parts(), c.compute, undefined, join(root, 'kmod-xz'));
    cachedResolution(parts(), c.compute, 'bin', null);
    expect(c.calls()).toBe(3);
    expect(readdirSync(root)).toEqual([]);
    expect(programIdentity()).toBeUndefined(); // the tests run from sources
    expect(programIdentity('/$bunfs/root/mkruckus', process.execPath)).toContain(process.execPath);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('cachedRendering', () => {
  const parts = (over: Partial<{ imageDir: string; sizes: number[]; paths: string[] }> = {}) =>
    ({ imageDir: '/lib/modules/9.9', sizes: [10, 20], paths: ['k/a.ko', 'k/b.ko.xz'], ...over });
  function counting() {
    let calls = 0;
    return { render: () => ({ texts: [['modules.dep', `render ${++calls}\n`]] as [string, string][], skipped: [] }), calls: () => calls };
  }
  test('rendered once per resolution, sizes, stored paths and directory; a planted entry is served; a corrupt one rendered again', () => {
    const root = tempDir('rendered');
    const dir = join(root, 'kmod-xz');
    const c = counting();
    expect(cachedRendering('res', parts(), c.render, dir).texts[0]![1]).toBe('render 1\n');
    expect(cachedRendering('res', parts(), c.render, dir).texts[0]![1]).toBe('render 1\n');
    for (const other of [parts({ sizes: [10, 21] }), parts({ paths: ['k/a.ko', 'k/b.ko'] }), parts({ imageDir: '/lib/modules/9.8' })]) cachedRendering('res', other, c.render, dir);
    cachedRendering('other resolution', parts(), c.render, dir);
    expect(c.calls()).toBe(5);
    const entries = readdirSync(join(root, 'kmod-resolved'));
    expect(entries).toHaveLength(5);
    const first = entries.map((e) => join(root, 'kmod-resolved', e)).find((p) => readFileSync(p, 'utf8').includes('render 1'))!;
    writeFileSync(first, JSON.stringify({ texts: [['modules.dep', 'planted\n']], skipped: [] }));
    expect(cachedRendering('res', parts(), c.render, dir).texts[0]![1]).toBe('planted\n');
    for (const bad of ['{', JSON.stringify({ texts: [['a']], skipped: [] }), JSON.stringify({ texts: [], skipped: [1] })]) {
      writeFileSync(first, bad);
      expect(cachedRendering('res', parts(), c.render, dir).texts[0]![1]).toMatch(/^render \d\n$/);
    }
    expect(c.calls()).toBe(8);
    rmSync(root, { recursive: true, force: true });
  });
  test('no resolution key (run from sources) or no cache home: rendered every time', () => {
    const c = counting();
    cachedRendering(undefined, parts(), c.render, join(tmpdir(), 'never-made'));
    cachedRendering('res', parts(), c.render, null);
    expect(c.calls()).toBe(2);
  });
});
