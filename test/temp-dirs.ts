// SPDX-License-Identifier: GPL-2.0-or-later
// Temporary directories of a test or bench run, removed when the run ends: at process exit for a
// script (bench/), from test/preload.ts's global afterAll under bun test, which never runs process
// 'exit' handlers. KEEP_TMP=1 keeps them for reproducing a boot by hand (test/README.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];

/** A new directory under $TMPDIR named mkruckus-PREFIX-…, removed at the end of the run. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `mkruckus-${prefix}-`));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  if (process.env.KEEP_TMP === '1') return;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', removeTempDirs);
