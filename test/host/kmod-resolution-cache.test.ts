// SPDX-License-Identifier: GPL-2.0-or-later
// The resolution cache (src/host/kmod-resolution-cache.ts): a hit is served without computing; other
// index bytes, requests or another program miss; a stale or corrupt entry is computed again; run
// from sources nothing is stored.
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kmod from '../../src/core/kmod.ts';
import { restrictKmodIndex, storeResolution } from '../../src/core/kmod-subset.ts';
import { cachedResolution, programIdentity } from '../../src/host/kmod-resolution-cache.ts';

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
    const root = mkdtempSync(join(tmpdir(), 'mkruckus-resolved-'));
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
    const root = mkdtempSync(join(tmpdir(), 'mkruckus-resolved-'));
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
    const root = mkdtempSync(join(tmpdir(), 'mkruckus-resolved-'));
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
