// SPDX-License-Identifier: GPL-2.0-or-later
// Cold binaries (src/core/cold.ts, buildPlan's rule for them): the files only they need leave the
// tree for one gzip'd archive that busybox cpio reads back, a stub takes each binary's path, and a
// file something else needs too stays in the image.
import { describe, expect, test } from 'bun:test';
import type { CpioEntry } from '../../src/archive/cpio.ts';
import { readImage } from '../../src/archive/read.ts';
import { COLD_ARCHIVE_PATH, COLD_STUB, coldArchiveBytes, withColdArchive, type ColdArchive } from '../../src/core/cold.ts';
import { buildPlan, type OwnedItem } from '../../src/core/plan.ts';
import type { StageItem } from '../../src/core/stage.ts';

const enc = new TextEncoder();
const file = (path: string, cold?: 'binary' | 'part'): StageItem => ({ kind: 'file', path, mode: 0o755, source: `/base${path}`, ...(cold ? { cold } : {}) });
const owned = (owner: string, item: StageItem): OwnedItem => ({ owner, item });
const gzip = (a: ColdArchive) => Bun.gzipSync(coldArchiveBytes(a) as Uint8Array<ArrayBuffer>);

describe('cold binaries', () => {
  const plan = buildPlan([
    owned('lvm', file('/usr/sbin/lvm', 'binary')),
    owned('lvm', file('/usr/lib/libdevmapper.so.1.02.1', 'part')),
    owned('lvm', file('/usr/lib/libc.so.6', 'part')),
    owned('rootfs', file('/usr/lib/libc.so.6')),
    owned('rootfs', file('/usr/sbin/blkid')),
  ]);
  const entries: CpioEntry[] = plan.map((e) => (e.item.kind === 'dir'
    ? { path: e.item.path, type: 'dir', mode: 0o755 }
    : { path: e.item.path, type: 'file', mode: 0o755, data: enc.encode(`bytes of ${e.item.path}`) }));

  test('a file wanted in the image and cold stays in the image, whichever module comes first', () => {
    const cold = (p: ReturnType<typeof buildPlan>) => p.filter((e) => e.item.cold).map((e) => e.item.path);
    expect(cold(plan)).toEqual(['/usr/lib/libdevmapper.so.1.02.1', '/usr/sbin/lvm']);
    const reversed = buildPlan([owned('rootfs', file('/usr/lib/libc.so.6')), owned('lvm', file('/usr/lib/libc.so.6', 'part'))]);
    expect(cold(reversed)).toEqual([]);
  });

  test('cold files go into the archive with their directories; a stub takes the binary\'s path', async () => {
    const out = withColdArchive(plan, entries, 7, gzip);
    const byPath = new Map(out.map((e) => [e.path, e]));
    expect(byPath.has('/usr/lib/libdevmapper.so.1.02.1')).toBe(false);
    expect(new TextDecoder().decode(byPath.get('/usr/sbin/lvm')!.data)).toBe(COLD_STUB);
    expect(byPath.get('/usr/sbin/lvm')!.mode).toBe(0o755);
    expect(byPath.get('/usr/lib/libc.so.6')!.data).toEqual(enc.encode('bytes of /usr/lib/libc.so.6'));
    expect(byPath.get('/usr/sbin/blkid')).toBeDefined();
    const [archive] = await readImage(Bun.gunzipSync(byPath.get(COLD_ARCHIVE_PATH)!.data as Uint8Array<ArrayBuffer>), { data: true });
    expect(archive!.entries.map((e) => e.path)).toEqual(['/usr', '/usr/lib', '/usr/lib/libdevmapper.so.1.02.1', '/usr/sbin', '/usr/sbin/lvm']);
    expect(archive!.entries.find((e) => e.path === '/usr/sbin/lvm')!.data).toEqual(enc.encode('bytes of /usr/sbin/lvm'));
    // the stub names what cold_unpack looks for within its first 64 bytes (a stub left after unpacking fails, never loops)
    expect(COLD_STUB.slice(0, 64)).toContain('cold_unpack');
  });

  test('nothing cold: the entries as they were, no archive', () => {
    const hot = buildPlan([owned('rootfs', file('/usr/sbin/blkid'))]);
    const plain: CpioEntry[] = [{ path: '/usr/sbin/blkid', type: 'file', mode: 0o755 }];
    expect(withColdArchive(hot, plain, 7, gzip)).toEqual(plain);
  });
});
