// SPDX-License-Identifier: GPL-2.0-or-later
// Building images for boot tests with the compiled CLI, exactly as a user would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kernel } from './qemu.ts';
import { run } from './disks.ts';

export const CLI = join(import.meta.dir, '../../dist/mkruckus');

export function ensureCli(): void {
  if (!existsSync(CLI)) run([join(import.meta.dir, '../../node_modules/.bin/bun'), 'run', 'build']);
}

/** Builds an image for the test kernel; extra CLI arguments pass through. */
export function buildImage(out: string, ...args: string[]): string {
  ensureCli();
  run([CLI, '--kernel', kernel!.version, '--force', ...args, out]);
  return out;
}
