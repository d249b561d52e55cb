// SPDX-License-Identifier: GPL-2.0-or-later
// Choosing the kernel version to build for, from the versions installed under --base.
import { UserError } from '../log.ts';

/** Version order: 6.1.0-9 before 6.1.0-56, 6.1 before 6.12. */
export function compareKernelVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * Whether `requested` is a prefix of `version` that ends on a component boundary: `6.1` names
 * 6.1.0-56-amd64 but not 6.12.113+deb12-amd64 (a number is never cut in two).
 */
export function kernelPrefixMatches(version: string, requested: string): boolean {
  if (!version.startsWith(requested)) return false;
  const next = version.charAt(requested.length);
  return !(/[0-9]$/.test(requested) && /[0-9]/.test(next));
}

/**
 * `requested` undefined → the running kernel when installed; an exact version wins; otherwise a
 * prefix (ending on a component boundary) must match exactly one installed version. Several
 * matches are refused, naming them: building for the newest of them would be a guess.
 */
export function selectKernel(
  installed: readonly string[],
  requested: string | undefined,
  running: string,
  base: string,
): string {
  const sorted = [...installed].sort(compareKernelVersions);
  const list = sorted.length ? sorted.join(', ') : '(none)';
  if (requested === undefined) {
    if (installed.includes(running)) return running;
    throw new UserError(
      `the running kernel ${running} has no modules under ${base}; pick one with --kernel: ${list}`,
    );
  }
  if (installed.includes(requested)) return requested;
  const matches = sorted.filter((v) => kernelPrefixMatches(v, requested));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new UserError(
      `kernel '${requested}' is ambiguous: ${matches.join(', ')} match it; give one of them with --kernel (installed: ${list})`,
    );
  }
  throw new UserError(`kernel '${requested}' is not installed under ${base}; installed: ${list}`);
}
