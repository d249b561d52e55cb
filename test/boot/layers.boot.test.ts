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
  for (const m of section(consoleText, 'action').matchAll(/^([A-Z0-9]+)=(.*)$/gm)) out[m[1]!] = m[2]!.trim();
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

const bootLayers = (append: string, disks: { file: string; readonly?: boolean }[] = [{ file: rootDisk }]) =>
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
    expect(probe(r.console)).toMatchObject({ WHO: 'extra', DELETED: 'gone', SEEN: '', WRITE: 'ok' });
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

  test('the next boot sees the first boot\'s write; read-only root without rw; overlayflags=', async () => {
    const r = await bootLayers('root=/dev/vda sqsh_layers=extra:server:base overlayflags=default_permissions test.arg=boot2');
    expect(probe(r.console)).toMatchObject({ WHO: 'extra', DELETED: 'gone', SEEN: 'boot1', WRITE: 'failed' });
    expect(mountsOf(r.console).get('/')!.opts).toMatch(/^ro,.*,default_permissions/);
  });

  test('ram_layer=40%: root device read-only, the persistent upper is the top layer', async () => {
    const r = await bootLayers('root=/dev/vda sqsh_layers=extra:server:base ram_layer=40% rw test.arg=ram1');
    expect(probe(r.console)).toMatchObject({ WHO: 'extra', DELETED: 'gone', SEEN: 'boot1', WRITE: 'ok' });
    const mounts = mountsOf(r.console);
    expect(mounts.get('/mnt/root-true')!.opts).toMatch(/^ro/);
    expect(mounts.get('/mnt/upper')).toMatchObject({ type: 'tmpfs' });
    // tmpfs size=40% is 40% of MemTotal, rounded up to a page. Not 50%: /proc/mounts leaves out a
    // size equal to tmpfs's default (half the RAM pages, rounded down), so 50% showed no size= at
    // all whenever the guest's page count was even (a CI failure).
    const size = Number(/(?:^|,)size=(\d+)k/.exec(mounts.get('/mnt/upper')!.opts)?.[1]);
    const memTotal = Number(/MemTotal:\s+(\d+)/.exec(r.console)?.[1]);
    expect(size - memTotal * 0.4).toBeGreaterThanOrEqual(0);
    expect(size - memTotal * 0.4).toBeLessThan(4);
    expect(mounts.get('/mnt/sqsh_layer-upper')!.opts).toMatch(/^ro/);
    expect(section(r.console, 'state')).toContain('layers=upper:extra:server:base');
  });

  test('ram_layer=50% to_ram: writes of the last boot are gone, the root device is released', async () => {
    const r = await bootLayers('root=/dev/vda sqsh_layers=extra:server:base ram_layer=50% to_ram rw test.arg=ram2');
    expect(probe(r.console)).toMatchObject({ WHO: 'extra', DELETED: 'gone', SEEN: 'boot1', WRITE: 'ok' });
    const mounts = mountsOf(r.console);
    expect(mounts.has('/mnt/root-true')).toBe(false);
    expect([...mounts.values()].some((m) => m.dev.startsWith('/dev/vda'))).toBe(false);
    // Released for real: no ext4 instance of vda anywhere (not even in the discarded initramfs),
    // and every layer's loop device reads the RAM copy.
    const seen = probe(r.console);
    expect(seen.EXT4).toBe('');
    expect(seen.LOOPS!.split(' ').sort()).toEqual(['/mnt/sqsh_layerdev/base.sqsh', '/mnt/sqsh_layerdev/extra.sqsh', '/mnt/sqsh_layerdev/server.sqsh']);
    expect(mounts.get('/mnt/sqsh_layerdev')).toMatchObject({ type: 'tmpfs' });
    expect(section(r.console, 'state')).toContain('to_ram=1');
  });
});

describe.if(canBoot)('layer devices, directories, formats and ruckusrd.conf (QEMU)', () => {
  let hostDisk = '';
  let sharedDisk = '';
  let confDisk = '';
  let legacyDisk = '';
  beforeAll(() => {
    if (!img) img = buildImage(join(tempDir('layers-img'), 'initrd.img'));
    const d = tempDir('layerdev');
    token ||= randomToken();
    const trees = makeLayerTrees(d, token);
    // The shared read-only device: base (squashfs) and server (erofs) in a nested directory,
    // plus an `extra` that must lose against the host's own extra on the root device.
    const shared = join(d, 'shared/layers/nested');
    mkdirSync(shared, { recursive: true });
    makeSquashfs(trees.base, join(shared, 'base.sqsh'));
    makeErofs(trees.server, join(shared, 'server.sqsh'));
    writeFileSync(join(trees.extra, 'etc/layer-who'), 'shared-extra\n');
    makeSquashfs(trees.extra, join(shared, 'extra.sqsh'));
    sharedDisk = join(d, 'shared.img');
    makeExt4(join(d, 'shared'), sharedDisk, IDS.layers);
    const host = join(d, 'host/layers/nested');
    mkdirSync(host, { recursive: true });
    writeFileSync(join(trees.extra, 'etc/layer-who'), 'host-extra\n');
    makeSquashfs(trees.extra, join(host, 'extra.sqsh'));
    hostDisk = join(d, 'host.img');
    makeExt4(join(d, 'host'), hostDisk, IDS.root);
    // ruckusrd.conf giving the stack, on a root device with all three layers.
    const conf = join(d, 'conf');
    mkdirSync(conf);
    for (const n of ['base', 'server'] as const) makeSquashfs(trees[n], join(conf, `${n}.sqsh`));
    copyFileSync(join(host, 'extra.sqsh'), join(conf, 'extra.sqsh'));
    writeFileSync(join(conf, 'ruckusrd.conf'), '# written by sqsh-commit\nsqsh_layers=server:base\nram_layer=64M\n');
    confDisk = join(d, 'conf.img');
    makeExt4(conf, confDisk, IDS.root);
    // The legacy single image: the whole tree as /squashfs.img.
    const legacy = join(d, 'legacy');
    mkdirSync(legacy);
    makeSquashfs(trees.base, join(legacy, 'squashfs.img'));
    legacyDisk = join(d, 'legacy.img');
    makeExt4(legacy, legacyDisk, {});
  });

  test('sqsh_layerdev + sqshfstype + nested sqsh_layerdir + an erofs layer, root=LABEL=', async () => {
    const r = await bootLayers(
      `root=LABEL=${IDS.root.label} sqsh_layerdev=/dev/vdb sqshfstype=ext4 sqsh_layerdir=layers/nested sqsh_layers=extra:server:base rw`,
      [{ file: hostDisk }, { file: sharedDisk, readonly: true }],
    );
    expect(probe(r.console)).toMatchObject({ WHO: 'host-extra', DELETED: 'gone', WRITE: 'ok' });
    const mounts = mountsOf(r.console);
    expect(mounts.get('/mnt/sqsh_layerdev')).toMatchObject({ dev: '/dev/vdb', type: 'ext4' });
    expect(mounts.get('/mnt/sqsh_layerdev')!.opts).toMatch(/^ro/);
    expect(mounts.get('/mnt/sqsh_layer-server')).toMatchObject({ type: 'erofs' });
    const state = section(r.console, 'state');
    expect(state).toContain('layer=extra squashfs /mnt/root-true/layers/nested/extra.sqsh /mnt/sqsh_layer-extra');
    expect(state).toContain('layer=server erofs /mnt/sqsh_layerdev/layers/nested/server.sqsh /mnt/sqsh_layer-server');
  });

  test('ruckusrd.conf gives the stack and ram_layer (root=UUID=)', async () => {
    const r = await bootLayers(`root=UUID=${IDS.root.uuid} rw`, [{ file: confDisk }]);
    expect(probe(r.console)).toMatchObject({ WHO: 'server', DELETED: 'gone' });
    const state = section(r.console, 'state');
    expect(state).toContain('layers=server:base');
    expect(state).toContain('ram_layer=64M');
    expect(mountsOf(r.console).get('/mnt/upper')!.opts).toMatch(/(^|,)size=65536k(,|$)/);
  });

  test('the command line overrides ruckusrd.conf key by key; root_true_rw', async () => {
    const r = await bootLayers(`root=UUID=${IDS.root.uuid} sqsh_layers=extra:server:base rw root_true_rw`, [{ file: confDisk }]);
    expect(probe(r.console)).toMatchObject({ WHO: 'host-extra' });
    expect(mountsOf(r.console).get('/mnt/root-true')!.opts).toMatch(/^rw/);
    const state = section(r.console, 'state');
    expect(state).toContain('layers=extra:server:base');
    expect(state).toContain('ram_layer=64M');
  });

  test('legacy: a /squashfs.img without sqsh_layers is the single lower layer', async () => {
    const r = await bootLayers('root=/dev/vda rw', [{ file: legacyDisk }]);
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(probe(r.console)).toMatchObject({ WHO: 'base', DELETED: 'present', WRITE: 'ok' });
    expect(section(r.console, 'state')).toContain('mode=legacy');
    expect(mountsOf(r.console).get('/mnt/sqsh_layer-squashfs')).toMatchObject({ type: 'squashfs' });
  });
});

describe.if(canBoot)('var_layer on a read-only traditional root (QEMU)', () => {
  let tradDisk = '';
  let varDisk = '';
  beforeAll(() => {
    if (!img) img = buildImage(join(tempDir('layers-img'), 'initrd.img'));
    const d = tempDir('var');
    const trees = makeLayerTrees(d, token || randomToken());
    tradDisk = join(d, 'trad.img');
    makeExt4(trees.base, tradDisk, {});
    mkdirSync(join(d, 'empty'));
    varDisk = join(d, 'var.img');
    makeExt4(join(d, 'empty'), varDisk, {});
  });

  test('var_layer=16M: /var writable on a read-only root, on a tmpfs', async () => {
    const r = await bootLayers('root=/dev/vda var_layer=16M test.arg=t1', [{ file: tradDisk }]);
    expect(probe(r.console)).toMatchObject({ WHO: 'base', WRITE: 'failed', VARWRITE: 'ok' });
    const mounts = mountsOf(r.console);
    expect(mounts.get('/')!.opts).toMatch(/^ro/);
    expect(mounts.get('/var')).toMatchObject({ type: 'overlay' });
    expect(section(r.console, 'state')).toContain('var_layer=16M');
  });

  test('var_layer=/dev/vdb keeps /var changes on that device across boots', async () => {
    const disks = [{ file: tradDisk }, { file: varDisk }];
    await bootLayers('root=/dev/vda var_layer=/dev/vdb test.arg=d1', disks);
    const r = await bootLayers('root=/dev/vda var_layer=/dev/vdb test.arg=d2', disks);
    expect(probe(r.console)).toMatchObject({ VARSEEN: 'd1', VARWRITE: 'ok' });
  });
});
