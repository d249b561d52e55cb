// SPDX-License-Identifier: GPL-2.0-or-later
// `--add storage-all` brings along crypt, lvm and mdraid only when the base has cryptsetup, lvm and
// mdadm (issue 13): on this host (setup.sh installs them), and in a --base whose /usr hides two of them.
import { expect } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
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

// md's `linear` left the kernel in 6.8: mdraid takes it where a kernel has it and says nothing
// where it does not (a kernel's postinst hook would warn at every install).
const installed = existsSync('/lib/modules') ? readdirSync('/lib/modules').filter((k) => existsSync(`/lib/modules/${k}/modules.dep`)) : [];
testNeeding([...kernel, ...missing('mdadm')], '--add mdraid: md linear where the kernel has it, no warning where it has not', () => {
  for (const k of installed) {
    const r = run(['--kernel', k, '--dry-run', '--no-ucode', '--add', 'mdraid', 'out.img'], { cwd: freshDir('md-linear') });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('kernel module linear not found');
    const has = readFileSync(`/lib/modules/${k}/modules.dep`, 'utf8').includes('/md/linear.ko');
    expect(/^kernel modules \(\d+\): .*\blinear\b/m.test(r.stdout)).toBe(has);
  }
});
