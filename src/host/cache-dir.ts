// SPDX-License-Identifier: GPL-2.0-or-later
// Where mkruckus keeps what it remembers between builds: one directory per cache under
// $XDG_CACHE_HOME/mkruckus (or ~/.cache/mkruckus), as the XDG base directory spec says.
import { join } from 'node:path';

/** $XDG_CACHE_HOME/mkruckus/NAME, or ~/.cache/mkruckus/NAME; undefined when neither is set. */
export function cacheDir(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : undefined);
  return root ? join(root, 'mkruckus', name) : undefined;
}
