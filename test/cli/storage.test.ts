// SPDX-License-Identifier: GPL-2.0-or-later
// `--add storage-all` brings along crypt, lvm and mdraid only when the base has cryptsetup, lvm and
// mdadm (issue 13): on this host (setup.sh installs them), and in a --base whose /usr hides two of them.
import { expect } from 'bun:test';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, missing, testNeeding } from '../unit/need.ts';
import { CAN_OVERLAY, freshDir, KARG, KVER, run, runInBase, sh, useScratch } from './helpers.ts';

useScratch();

const modulesOf = (stdout: string): string[] => /^modules: (.*)$/m.exec(stdout)?.[1]?.split(' ') ?? [];
const kernel = KVER ? [] : ['an installed kernel'];

testNeeding([...kernel, ...missing('cryptsetup', 'lvm', 'mdadm')], '--add storage-all on a base with the tools: crypt, lvm, mdraid, resume', () => {
  const r = run(['--kernel', KARG, '--dry-run', '--add', 'storage-all', 'out.img'], { cwd: freshDir('sa') });
  expect(r.code).toBe(0);
  expect(modulesOf(r.stdout)).toEqual(expect.arrayContaining(['storage-all', 'crypt', 'lvm', 'mdraid', 'resume']));
  // --omit still wins over a want.
  const o = run(['--kernel', KARG, '--dry-run', '--add', 'storage-all', '--omit', 'lvm', 'out.img'], { cwd: freshDir('sa') });
  expect(modulesOf(o.stdout)).not.toContain('lvm');
});

describeNeeding([...kernel, ...(CAN_OVERLAY ? [] : ['root and overlay mounts (unshare -m)'])], 'a base without cryptsetup and mdadm', () => {
  testNeeding(missing('lvm'), '--add storage-all takes lvm and resume only', () => {
    const base = freshDir('notools');
    mkdirSync(join(base, 'usr'));
    mkdirSync(join(base, 'etc'));
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(base, d));
    for (const f of ['ld.so.conf', 'ld.so.conf.d']) if (existsSync(`/etc/${f}`)) sh(['cp', '-a', `/etc/${f}`, join(base, 'etc/')]);
    // Overlay whiteouts (0/0 character devices) hide the host's tools.
    const extra = freshDir('notools-usr');
    mkdirSync(join(extra, 'sbin'));
    for (const tool of ['cryptsetup', 'mdadm']) expect(sh(['mknod', join(extra, 'sbin', tool), 'c', '0', '0']).ok).toBe(true);
    const r = runInBase(base, extra, ['--kernel', KARG, '--dry-run', '--no-ucode', '--add', 'storage-all', 'out.img'], freshDir('notools-out'));
    expect(r.code).toBe(0);
    const mods = modulesOf(r.stdout);
    expect(mods).toEqual(expect.arrayContaining(['storage-all', 'lvm', 'resume']));
    expect(mods).not.toContain('crypt');
    expect(mods).not.toContain('mdraid');
  });
});
