// SPDX-License-Identifier: GPL-2.0-or-later
// Verified layers (issue 12 item 11): a layer with a trusted root hash (--trust-layer, in the image)
// is mounted through dm-verity over NAME.sqsh.verity; one byte changed is `ruckusrd: fatal`, and with
// sqsh_verity=require a layer without a trusted hash is refused; --layer-verity require cannot be
// lowered from the command line. The trusted layer and its hash tree are made with
// `mkruckus layer build --verity`, its printed root hash trusted with --trust-layer.
import { beforeAll, expect } from 'bun:test';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ensureBinary } from '../binary.ts';
import { describeNeeding, missing, testNeeding } from '../unit/need.ts';
import { buildImage } from './build.ts';
import { makeExt4, makeGuestRoot, randomToken, run, tempDir } from './disks.ts';
import { makeSquashfs } from './layers.ts';
import { boot, canBoot, section } from './qemu.ts';
import { flipByte } from '../flip.ts';

const END = /=== end\n/;
let dir = '';
let img = '';
let strictImg = '';
let goodDisk = '';
let badDisk = '';
let token = '';
let rootHash = '';

function noPanic(text: string): void {
  expect(text).not.toContain('Kernel panic');
  expect(text).not.toContain('Attempted to kill init');
}

/** `mkruckus layer build NAME --from DIR --verity` into OUT; the root hash it prints. */
function buildVerityLayer(name: string, from: string, out: string): string {
  const text = run([BIN, 'layer', 'build', name, '--from', from, '--out', out, '--verity']);
  const m = new RegExp(`^sqsh_verity_roots=${name}=([0-9a-f]{64})$`, 'm').exec(text);
  if (!m) throw new Error(`no root hash in: ${text}`);
  return m[1]!;
}

const needs = [...(canBoot ? [] : ['QEMU and a kernel']), ...missing('veritysetup')];

describeNeeding(needs, 'verified layers (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('verity');
    token = randomToken();
    const tree = join(dir, 'tree');
    makeGuestRoot(tree, token);
    const extra = join(dir, 'extra');
    mkdirSync(join(extra, 'etc'), { recursive: true });
    writeFileSync(join(extra, 'etc/extra'), 'x\n');
    const good = join(dir, 'good');
    mkdirSync(good);
    makeSquashfs(extra, join(good, 'extra.sqsh'));
    ensureBinary();
    rootHash = buildVerityLayer('base', tree, good);
    goodDisk = join(dir, 'good.img');
    makeExt4(good, goodDisk, {});
    // One byte of the superblock block changed: the hash tree and the trusted hash stay as they were.
    flipByte(join(good, 'base.sqsh'), 100);
    badDisk = join(dir, 'bad.img');
    makeExt4(good, badDisk, {});
    img = buildImage(join(dir, 'initrd.img'), '--trust-layer', `base=${rootHash}`);
    strictImg = buildImage(join(dir, 'strict.img'), '--trust-layer', `base=${rootHash}`, '--layer-verity', 'require');
    copyFileSync(goodDisk, join(dir, 'good-copy.img'));
  });

  testNeeding([], 'a trusted layer is mounted through dm-verity (sqsh_verity=require)', async () => {
    const r = await boot({ initrd: img, append: 'root=/dev/vda sqsh_layers=base sqsh_verity=require', disks: [{ file: goodDisk }], until: END });
    noPanic(r.console);
    expect(r.fatal).toBeUndefined();
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'state')).toContain(`verity=base ${rootHash}`);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/(mapper\/ruckus-layer-base|dm-0) \/mnt\/sqsh_layer-base squashfs ro/m);
  });

  testNeeding([], 'one byte changed in the layer is fatal', async () => {
    const r = await boot({ initrd: img, append: 'root=/dev/vda sqsh_layers=base', disks: [{ file: badDisk }] });
    noPanic(r.console);
    expect(r.fatal).toMatch(/^ruckusrd: fatal: (cannot mount layer base \(\/dev\/mapper\/ruckus-layer-base, squashfs\)|layer base: dm-verity refuses)/);
  });

  testNeeding([], 'sqsh_verity=require: a layer without a trusted hash is fatal', async () => {
    const r = await boot({ initrd: img, append: 'root=/dev/vda sqsh_layers=extra:base sqsh_verity=require', disks: [{ file: goodDisk }] });
    noPanic(r.console);
    expect(r.fatal).toBe('ruckusrd: fatal: layer extra has no trusted root hash (sqsh_verity=require)');
  });

  testNeeding([], '--layer-verity require: sqsh_verity=off on the command line does not lower it', async () => {
    const r = await boot({ initrd: strictImg, append: 'root=/dev/vda sqsh_layers=extra:base sqsh_verity=off', disks: [{ file: join(dir, 'good-copy.img') }] });
    noPanic(r.console);
    expect(r.fatal).toBe('ruckusrd: fatal: layer extra has no trusted root hash (sqsh_verity=require)');
  });
});
