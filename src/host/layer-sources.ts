// SPDX-License-Identifier: GPL-2.0-or-later
// Layer files as tar sources for a merge: squashfs through sqfs2tar; erofs through the kernel (a
// read-only loop mount, read with GNU tar), because erofs-utils 1.5's `fsck.erofs --extract`
// drops every xattr (the opaque markers a merge must keep) and splits hard links, and its
// `dump.erofs` prints neither; a directory (an upper, a mounted layer) as it is.
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayerFormat } from '../layers/journal.ts';
import { UserError } from '../log.ts';
import { dirSource, type TarSource, toolStream } from './layer-tar.ts';
import { releaseOnSignal, staleInTmp } from './scratch.ts';

/** squashfs or erofs by magic (as modules/overlay/layers.sh decides at boot), never by name. */
export function layerFormat(path: string): LayerFormat | undefined {
  const head = Buffer.alloc(1028);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1', 0, 4) === 'hsqs') return 'squashfs';
  if (head.readUInt32LE(1024) === 0xe0f5e1e2) return 'erofs';
  return undefined;
}

/** Sources opened for one merge; `release` unmounts what was mounted for it. */
export interface OpenedSources {
  sources: TarSource[];
  formats: (LayerFormat | 'dir')[];
  release: () => void;
}

const MOUNT_PREFIX = 'mkruckus-erofs-';

/** Unmounts and removes a mount point: lazily when busy (a reader killed by a signal may not have closed its files yet). */
function unmountPoint(m: string): void {
  if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
  try {
    rmdirSync(m);
  } catch {}
}

/** Mount points left by merges that died without unmounting (SIGKILL): their pid is gone. */
function sweepStaleMounts(): void {
  // our own pid's are those of an OpenedSources of this process not released yet
  const own = join(tmpdir(), `${MOUNT_PREFIX}${process.pid}-`);
  for (const stale of staleInTmp(MOUNT_PREFIX)) if (!stale.startsWith(own)) unmountPoint(stale);
}

/** The erofs layer at `path` mounted read-only on a new directory in TMPDIR, pushed to `mounts` before the mount. */
function mountErofs(path: string, mounts: string[]): string {
  const mnt = mkdtempSync(join(tmpdir(), `${MOUNT_PREFIX}${process.pid}-`));
  mounts.push(mnt);
  const r = spawnSync('mount', ['-t', 'erofs', '-o', 'loop,ro', path, mnt], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmdirSync(mounts.pop()!);
    throw new UserError(`cannot mount the erofs layer ${path} to read it: ${(r.stderr ?? '').trim() || 'mount failed'}`);
  }
  return mnt;
}

export function openLayerSources(paths: readonly string[]): OpenedSources {
  const mounts: string[] = [];
  const unmount = () => mounts.splice(0).forEach(unmountPoint);
  // Before the first mount point exists: a SIGTERM would otherwise leave the layers mounted in TMPDIR.
  const forget = releaseOnSignal(unmount);
  const release = () => {
    forget();
    unmount();
  };
  const formats: (LayerFormat | 'dir')[] = [];
  try {
    const sources = paths.map((path): TarSource => {
      if (statSync(path).isDirectory()) {
        formats.push('dir');
        return dirSource(path);
      }
      const format = layerFormat(path);
      if (format === undefined) throw new UserError(`${path} is neither squashfs nor erofs`);
      formats.push(format);
      if (format === 'squashfs') return { label: path, open: () => toolStream(['sqfs2tar', path]) };
      if (mounts.length === 0) sweepStaleMounts();
      return { ...dirSource(mountErofs(path, mounts)), label: path };
    });
    return { sources, formats, release };
  } catch (err) {
    release();
    throw err;
  }
}
