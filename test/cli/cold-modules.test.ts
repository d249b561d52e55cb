// SPDX-License-Identifier: GPL-2.0-or-later
// Cold kernel modules (coldKernelModules: kmod's rarer drivers, storage-all, crypt/lvm/mdraid) and cold
// binaries (coldBinaries, in one gzip'd archive beside them): in a
// one-cpio image they stay compressed in one uncompressed archive after the rest, so the kernel never
// inflates drivers a machine does not load; the common ones, a second stage and --add-drivers are
// stored as they load. Checked on every installed kernel series: Debian's 6.1 ships .ko (we gzip),
// 6.12 ships .ko.xz (kept as they are).
import { describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, missing } from '../unit/need.ts';
import { freshDir, inspect, KERNELS, run, sh, useScratch, type Segment } from './helpers.ts';

useScratch();

const MODULE = /\/lib\/modules\/[^/]+\/(.+?\.ko)(\.gz|\.xz)?$/;
const modules = (segments: Segment[]) =>
  segments.flatMap((s, i) => s.entries.flatMap((e) => {
    const m = MODULE.exec(e.path);
    return m ? [{ segment: i, compression: s.compression, name: m[1]!.replace(/.*\//, ''), suffix: m[2] ?? '' }] : [];
  }));

/** One kernel of each series installed (6.1 and 6.12 on CI), the newest of each. */
const SERIES = [...new Map(KERNELS.map((k) => [k.split('.').slice(0, 2).join('.'), k])).values()];

describeNeeding([...missing('cpio'), ...(SERIES.length ? [] : ['an installed kernel'])], 'cold kernel modules', () => {
  for (const kver of SERIES) {
    describe(kver, () => {
      const build = (name: string, ...args: string[]) => {
        const out = join(freshDir(name), 'out.img');
        const r = run(['--kernel', kver, ...args, out]);
        if (r.code !== 0) throw new Error(r.stderr);
        return out;
      };
      const xzKernel = readFileSync(`/lib/modules/${kver}/modules.dep`, 'utf8').includes('.ko.xz:');

      test('default image: the rarer drivers compressed in one last uncompressed archive, the common ones as they load', () => {
        const segments = inspect(build('default', '--add', 'crypt'));
        const mods = modules(segments);
        const cold = mods.filter((m) => m.suffix);
        const last = segments.length - 1;
        expect(segments[last]!.compression).toBe('none');
        // and the archive of cold binaries (cryptsetup of --add crypt), whose path holds a stub
        const tail = segments[last]!.entries.map((e) => e.path);
        expect(tail.filter((p) => !/\.ko\.(gz|xz)$/.test(p))).toEqual(['/usr/lib/ruckusrd/cold.cpio.gz']);
        expect(segments.flatMap((s) => s.entries).find((e) => e.path === '/usr/sbin/cryptsetup')?.size).toBeLessThan(200);
        expect(cold.every((m) => m.segment === last && m.suffix === (xzKernel ? '.xz' : '.gz'))).toBe(true);
        const names = (list: typeof mods) => list.map((m) => m.name);
        expect(names(cold)).toEqual(expect.arrayContaining(['xfs.ko', 'btrfs.ko', 'ata_piix.ko', 'dm-crypt.ko']));
        const hot = mods.filter((m) => !m.suffix);
        expect(names(hot)).toEqual(expect.arrayContaining(['ext4.ko', 'jbd2.ko', 'virtio_blk.ko', 'ahci.ko', 'nvme.ko', 'overlay.ko', 'squashfs.ko']));
        expect(hot.every((m) => m.segment < last && m.compression !== 'none')).toBe(true);
      });

      test('--add-drivers and a second stage store modules as they load', () => {
        const added = modules(inspect(build('drivers', '--add-drivers', 'xfs')));
        expect(added.find((m) => m.name === 'xfs.ko')?.suffix).toBe('');
        const two = run(['inspect', '--json', build('two', '--second-stage', 'erofs')]);
        expect(two.code).toBe(0);
        expect(two.stdout).not.toMatch(/\.ko\.(gz|xz)"/);
        expect(two.stdout).toContain('xfs.ko"');
      });

      test('mkruckus verify reads a gzip\'d module as insmod will: a corrupt one is an error', () => {
        if (xzKernel) return; // only a .ko kernel's cold modules are ours to gzip
        const image = build('verify', '--modules', 'base,kmod', '--compress', 'none', '--no-ucode');
        expect(run(['verify', image]).code).toBe(0);
        const root = join(freshDir('tree'), 'x');
        // both archives (GNU cpio would stop at the first one's trailer)
        expect(run(['inspect', '--extract', root, image]).code).toBe(0);
        const xfs = sh(['sh', '-c', `cd "${root}" && find . -name xfs.ko.gz`]).out.trim();
        expect(xfs).toMatch(/xfs\.ko\.gz$/);
        writeFileSync(join(root, xfs), 'not gzip');
        const broken = `${image}.broken`;
        expect(sh(['sh', '-c', `cd "${root}" && find . | LC_ALL=C sort | cpio --quiet -o -H newc > "${broken}"`]).ok).toBe(true);
        const r = run(['verify', broken]);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(`error: kernel module ${xfs.replace(/^\.\/usr\/lib\/modules\/[^/]+\//, '')} does not decompress (gzip)`);
      });
    });
  }
});
