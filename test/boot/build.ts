// SPDX-License-Identifier: GPL-2.0-or-later
// Building images for boot tests with the compiled CLI, exactly as a user would, from a binary
// built from the current tree (test/binary.ts), so a boot test never boots a stale /init.
import { BIN, ensureBinary } from '../binary.ts';
import { kernel } from './qemu.ts';
import { run } from './disks.ts';

export const CLI = BIN;

/** Builds an image for the test kernel; extra CLI arguments pass through. */
export function buildImage(out: string, ...args: string[]): string {
  ensureBinary();
  run([CLI, '--kernel', kernel!.version, '--force', ...args, out]);
  return out;
}
