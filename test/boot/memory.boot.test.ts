// SPDX-License-Identifier: GPL-2.0-or-later
// The initramfs's memory comes back to the root (issue 11: MemAvailable after switch_root within
// 1 MiB of tiny-initramfs). The same image with 24 MiB of incompressible padding more, in the cpio
// and in an embedded erofs second stage, must leave the root as much memory as the plain default
// image: the padding is unpacked into the initramfs, so anything of it still held after switch_root
// (a file kept open or mapped, the second stage still mounted, a copy in /run) shows as ~24 MiB
// less. kmod.boot.test.ts names what holds such memory; this sees its amount, whatever holds it.
// MemAvailable alone moves by up to ~3 MiB from boot to boot (it leaves out the per-CPU free lists,
// which hold a different share of the freed initramfs each time): the guest reads it and the lists
// together (bench/stats.ts), which agree within ~0.1 MiB between boots of one image.
import { beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryWithPcpMiB } from '../../bench/stats.ts';
import { buildImage } from './build.ts';
import { makeExt4, makeGuestRoot, randomToken, tempDir } from './disks.ts';
import { boot, canBoot, section } from './qemu.ts';

const END = /=== end\n/;
const ACTION = `grep -h -E '^MemAvailable:|^ +count:' /proc/meminfo /proc/zoneinfo
echo ---
cut -d' ' -f1 /proc/modules`;
const PAD_MIB = 24;
/** Far below the padding, far above what differs between boots and images (the second stage's modules). */
const BOUND_MIB = 2;
let dir = '';
let token = '';
let rootImg = '';
let plainImg = '';
let paddedImg = '';
let stage2Img = '';

/** MemAvailable plus the per-CPU free lists when the root's init ran, and the modules then loaded. */
async function memoryAfterBoot(initrd: string): Promise<{ mib: number; modules: string[] }> {
  const r = await boot({ initrd, append: 'root=/dev/vda quiet test.action=mem', disks: [{ file: rootImg }], until: END, timeoutMs: 600_000 });
  expect(section(r.console, 'token').trim()).toBe(token);
  const [memory = '', modules = ''] = section(r.console, 'action').split('---\n');
  const mib = memoryWithPcpMiB(memory);
  if (mib === undefined) throw new Error(`no MemAvailable and per-CPU lists in the guest's output:\n${memory}`);
  return { mib, modules: modules.trim().split('\n').sort() };
}

describe.if(canBoot)('initramfs memory after switch_root (QEMU)', () => {
  beforeAll(() => {
    dir = tempDir('memory');
    token = randomToken();
    makeGuestRoot(join(dir, 'tree'), token, { mem: ACTION });
    rootImg = join(dir, 'root.img');
    makeExt4(join(dir, 'tree'), rootImg);
    const pad = join(dir, 'pad');
    writeFileSync(pad, crypto.getRandomValues(new Uint8Array(PAD_MIB * 2 ** 20)));
    plainImg = buildImage(join(dir, 'plain.img'));
    paddedImg = buildImage(join(dir, 'padded.img'), '--include', `${pad}:/usr/share/ruckus-pad`);
    stage2Img = buildImage(join(dir, 'stage2.img'), '--second-stage', 'erofs', '--include', `${pad}:/usr/share/ruckus-pad`);
  });

  test(`${PAD_MIB} MiB more in the cpio or in an embedded erofs second stage leave the root as much memory (within ${BOUND_MIB} MiB)`, async () => {
    const plain = await memoryAfterBoot(plainImg);
    const padded = await memoryAfterBoot(paddedImg);
    const stage2 = await memoryAfterBoot(stage2Img);
    console.log(`MemAvailable + per-CPU lists: plain ${plain.mib.toFixed(2)} MiB, padded ${padded.mib.toFixed(2)} MiB, ` +
      `erofs second stage ${stage2.mib.toFixed(2)} MiB (modules ${stage2.modules.filter((m) => !plain.modules.includes(m)).join(' ') || 'as plain'})`);
    expect(Math.abs(padded.mib - plain.mib)).toBeLessThan(BOUND_MIB);
    expect(padded.modules).toEqual(plain.modules);
    expect(Math.abs(stage2.mib - plain.mib)).toBeLessThan(BOUND_MIB);
  });
});
