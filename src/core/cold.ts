// SPDX-License-Identifier: GPL-2.0-or-later
// Cold binaries (a manifest's coldBinaries): the files only they need leave the image's tree for one
// gzip'd archive, and each binary's path gets a stub that unpacks it on first use
// (templates/lib/cold.sh). The kernel unpacks every file of an initramfs before /init runs, so a
// generic image's cryptsetup, lvm, mdadm, mksquashfs and their libraries (~13 MiB) would cost
// every boot, while most boots never run them. Pure: entries in, entries out.
import { writeNewc, type CpioEntry } from '../archive/cpio.ts';
import type { PlanEntry } from './plan.ts';
import { parentDirs } from './stage.ts';

export const COLD_ARCHIVE_PATH = '/usr/lib/ruckusrd/cold.cpio.gz';

/** What a cold binary's path holds until the archive is unpacked; cold_unpack looks for its name in the first 64 bytes. */
export const COLD_STUB = '#!/bin/sh\n. /lib/ruckusrd/cold.sh && cold_unpack "$0" && exec "$0" "$@"\nexit 127\n';

/** The archive's entries (the writer sorts them) and the one mtime they carry. */
export interface ColdArchive {
  entries: CpioEntry[];
  mtime: number;
}

/** The archive's bytes, uncompressed. */
export function coldArchiveBytes(archive: ColdArchive): Uint8Array {
  return writeNewc(archive.entries, { mtime: archive.mtime });
}

/**
 * The image's entries with the cold files moved into the archive, a stub at each cold binary, and the
 * archive itself, gzip'd by `pack` (busybox gunzip unpacks it at boot; a cache may answer without
 * making the ~20 MiB archive: src/host/kmod-cache.ts). Unchanged when nothing is cold.
 */
export function withColdArchive(
  plan: readonly PlanEntry[], entries: readonly CpioEntry[], mtime: number, pack: (archive: ColdArchive) => Uint8Array,
): CpioEntry[] {
  const cold = new Map(plan.flatMap((e) => (e.item.kind === 'file' && e.item.cold ? [[e.item.path, e.item.cold] as const] : [])));
  if (!cold.size) return [...entries];
  const packed = entries.filter((e) => cold.has(e.path));
  const stubs: CpioEntry[] = packed
    .filter((e) => cold.get(e.path) === 'binary')
    .map((e) => ({ path: e.path, type: 'file', mode: 0o755, data: new TextEncoder().encode(COLD_STUB) }));
  // with their directories, as the archive format wants (they are in the image already)
  const dirs = new Set(packed.flatMap((e) => parentDirs(e.path)));
  const archive = pack({ entries: [...entries.filter((e) => e.type === 'dir' && dirs.has(e.path)), ...packed], mtime });
  return [
    ...entries.filter((e) => !cold.has(e.path)),
    ...stubs,
    { path: COLD_ARCHIVE_PATH, type: 'file', mode: 0o644, data: archive },
  ];
}
