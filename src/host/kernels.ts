// SPDX-License-Identifier: GPL-2.0-or-later
// Installed kernels under --base, and the running kernel.
import { release } from 'node:os';
import { BaseFs } from './base.ts';

/**
 * Versions with a modules.dep under BASE/lib/modules or BASE/usr/lib/modules, looked up through the
 * base resolver: a `lib/modules -> /somewhere` link names the base's /somewhere, never the host's.
 */
export function listInstalledKernels(base: string): string[] {
  const fs = new BaseFs(base);
  const found = new Set<string>();
  for (const dir of ['/lib/modules', '/usr/lib/modules']) {
    for (const name of fs.readdir(dir)) if (fs.stat(`${dir}/${name}/modules.dep`)?.isFile()) found.add(name);
  }
  return [...found].sort();
}

export function runningKernel(): string {
  return release();
}
