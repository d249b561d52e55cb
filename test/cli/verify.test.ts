// SPDX-License-Identifier: GPL-2.0-or-later
// `mkruckus verify IMG` (exit 0 boots, 1 does not, one line per problem) on images broken by hand
// with GNU cpio, and the same check failing a build instead of writing an image that cannot boot.
import { beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, missing } from '../unit/need.ts';
import { expectUserError, freshDir, KARG, KVER, run, sh, useScratch } from './helpers.ts';

useScratch();

const needs = [...missing('cpio', 'fsck.erofs', '/usr/sbin/blkid'), ...(KVER ? [] : ['an installed kernel'])];

/** Unpacks an uncompressed single-cpio image, lets `edit` change the tree, packs it again. */
function rebuilt(image: string, edit: (root: string) => void): string {
  const root = freshDir('tree');
  expect(Bun.spawnSync(['cpio', '-idm', '--quiet'], { cwd: root, stdin: Bun.file(image) }).exitCode).toBe(0);
  edit(root);
  const out = `${image}.broken`;
  const r = Bun.spawnSync(['sh', '-c', 'find . | LC_ALL=C sort | cpio --quiet -o -H newc > "$1"', 'sh', out], { cwd: root });
  expect(r.exitCode).toBe(0);
  return out;
}

const verify = (image: string) => run(['verify', image]);

describeNeeding(needs, 'verify', () => {
  let image = '';
  let kdir = '';
  beforeAll(() => {
    const cwd = freshDir('verify');
    image = join(cwd, 'plain.img');
    const r = run(['--kernel', KARG, '--modules', 'base', '--install', 'blkid', '--add-drivers', 'ext4,kaweth', '--no-ucode', '--compress', 'none', image]);
    if (r.code !== 0) throw new Error(r.stderr);
    kdir = `usr/lib/modules/${KVER}`;
  });

  test('a built image boots: exit 0; the firmware a module names but the image lacks is a warning line', () => {
    const r = verify(image);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toContain(`${image}: warning: firmware kaweth/trigger_code_fix.bin for kaweth is not in the image`);
    expect(lines.every((l) => l.startsWith(`${image}: warning: firmware `))).toBe(true);
  });

  test('a removed library: exit 1, one line naming it and its user', () => {
    const broken = rebuilt(image, (root) => sh(['sh', '-c', `rm -f "${root}"/usr/lib/*/libblkid.so.1*`]));
    const r = verify(broken);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${broken}: error: /usr/sbin/blkid: library libblkid.so.1 is not in the image\n`);
    expect(r.stderr).toBe(`mkruckus: error: ${broken} would not boot: 1 problem\n`);
  });

  test('a removed module dependency: exit 1, the module and what it needs named', () => {
    const broken = rebuilt(image, (root) => rmSync(join(root, kdir, 'kernel/fs/jbd2/jbd2.ko')));
    const r = verify(broken);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${broken}: error: kernel module ext4 needs jbd2 (kernel/fs/jbd2/jbd2.ko), which is not in the image\n`);
  });

  test('a module the index does not know, and a missing /init: exit 1, a line each', () => {
    const broken = rebuilt(image, (root) => {
      writeFileSync(join(root, kdir, 'kernel/fs/stray.ko'), '\x7fELF');
      rmSync(join(root, 'init'));
    });
    const r = verify(broken);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${broken}: error: /init is missing\n`);
    expect(r.stdout).toContain(`error: kernel module /${kdir}/kernel/fs/stray.ko is not in modules.dep`);
    expect(r.stderr).toBe(`mkruckus: error: ${broken} would not boot: 2 problems\n`);
  });

  test('a /boot second stage altered by one byte, then missing: exit 1, one line each', () => {
    const cwd = freshDir('two');
    const r0 = run(['--kernel', KARG, '--modules', 'base', '--second-stage', 'erofs', '--second-stage-placement', 'boot', '--second-stage-boot-dev', 'LABEL=boot', 'out.img'], { cwd });
    expect(r0.code).toBe(0);
    expect(verify(join(cwd, 'out.img')).code).toBe(0);
    // Named by its content: out.img.stage2-HASH.
    const stage2 = join(cwd, readdirSync(cwd).find((n) => n.startsWith('out.img.stage2-'))!);
    const bytes = readFileSync(stage2);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(stage2, bytes);
    const altered = verify(join(cwd, 'out.img'));
    expect(altered.code).toBe(1);
    expect(altered.stdout).toMatch(/: error: the second stage .*out\.img\.stage2-[0-9a-f]{16} does not match: \d+ bytes, sha256 [0-9a-f]{64}; recorded/);
    rmSync(stage2);
    const gone = verify(join(cwd, 'out.img'));
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/: error: the second stage is missing: expected .*out\.img\.stage2-[0-9a-f]{16}/);
  });
});

describe('the build runs the same check', () => {
  test('an included script whose interpreter the image lacks fails the build; OUT is not written', () => {
    const cwd = freshDir('badinterp');
    mkdirSync(join(cwd, 'src'));
    writeFileSync(join(cwd, 'src/hook'), '#!/usr/bin/perl\nprint 1;\n');
    chmodSync(join(cwd, 'src/hook'), 0o755);
    const r = run(['--kernel', KARG, '--modules', 'base', '--include', 'src/hook:/usr/bin/hook', 'out.img'], { cwd });
    expectUserError(r, /^mkruckus: error: the image would not boot, so it was not written: \/usr\/bin\/hook: interpreter \/usr\/bin\/perl is not in the image$/);
    expect(existsSync(join(cwd, 'out.img'))).toBe(false);
  });
});
