// SPDX-License-Identifier: GPL-2.0-or-later
// `layer build` on the host: tarballs and an OCI image → squashfs through tar2sqfs, read back by
// sqfs2tar; byte-identical twice; hostile archives refused with nothing written.
import { expect } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { buildLayers, type BuildRequest } from '../../src/host/layer-build.ts';
import { DEFAULT_LIMITS } from '../../src/layers/entries.ts';
import { makeOciArchive, makeTar, type Member, readSquashfs } from './layers-fixtures.ts';
import { describeNeeding, missing, testNeeding } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const tmp = tempDir('layers-build');
const need = missing('tar2sqfs', 'sqfs2tar', 'tar');

let n = 0;
async function build(members: Member[] | Uint8Array, opts: Partial<BuildRequest> = {}, ext = 'tar'): Promise<{ out: string; names: string[] }> {
  const out = join(tmp, `out${++n}`);
  mkdirSync(out);
  const from = join(tmp, `in${n}.${ext}`);
  writeFileSync(from, members instanceof Uint8Array ? members : await makeTar(members));
  const names = await buildLayers({ name: 'L', from, outDir: out, format: 'squashfs', squash: false, force: false, limits: DEFAULT_LIMITS, epoch: undefined, ...opts });
  return { out, names };
}

const ROOTFS: Member[] = [
  { name: './', type: 'directory' },
  { name: './etc/', type: 'directory', mode: 0o755 },
  { name: './etc/shadow', mode: 0o640, uid: 0, gid: 42, body: 'secret\n' },
  { name: './etc/hard', type: 'link', linkname: './etc/shadow' },
  { name: './bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  { name: './usr/bin/su', mode: 0o4755, body: 'su' },
  { name: './opt/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.user.note': 'kept' } },
  { name: './opt/gone', type: 'character-device', devmajor: 0, devminor: 0 },
];

describeNeeding(need, 'layer build (tar2sqfs, read back by sqfs2tar)', () => {
  testNeeding([], 'a rootfs tarball: modes, owners, setuid, hard links, symlinks, xattrs, whiteouts survive', async () => {
    const { out, names } = await build(ROOTFS);
    expect(names).toEqual(['L']);
    const s = await readSquashfs(join(out, 'L.sqsh'));
    // one name carries the body, the other is a hard link to it (sqfs2tar picks which)
    const pair = [s.get('etc/shadow')!, s.get('etc/hard')!].sort((a, b) => a.type.localeCompare(b.type));
    expect(pair[0]).toMatchObject({ type: 'file', mode: 0o640, gid: 42, body: 'secret\n' });
    expect(pair[1]).toMatchObject({ type: 'link', linkname: expect.stringMatching(/^etc\/(shadow|hard)$/) });
    expect(s.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: '/bin/busybox' });
    expect(s.get('bin')).toMatchObject({ type: 'directory' });
    expect(s.get('usr/bin/su')).toMatchObject({ mode: 0o4755 });
    expect(s.get('opt')!.xattrs).toEqual({ 'trusted.overlay.opaque': 'y', 'user.note': 'kept' });
    expect(s.get('opt/gone')).toMatchObject({ type: 'character-device', dev: '0,0' });
  });

  testNeeding([], 'deterministic: the same input twice gives the same bytes; zstd and gzip tarballs read', async () => {
    const tarball = await makeTar(ROOTFS);
    const a = await build(zstdCompressSync(tarball), { epoch: 1_600_000_000 }, 'tar.zst');
    const b = await build(gzipSync(tarball), { epoch: 1_600_000_000 }, 'tar.gz');
    const bytes = (d: string) => Bun.file(join(d, 'L.sqsh')).bytes();
    expect(Buffer.compare(await bytes(a.out), await bytes(b.out))).toBe(0);
    // SOURCE_DATE_EPOCH clamps every time (the tar's are 2023)
    const c = await build(ROOTFS, { epoch: 1_600_000_000 });
    expect(Buffer.compare(await bytes(a.out), await bytes(c.out))).toBe(0);
    const d = await build(ROOTFS);
    expect(Buffer.compare(await bytes(a.out), await bytes(d.out))).not.toBe(0);
  });

  const HOSTILE: [string, Member[], string][] = [
    ['../ in a name', [{ name: '../evil', body: 'x' }], '`..` in the name'],
    ['an absolute name', [{ name: '/etc/passwd', body: 'x' }], 'absolute name'],
    ['a hard link out of the archive', [{ name: 'l', type: 'link', linkname: '../../etc/shadow' }], 'hard link target'],
    ['a symlink climbing out', [{ name: 'a/l', type: 'symlink', linkname: '../../../etc' }], 'points outside the root'],
    ['a device node', [{ name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 }], 'device node'],
    ['a file under a symlink', [{ name: 'etc', type: 'symlink', linkname: '/tmp' }, { name: 'etc/x', body: 'x' }], 'not a directory'],
  ];
  for (const [what, members, why] of HOSTILE) {
    testNeeding([], `hostile: ${what} is one error and no output`, async () => {
      const out = join(tmp, `hostile${++n}`);
      mkdirSync(out);
      const from = join(tmp, `hostile${n}.tar`);
      writeFileSync(from, await makeTar([{ name: 'ok', body: 'fine' }, ...members]));
      const p = buildLayers({ name: 'L', from, outDir: out, format: 'squashfs', squash: false, force: false, limits: DEFAULT_LIMITS, epoch: undefined });
      await expect(p).rejects.toThrow(why);
      expect(readdirSync(out)).toEqual([]);
    });
  }
  testNeeding([], 'hostile: a huge size beyond --max-bytes is refused; device nodes pass with --allow-devices', async () => {
    await expect(build([{ name: 'big', body: 'x'.repeat(100) }], { limits: { allowDevices: false, maxBytes: 50 } })).rejects.toThrow('larger than the limit');
    const { out } = await build([{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }], { limits: { allowDevices: true, maxBytes: 99 } });
    expect((await readSquashfs(join(out, 'L.sqsh'))).get('dev/null')).toMatchObject({ dev: '1,3' });
  });
  testNeeding([], 'an existing layer file is kept without --force', async () => {
    const { out } = await build([{ name: 'a', body: '1' }]);
    const from = join(tmp, 'again.tar');
    writeFileSync(from, await makeTar([{ name: 'b', body: '2' }]));
    const req: BuildRequest = { name: 'L', from, outDir: out, format: 'squashfs', squash: false, force: false, limits: DEFAULT_LIMITS, epoch: undefined };
    await expect(buildLayers(req)).rejects.toThrow('use --force');
    expect((await readSquashfs(join(out, 'L.sqsh'))).has('a')).toBe(true);
    await buildLayers({ ...req, force: true });
    expect((await readSquashfs(join(out, 'L.sqsh'))).has('b')).toBe(true);
  });

  // Layer 2 deletes etc/motd (.wh.) and replaces opt/ wholesale (.wh..wh..opq).
  const IMAGE: Member[][] = [
    [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', body: 'hello' }, { name: 'etc/keep', body: 'k' }, { name: 'opt/old', body: 'o' }],
    [{ name: 'etc/.wh.motd', body: '' }, { name: 'opt/', type: 'directory' }, { name: 'opt/.wh..wh..opq', body: '' }, { name: 'opt/new', body: 'n' }],
  ];
  testNeeding([], 'an OCI image: one layer per image layer, whiteouts and opaque dirs as OverlayFS has them', async () => {
    const { out, names } = await build(await makeOciArchive(IMAGE), {}, 'oci.tar');
    expect(names).toEqual(['L-2', 'L-1']);
    const top = await readSquashfs(join(out, 'L-2.sqsh'));
    expect(top.get('etc/motd')).toMatchObject({ type: 'character-device', dev: '0,0' });
    expect(top.get('opt')!.xattrs).toEqual({ 'trusted.overlay.opaque': 'y' });
    expect([...top.keys()].some((k) => k.includes('.wh.'))).toBe(false);
    expect((await readSquashfs(join(out, 'L-1.sqsh'))).get('etc/motd')).toMatchObject({ body: 'hello' });
  });
  testNeeding([], 'an OCI image with --squash: one layer showing the image as a container would', async () => {
    const { out, names } = await build(await makeOciArchive(IMAGE), { squash: true }, 'oci.tar');
    expect(names).toEqual(['L']);
    const s = await readSquashfs(join(out, 'L.sqsh'));
    expect([...s.keys()].sort()).toEqual(['etc', 'etc/keep', 'opt', 'opt/new']);
    expect(s.get('opt')!.xattrs).toEqual({});
  });
  testNeeding([], 'an OCI blob that does not match its digest is refused', async () => {
    const bytes = await makeOciArchive(IMAGE);
    const blobAt = Buffer.from(bytes).indexOf(Buffer.from([0x1f, 0x8b, 0x08]));
    const bad = Buffer.from(bytes);
    bad[blobAt + 20] = bad[blobAt + 20]! ^ 0xff;
    await expect(build(bad, {}, 'oci.tar')).rejects.toThrow('does not match its digest');
  });
  testNeeding([], 'erofs output (mkfs.erofs from a private tree) keeps whiteouts', async () => {
    if (missing('mkfs.erofs', 'fsck.erofs').length) throw new Error('erofs-utils missing');
    const { out } = await build(ROOTFS, { format: 'erofs', epoch: 0 });
    const head = await Bun.file(join(out, 'L.sqsh')).slice(1024, 1028).bytes();
    expect(Buffer.from(head).toString('hex')).toBe('e2e1f5e0');
    expect(existsSync(join(out, 'L.sqsh'))).toBe(true);
  });

  // A killed `layer build` left its work directory (.mkruckus-layer-*) in the output directory.
  // No timing: the input is a FIFO nobody writes, so the build waits with that directory made.
  testNeeding(missing('mkfifo'), 'SIGTERM during a build: exit 143, nothing left in the output directory', async () => {
    const out = join(tmp, `out${++n}`);
    mkdirSync(out);
    const fifo = join(tmp, `in${n}.tar`);
    Bun.spawnSync(['mkfifo', fifo]);
    const main = join(import.meta.dir, '../../src/main.ts');
    const child = Bun.spawn([process.execPath, main, 'layer', 'build', 'L', '--from', fifo, '--out', out], { stdout: 'pipe', stderr: 'pipe' });
    for (let i = 0; i < 600 && readdirSync(out).length === 0; i++) await Bun.sleep(50);
    expect(readdirSync(out)[0]).toStartWith('.mkruckus-layer-');
    child.kill('SIGTERM');
    expect(await child.exited).toBe(143);
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);
});
