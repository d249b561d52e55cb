// SPDX-License-Identifier: GPL-2.0-or-later
// Making the second-stage image: the entries are written to a scratch tree, then mksquashfs or
// mkfs.erofs packs it with fixed times, owners and UUID so the image is reproducible.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { isValidParam } from '../core/params.ts';
import type { PlanEntry } from '../core/plan.ts';
import { printable, UserError } from '../log.ts';
import { readHostRegular } from './base.ts';
import { makeScratch, tempRoot } from './scratch.ts';
import { probeTool, runMkfs } from './tools.ts';

function writeScratchTree(root: string, entries: readonly PlanEntry[]): void {
  for (const { item } of entries) {
    const path = join(root, item.path);
    if (item.kind === 'dir') mkdirSync(path, { recursive: true });
    else mkdirSync(dirname(path), { recursive: true });
    if (item.kind === 'file') writeFileSync(path, readHostRegular(item.source, item.path));
    else if (item.kind === 'bytes') writeFileSync(path, item.data);
    else if (item.kind === 'symlink') symlinkSync(item.target, path);
    if (item.kind === 'dir' || item.kind === 'file' || item.kind === 'bytes') chmodSync(path, item.mode ?? 0o755);
  }
}

/** A UUID derived from the inputs, so two builds of the same inputs give the same bytes. */
function stableUuid(seed: string): string {
  const h = new Bun.CryptoHasher('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * erofs uses lz4 (4 KiB clusters), not lz4hc: erofs-utils 1.5 has no other compressor, and an embedded
 * second stage is stored in the image as it is (its own uncompressed archive, never compressed again),
 * so its size is the image's. Measured for Debian 6.12's `--add storage-all` (loaded machine, CPU of
 * the whole build): lz4 62.3 MB in 4.9 s; lz4 with 64 KiB clusters (-C65536) 58.8 MB in 4.8 s; lz4hc
 * -C65536 48.9 MB in 10.1 s; squashfs (zstd 6, below) 34.0 MB in 7.9 s. So erofs builds faster and is
 * unpacked by a plain copy at boot, and squashfs makes the smaller image (zstd, which Debian 12's
 * erofs-utils lacks). Before, the lz4 erofs was zstd-compressed again inside the cpio (36.5 MB then).
 */
function mkfsArgv(type: 'erofs' | 'squashfs', tree: string, out: string, mtime: number, seed: string): string[] {
  if (type === 'squashfs') {
    return ['mksquashfs', tree, out, '-noappend', '-all-root', '-no-xattrs', '-comp', 'zstd', '-Xcompression-level', '6',
      '-mkfs-time', String(mtime), '-all-time', String(mtime), '-quiet', '-no-progress'];
  }
  return ['mkfs.erofs', '-zlz4', '-T', String(mtime), '-U', stableUuid(seed), '--all-root', '-x', '-1', '--quiet', out, tree];
}

/** Packs the entries into an erofs or squashfs image and returns its bytes. */
export async function runMakeSecondStage(
  type: 'erofs' | 'squashfs',
  entries: readonly PlanEntry[],
  mtime: number,
  seed: string,
): Promise<Uint8Array> {
  // In TMPDIR, named with our pid: removed on a signal, swept by the next build after a SIGKILL.
  const scratch = makeScratch('stage2');
  const what = `making the ${type} second stage`;
  try {
    writeScratchTree(join(scratch.path, 'tree'), entries);
    const out = join(scratch.path, 'stage2.img');
    const { ok, stderr } = await runMkfs(mkfsArgv(type, join(scratch.path, 'tree'), out, mtime, seed));
    if (!ok) {
      const tool = type === 'erofs' ? 'mkfs.erofs (erofs-utils)' : 'mksquashfs (squashfs-tools)';
      const line = stderr.split('\n').find((l) => l.trim() !== '') ?? '';
      // mkfs.erofs says only that a write failed: a full TMPDIR is told as such.
      const full = scratch.isFull() ? 'no space left on device; ' : '';
      throw new UserError(`${what} in ${tempRoot().label} with ${tool} failed: ${full}${printable(line.trim(), 300)}`);
    }
    return await Bun.file(out).bytes();
  } catch (err) {
    throw scratch.describe(err, what);
  } finally {
    scratch.remove();
  }
}

/** Filesystems that are gone at boot: a second stage recorded on one of them could never be found. */
const VOLATILE = new Set(['tmpfs', 'ramfs', 'devtmpfs', 'proc', 'sysfs', 'overlay']);
const within = (dir: string, path: string): boolean => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

/**
 * Where the first stage will find `file` at boot: the device (`UUID=...`) and the path on it.
 * `given` (the --second-stage-boot-* options) wins. Otherwise the filesystem holding the file tells:
 * when it is mounted inside `base` (or base is /), its UUID and the path on it; when `base` is a
 * mere directory of that filesystem (a tree that becomes a disk later), the path under `base` and
 * no device (that filesystem is not the base's at boot). A file on a tmpfs is refused: nothing
 * will be there at boot (a kernel-install staging area is one; its hook gives the boot path).
 */
export async function readBootLocation(file: string, base = '/', given: { path?: string; dev?: string } = {}): Promise<{ dev?: string; path: string }> {
  const abs = resolve(file);
  const root = resolve(base);
  const { ok, stdout } = await probeTool(['findmnt', '-n', '-P', '-o', 'UUID,TARGET,FSTYPE', '-T', dirname(abs)]);
  const field = (name: string) => (ok ? new RegExp(`${name}="([^"]*)"`).exec(stdout)?.[1] || undefined : undefined);
  const [uuid, target, fstype] = [field('UUID'), field('TARGET'), field('FSTYPE')];
  if (given.path === undefined && fstype !== undefined && VOLATILE.has(fstype)) {
    throw new UserError(`the second stage ${file} is on a ${fstype}, which does not exist at boot; give --second-stage-boot-path (and --second-stage-boot-dev)`);
  }
  const mountInBase = target !== undefined && within(root, target);
  const fsRoot = target === undefined || (!mountInBase && within(root, abs)) ? root : target;
  const path = given.path ?? '/' + relative(fsRoot, abs);
  const dev = given.dev ?? (fsRoot === target && uuid ? `UUID=${uuid}` : undefined);
  if (!isValidParam('stage2_path', path)) throw new UserError(`the second stage's boot path '${path}' is not an absolute path the first stage accepts (letters, digits, ._+-/, no ..)`);
  if (dev !== undefined && !isValidParam('stage2_dev', dev)) throw new UserError(`invalid second stage boot device '${dev}'; expected UUID=, LABEL=, PARTUUID=, PARTLABEL= or /dev/NAME`);
  return { dev, path };
}
