// SPDX-License-Identifier: GPL-2.0-or-later
// Building images for boot tests with the compiled CLI, exactly as a user would. The binary is
// rebuilt whenever any of its sources is newer, so a boot test never boots a stale /init.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kernel } from './qemu.ts';
import { run } from './disks.ts';

const ROOT = join(import.meta.dir, '../..');
export const CLI = join(ROOT, 'dist/mkruckus');
/** Everything `bun run build` compiles or embeds. */
const SOURCES = ['src', 'modules', 'templates', 'scripts', 'package.json'];

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) {
    // src/generated is written by the build itself.
    if (name === 'generated') continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

/** True when dist/mkruckus is missing or older than one of its sources. */
export function cliIsStale(): boolean {
  if (!existsSync(CLI)) return true;
  const built = statSync(CLI).mtimeMs;
  return SOURCES.some((s) => newestMtime(join(ROOT, s)) > built);
}

let checked = false;
export function ensureCli(): void {
  if (checked) return;
  if (cliIsStale()) run([join(ROOT, 'node_modules/.bin/bun'), 'run', 'build']);
  checked = true;
}

/** Builds an image for the test kernel; extra CLI arguments pass through. */
export function buildImage(out: string, ...args: string[]): string {
  ensureCli();
  run([CLI, '--kernel', kernel!.version, '--force', ...args, out]);
  return out;
}
