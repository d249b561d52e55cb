// SPDX-License-Identifier: GPL-2.0-or-later
// Choosing the kernel version to build for, from the versions installed under --base.
import { UserError } from '../log.ts';

/**
 * `requested` undefined → the running kernel when installed; an exact version wins; otherwise a
 * prefix must match exactly one installed version.
 */
export function selectKernel(
  installed: readonly string[],
  requested: string | undefined,
  running: string,
  base: string,
): string {
  const list = installed.length ? [...installed].sort().join(', ') : '(none)';
  if (requested === undefined) {
    if (installed.includes(running)) return running;
    throw new UserError(
      `the running kernel ${running} has no modules under ${base}; pick one with --kernel: ${list}`,
    );
  }
  if (installed.includes(requested)) return requested;
  const matches = installed.filter((v) => v.startsWith(requested)).sort();
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new UserError(`kernel '${requested}' is ambiguous: ${matches.join(', ')}`);
  }
  throw new UserError(`kernel '${requested}' is not installed under ${base}; installed: ${list}`);
}
