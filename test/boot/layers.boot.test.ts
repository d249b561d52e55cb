// SPDX-License-Identifier: GPL-2.0-or-later
// SPEC §2, the layered root: the seed's command-line examples booted for real, in sequence on
// one root disk so persistence (or its absence) is observed across boots.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './build.ts';
import { IDS, makeExt4, randomToken, tempDir } from './disks.ts';
import { makeErofs, makeLayerTrees, makeSquashfs } from './layers.ts';
import { boot, canBoot, section } from './qemu.ts';

const END = /=== end\n/;
let dir = '';
let token = '';
let img = '';
let rootDisk = '';

/** The probe's report as key → value. */
function probe(consoleText: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of section(consoleText, 'action').matchAll(/^([A-Z]+)=(.*)$/gm)) out[m[1]!] = m[2]!.trim();
  return out;
}

function mountsOf(consoleText: string): Map<string, { dev: string; type: string; opts: string }> {
  const map = new Map<string, { dev: string; type: string; opts: string }>();
  for (const line of section(consoleText, 'mounts').trim().split('\n')) {
    const [dev = '', mnt = '', type = '', opts = ''] = line.split(' ');
    map.set(mnt, { dev, type, opts });
  }
  return map;
}

const bootLayers = (append: string, disks = [{ file: rootDisk }]) =>
  boot({ initrd: img, append: `${append} test.action=probe`, disks, until: END });

describe.if(canBoot)('layered root (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('layers');
    token = randomToken();
    const trees = makeLayerTrees(dir, token);
    const top = join(dir, 'rootdev');
    mkdirSync(top);
    for (const name of ['base', 'server', 'extra'] as const) makeSquashfs(trees[name], join(top, `${name}.sqsh`));
    rootDisk = join(dir, 'root.img');
    makeExt4(top, rootDisk, IDS.root);
    img = buildImage(join(dir, 'initrd.img'));
  });

  test('root=/dev/vda sqsh_layers=extra:server:base rw: order, whiteout, upper on the root device', async () => {
    const r = await bootLayers('root=/dev/vda sqsh_layers=extra:server:base rw test.arg=boot1');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(probe(r.console)).toEqual({ WHO: 'extra', DELETED: 'gone', SEEN: '', WRITE: 'ok' });
    const mounts = mountsOf(r.console);
    expect(mounts.get('/')).toMatchObject({ type: 'overlay' });
    expect(mounts.get('/')!.opts).toMatch(/^rw,.*lowerdir=\/sqsh_layer-extra:\/sqsh_layer-server:\/sqsh_layer-base,upperdir=\/root-true\/upper\/upper/);
    expect(mounts.get('/mnt/root-true')).toMatchObject({ dev: '/dev/vda', type: 'ext4' });
    expect(mounts.get('/mnt/root-true')!.opts).toMatch(/^rw/);
    for (const n of ['extra', 'server', 'base']) {
      expect(mounts.get(`/mnt/sqsh_layer-${n}`)).toMatchObject({ type: 'squashfs' });
    }
    const state = section(r.console, 'state');
    expect(state).toContain('mode=layered');
    expect(state).toContain('layer=extra squashfs /mnt/root-true/extra.sqsh /mnt/sqsh_layer-extra');
    expect(state).toContain('layers=extra:server:base');
    expect(state).toContain('upper=/mnt/root-true/upper/upper');
  });

  test('the next boot sees the first boot\'s write; read-only root without rw', async () => {
    const r = await bootLayers('root=/dev/vda sqsh_layers=extra:server:base test.arg=boot2');
    expect(probe(r.console)).toEqual({ WHO: 'extra', DELETED: 'gone', SEEN: 'boot1', WRITE: 'failed' });
    expect(mountsOf(r.console).get('/')!.opts).toMatch(/^ro/);
  });

  test('ram_layer=50%: root device read-only, the persistent upper is the top layer', async () => {
    const r = await bootLayers('root=/dev/vda sqsh_layers=extra:server:base ram_layer=50% rw test.arg=ram1');
    expect(probe(r.console)).toEqual({ WHO: 'extra', DELETED: 'gone', SEEN: 'boot1', WRITE: 'ok' });
    const mounts = mountsOf(r.console);
    expect(mounts.get('/mnt/root-true')!.opts).toMatch(/^ro/);
    expect(mounts.get('/mnt/upper')).toMatchObject({ type: 'tmpfs' });
    expect(mounts.get('/mnt/sqsh_layer-upper')!.opts).toMatch(/^ro/);
    expect(section(r.console, 'state')).toContain('layers=upper:extra:server:base');
  });

  test('ram_layer=50% to_ram: writes of the last boot are gone, the root device is released', async () => {
    const r = await bootLayers('root=/dev/vda sqsh_layers=extra:server:base ram_layer=50% to_ram rw test.arg=ram2');
    expect(probe(r.console)).toEqual({ WHO: 'extra', DELETED: 'gone', SEEN: 'boot1', WRITE: 'ok' });
    const mounts = mountsOf(r.console);
    expect(mounts.has('/mnt/root-true')).toBe(false);
    expect([...mounts.values()].some((m) => m.dev.startsWith('/dev/vda'))).toBe(false);
    expect(mounts.get('/mnt/sqsh_layerdev')).toMatchObject({ type: 'tmpfs' });
    expect(section(r.console, 'state')).toContain('to_ram=1');
  });
});
