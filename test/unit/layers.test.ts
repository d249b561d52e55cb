// SPDX-License-Identifier: GPL-2.0-or-later
// The pure layer model: member names, hostile archives, OCI whiteouts → OverlayFS, and the
// whiteout-preserving merge, checked against what OverlayFS would show for the original stack.
import { describe, expect, test } from 'bun:test';
import {
  checkEntries, dirEntry, type Entry, fromHeader, HostileEntry, normalisePath, ociToOverlay, OPAQUE_XATTR, symlinkEscapes,
} from '../../src/layers/entries.ts';
import { planMerge } from '../../src/layers/merge.ts';
import { imageLayers, isImageArchive } from '../../src/layers/oci.ts';

const file = (path: string, size = 1, extra: Partial<Entry> = {}): Entry => ({
  path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size, linkname: '', devmajor: 0, devminor: 0, xattrs: {}, ...extra,
});
const wh = (path: string): Entry => ({ ...file(path, 0), type: 'character-device', mode: 0 });
const dir = (path: string, opaque = false): Entry => dirEntry(path, opaque ? { [OPAQUE_XATTR]: 'y' } : {});
const link = (path: string, to: string): Entry => ({ ...file(path, 0), type: 'link', linkname: to });

/**
 * What OverlayFS shows for a stack (top first): path → type of the visible entry. Lookup as the
 * kernel does it: a name is searched in the layers where its parent is a merged directory, top
 * down, stopping at a whiteout, a non-directory or an opaque directory.
 */
function overlayView(layers: Entry[][]): Map<string, string> {
  const byLayer = layers.map((entries) => {
    const m = new Map<string, Entry>();
    for (const e of entries) {
      m.set(e.path, e);
      for (let a = e.path; a.includes('/'); ) {
        a = a.slice(0, a.lastIndexOf('/'));
        if (!m.has(a)) m.set(a, dir(a));
      }
    }
    return m;
  });
  const all = [...new Set(byLayer.flatMap((m) => [...m.keys()]))].sort();
  const view = new Map<string, string>();
  const dirLayers = new Map<string, number[]>([['', layers.map((_, k) => k)]]);
  for (const p of all) {
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    const ks: number[] = [];
    for (const k of dirLayers.get(parent) ?? []) {
      const e = byLayer[k]!.get(p);
      if (!e) continue;
      if (e.type !== 'directory') {
        if (ks.length === 0 && !(e.type === 'character-device' && e.devmajor === 0 && e.devminor === 0)) view.set(p, e.type);
        break;
      }
      ks.push(k);
      if (e.xattrs[OPAQUE_XATTR] === 'y') break;
    }
    if (ks.length) {
      view.set(p, 'directory');
      dirLayers.set(p, ks);
    }
  }
  return view;
}

/** The merged layer (all emitted entries) as a flat list, for viewing over what lies below. */
function merged(layers: Entry[][], bottom = false): Entry[] {
  const plan = planMerge(layers, { bottom });
  return [...plan.dirs, ...plan.emits.flatMap((m) => [...m.values()])];
}
const kinds = (view: Map<string, string>) => view;

describe('member names', () => {
  test('normalised: ./ prefixes, trailing /, repeated /', () => {
    expect(normalisePath('./etc//passwd')).toBe('etc/passwd');
    expect(normalisePath('etc/')).toBe('etc');
    expect(normalisePath('./')).toBe('');
  });
  test.each([['/etc/passwd'], ['../x'], ['a/../../x'], ['a/..'], ['a\0b']])('refused: %p', (name) => {
    expect(() => normalisePath(name)).toThrow(HostileEntry);
  });
  test('symlinks: absolute targets resolve inside the booted root; climbing relative ones are refused', () => {
    expect(symlinkEscapes('usr/bin/sh', '/bin/busybox')).toBe(false);
    expect(symlinkEscapes('usr/bin/sh', '../../bin/busybox')).toBe(false);
    expect(symlinkEscapes('usr/bin/sh', '../../../etc/shadow')).toBe(true);
    expect(symlinkEscapes('a', 'b/../../x')).toBe(true);
  });
  test('a tar header becomes an Entry with xattrs from pax records', () => {
    const e = fromHeader({ name: './d/', type: 'directory', mode: 0o40755, mtime: new Date(5000), pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } });
    expect(e).toMatchObject({ path: 'd', type: 'directory', mode: 0o755, mtime: 5, xattrs: { [OPAQUE_XATTR]: 'y' } });
    expect(fromHeader({ name: './', type: 'directory' })).toBeNull();
    expect(() => fromHeader({ name: 'x', type: 'link', linkname: '../../etc/shadow' })).toThrow('hard link target');
    expect(() => fromHeader({ name: 'x', type: 'gnu-sparse' })).toThrow('unsupported');
  });
});

describe('hostile archives are refused before anything is written', () => {
  const cases: [string, Entry[], string][] = [
    ['hard link to a later or missing member', [link('a', 'b'), file('b')], 'not an earlier member'],
    ['hard link to a directory', [dir('d'), link('a', 'd')], 'hard link to a directory'],
    ['symlink out of the root', [{ ...file('a/l', 0), type: 'symlink', linkname: '../../x' }], 'outside the root'],
    ['device node', [{ ...file('dev/sda', 0), type: 'block-device', devmajor: 8 }], 'device node'],
    ['a path below a file (a symlink swap)', [file('etc'), file('etc/passwd')], 'not a directory'],
    ['a path below a symlink', [{ ...file('etc', 0), type: 'symlink', linkname: '/tmp' }, file('etc/x')], 'not a directory'],
    ['a huge size', [file('a', 2 ** 40)], 'larger than the limit'],
  ];
  test.each(cases)('%s', (_name, entries, why) => {
    expect(() => checkEntries(entries, { allowDevices: false, maxBytes: 2 ** 30 })).toThrow(why);
  });
  test('whiteouts are not devices; device nodes pass with allowDevices; sizes add up', () => {
    expect(() => checkEntries([wh('a')])).not.toThrow();
    expect(() => checkEntries([{ ...file('null', 0), type: 'character-device', devmajor: 1, devminor: 3 }], { allowDevices: true, maxBytes: 10 })).not.toThrow();
    expect(() => checkEntries([file('a', 6), file('b', 5)], { allowDevices: false, maxBytes: 10 })).toThrow('larger than the limit');
  });
});

describe('OCI whiteouts → OverlayFS', () => {
  test('.wh.NAME → 0/0 device, .wh..wh..opq → opaque dir, aufs bookkeeping dropped, indexes kept', () => {
    const { entries, extra } = ociToOverlay([dir('etc'), file('etc/.wh.gone', 0), dir('opt'), file('opt/.wh..wh..opq', 0), file('opt/new'), file('.wh..wh.plnk', 0), null]);
    expect(entries.map((e) => e && [e.path, e.type, e.xattrs[OPAQUE_XATTR] ?? ''])).toEqual([
      ['etc', 'directory', ''], ['etc/gone', 'character-device', ''], ['opt', 'directory', 'y'], null, ['opt/new', 'file', ''], null, null,
    ]);
    expect(extra).toEqual([]);
  });
  test('an opaque marker in a directory without an entry of its own creates it', () => {
    const { extra } = ociToOverlay([file('var/lib/.wh..wh..opq', 0)]);
    expect(extra).toEqual([dir('var/lib', true)]);
  });
  test('a whiteout hides lower layers only: same-layer NAME wins; entries below NAME make it opaque', () => {
    const a = ociToOverlay([file('x'), file('.wh.x', 0)]);
    expect(a.entries[1]).toBeNull();
    const b = ociToOverlay([file('.wh.d', 0), file('d/new')]);
    expect(b.entries[0]).toBeNull();
    expect(b.extra).toEqual([dir('d', true)]);
  });
});

describe('merge keeps what the stack showed', () => {
  // Top first. `below` is a layer under the merged ones: the result must show over it what the
  // merged layers showed together.
  const below = [dir('etc'), file('etc/deleted'), dir('opt'), file('opt/old'), dir('srv'), file('srv/keep'), file('swap')];
  const stacks: [string, Entry[][]][] = [
    ['whiteout in the top layer', [[wh('etc/deleted')], [dir('etc'), file('etc/other')]]],
    ['opaque dir in the middle', [[file('opt/top')], [dir('opt', true), file('opt/mid')]]],
    ['dir over a file', [[dir('swap'), file('swap/x')], [file('swap')]]],
    ['file over a dir', [[file('srv')], [dir('srv'), file('srv/y')]]],
    ['whiteout over a lower whiteout and file', [[wh('etc/a')], [file('etc/a')], [wh('etc/deleted')]]],
    ['dir over a whiteout of a dir', [[dir('opt'), file('opt/n')], [wh('opt')]]],
    ['deep whiteout under a plain dir', [[dir('srv'), dir('srv/d'), wh('srv/keep')], [dir('srv'), file('srv/z')]]],
  ];
  test.each(stacks)('%s', (_name, layers) => {
    const want = kinds(overlayView([...layers, below]));
    expect(kinds(overlayView([merged(layers), below]))).toEqual(want);
    // and as the bottom of a stack (nothing below): no whiteout or opaque marker is needed
    const alone = merged(layers, true);
    expect(alone.some((e) => e.type === 'character-device' || e.xattrs[OPAQUE_XATTR])).toBe(false);
    expect(kinds(overlayView([alone]))).toEqual(kinds(overlayView(layers)));
  });
  test('the merged whiteout still hides the file below the merged layers', () => {
    const m = merged([[wh('etc/deleted')], [file('etc/x')]]);
    expect(m.find((e) => e.path === 'etc/deleted')?.type).toBe('character-device');
  });
  test('a dir closed by a lower merged layer becomes opaque; the upper dir keeps its metadata', () => {
    const m = merged([[{ ...dir('opt'), mode: 0o700 }], [dir('opt', true)]]);
    expect(m.find((e) => e.path === 'opt')).toMatchObject({ mode: 0o700, xattrs: { [OPAQUE_XATTR]: 'y' } });
  });
  test('missing parents are added, parents before children', () => {
    const plan = planMerge([[file('a/b/c')]]);
    expect(plan.dirs.map((d) => d.path)).toEqual(['a', 'a/b']);
  });
  test('hard links: a link whose target is shadowed carries the target body under its own path', () => {
    const plan = planMerge([[file('f')], [file('f', 7), link('g', 'f'), link('h', 'f')]]);
    expect([...plan.emits[0]!.values()].map((e) => e.path)).toEqual(['f']);
    const lower = plan.emits[1]!;
    expect(lower.get(0)).toMatchObject({ path: 'g', type: 'file', size: 7 });
    expect(lower.get(1)).toBeUndefined();
    expect(lower.get(2)).toMatchObject({ path: 'h', type: 'link', linkname: 'g' });
  });
  test('within a layer a later member replaces an earlier one', () => {
    const plan = planMerge([[file('a', 1), file('a', 2)]]);
    expect([...plan.emits[0]!.entries()]).toEqual([[1, file('a', 2)]]);
  });
});

describe('image archives', () => {
  const digest = (c: string) => 'sha256:' + c.repeat(64);
  test('OCI layout: index → manifest → layers, bottom first', () => {
    const blobs: Record<string, unknown> = {
      'index.json': { manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest('a') }] },
      [`blobs/sha256/${'a'.repeat(64)}`]: { layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest('b') },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest('c') },
      ] },
    };
    const names = new Set([...Object.keys(blobs), 'oci-layout', `blobs/sha256/${'b'.repeat(64)}`, `blobs/sha256/${'c'.repeat(64)}`]);
    expect(isImageArchive(names)).toBe(true);
    expect(imageLayers({ names, json: (n) => blobs[n] })).toEqual([`blobs/sha256/${'b'.repeat(64)}`, `blobs/sha256/${'c'.repeat(64)}`]);
    expect(() => imageLayers({ names: new Set(['index.json', 'oci-layout', `blobs/sha256/${'a'.repeat(64)}`]), json: (n) => blobs[n] })).toThrow('not in the archive');
  });
  test('docker save: manifest.json Layers; a rootfs tarball is not an image', () => {
    const names = new Set(['manifest.json', 'l1/layer.tar']);
    expect(imageLayers({ names, json: () => [{ Layers: ['l1/layer.tar'] }] })).toEqual(['l1/layer.tar']);
    expect(isImageArchive(new Set(['etc/passwd', 'bin/sh', 'manifest.json']))).toBe(false);
  });
});
