// SPDX-License-Identifier: GPL-2.0-or-later
// `inspect` of a unified kernel image: the UKI report (src/uki/read.ts) and the segments of the
// initramfs in its .initrd section, read like any image.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { ImageFormatError, readImage, type ImageSegment } from '../archive/read.ts';
import type { Problem } from '../core/verify.ts';
import { UserError } from '../log.ts';
import { checkUki } from '../uki/check.ts';
import { PeFormatError } from '../uki/pe.ts';
import { isPe, readUki, type UkiReport } from '../uki/read.ts';

/** The UKI at `path` with its initramfs' segments; undefined when the file is not a PE image. */
export async function readUkiFile(path: string): Promise<{ report: UkiReport; segments: ImageSegment[] } | undefined> {
  let bytes: Uint8Array;
  try {
    // Two bytes tell: a plain image is then read once, by readImageFile, not twice.
    const fd = openSync(path, 'r');
    const head = new Uint8Array(64);
    try {
      readSync(fd, head, 0, 64, 0);
    } finally {
      closeSync(fd);
    }
    if (!isPe(head)) return undefined;
    bytes = readFileSync(path);
  } catch {
    return undefined; // readImageFile reports a missing or unreadable file in its own words
  }
  try {
    const { report, initrd } = readUki(bytes);
    const segments = initrd ? await readImage(initrd, { data: true }) : [];
    return { report, segments };
  } catch (err) {
    if (err instanceof PeFormatError) throw new UserError(`${path} is not a valid PE image: ${err.message}`);
    if (err instanceof ImageFormatError) throw new UserError(`${path}: the .initrd section is not a valid initramfs: ${err.message}`);
    throw err;
  }
}

/** `verify`'s UKI checks (src/uki/check.ts) for the file at `path`, given its initramfs' segments. */
export function checkUkiFile(path: string, segments: readonly ImageSegment[]): Problem[] {
  const versions = new Set<string>();
  for (const e of segments.flatMap((s) => s.entries)) {
    const m = /^\/(?:usr\/)?lib\/modules\/([^/]+)\/modules\.dep$/.exec(e.path);
    if (m) versions.add(m[1]!);
  }
  return checkUki(readFileSync(path), [...versions].sort());
}
