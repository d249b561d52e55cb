// SPDX-License-Identifier: GPL-2.0-or-later
// Plan entries → cpio entries with their bytes (maps or reads every `file` source from the base:
// regular files only, a final symlink never followed; the bytes are never changed).
import type { CpioEntry } from '../archive/cpio.ts';
import type { PlanEntry } from '../core/plan.ts';
import { mapHostRegular } from './base.ts';

/**
 * setuid, setgid and sticky bits of files taken from the base are dropped: everything in an
 * initramfs runs as root, so they serve nothing there, and an image unpacked elsewhere (inspect
 * tools, a rescue system) would otherwise carry setuid-root programs of another system.
 */
const BASE_FILE_MODE = 0o777;

export async function readPlanEntries(plan: readonly PlanEntry[]): Promise<CpioEntry[]> {
  return Promise.all(
    plan.map(async ({ item }): Promise<CpioEntry> => {
      switch (item.kind) {
        case 'dir':
          return { path: item.path, type: 'dir', mode: item.mode ?? 0o755 };
        case 'file':
          return { path: item.path, type: 'file', mode: item.mode & BASE_FILE_MODE, data: mapHostRegular(item.source, item.path) };
        case 'bytes':
          return { path: item.path, type: 'file', mode: item.mode, data: item.data };
        case 'symlink':
          return { path: item.path, type: 'symlink', mode: 0o777, target: item.target };
        case 'node':
          return { path: item.path, type: item.type, mode: item.mode, major: item.major, minor: item.minor };
      }
    }),
  );
}
