// SPDX-License-Identifier: GPL-2.0-or-later
// Installed kernels under --base, and the running kernel.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';

/** Versions with a modules.dep under BASE/lib/modules or BASE/usr/lib/modules. */
export function listInstalledKernels(base: string): string[] {
  const found = new Set<string>();
  for (const dir of [join(base, 'lib/modules'), join(base, 'usr/lib/modules')]) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (existsSync(join(dir, name, 'modules.dep'))) found.add(name);
  }
  return [...found].sort();
}

export function runningKernel(): string {
  return release();
}
