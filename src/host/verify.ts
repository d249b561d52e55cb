// SPDX-License-Identifier: GPL-2.0-or-later
// `verify IMG` and the check at the end of every build: the image's tree (both stages) through the
// pure checks of src/core/verify.ts, plus the second stage's presence and checksum.
import type { CpioEntry } from '../archive/cpio.ts';
import { readImageFile } from '../archive/read.ts';
import { ImageTree, verifyTree, type Problem, type TreeEntry } from '../core/verify.ts';
import { debug, UserError } from '../log.ts';
import { readSecondStage } from './inspect-stage2.ts';
import { checkUkiFile, readUkiFile } from './uki-read.ts';

/** Every problem of the image file at `path` (of a UKI: its own, then its initramfs'). */
export async function verifyImageFile(path: string): Promise<Problem[]> {
  const uki = await readUkiFile(path);
  const segments = uki ? uki.segments : await readImageFile(path, { data: true });
  const stage2 = await readSecondStage(path, segments, { data: true });
  const tree = new ImageTree([...segments.flatMap((s) => s.entries), ...(stage2?.entries ?? [])]);
  const staged = (stage2?.problems ?? []).map((text): Problem => ({ severity: 'error', text }));
  return [...(uki ? checkUkiFile(path, segments) : []), ...staged, ...verifyTree(tree)];
}

/** The build's own check, on what it is about to write: the first stage's entries, then the second's. */
export function verifyEntries(first: readonly CpioEntry[], second: readonly CpioEntry[] = []): Problem[] {
  return verifyTree(new ImageTree([...first, ...second] as TreeEntry[]));
}

/** Throws one line when the image would not boot; warnings (missing firmware) are logged with --verbose. */
export function checkBootable(first: readonly CpioEntry[], second: readonly CpioEntry[] = []): void {
  const problems = verifyEntries(first, second);
  for (const p of problems) debug(`verify: ${p.severity}: ${p.text}`);
  const errors = problems.filter((p) => p.severity === 'error');
  if (!errors.length) return;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more; --verbose lists them)` : '';
  throw new UserError(`the image would not boot, so it was not written: ${errors[0]!.text}${more}`);
}
