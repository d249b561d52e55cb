// SPDX-License-Identifier: GPL-2.0-or-later
// The installed kernels the unit tests read. Any set may be installed (Debian's signed 6.1 beside an
// unsigned 6.12, which is then the newest), so a test that needs a signed one asks for it by that
// property instead of taking the newest.
import { spawnSync } from 'node:child_process';

/** /boot/vmlinuz-* in version order, oldest first. */
export const KERNELS: readonly string[] = spawnSync('sh', ['-c', 'ls /boot/vmlinuz-* 2>/dev/null | sort -V'], { encoding: 'utf8' })
  .stdout.split('\n').filter(Boolean);

/** The newest installed kernel, or a path that does not exist (so `missing()` names it). */
export const NEWEST_KERNEL = KERNELS.at(-1) ?? '/boot/vmlinuz-(none installed)';

/** The newest kernel that `sbverify --list` finds a signature on (Debian's signed packages), or a
 * path that does not exist. Unsigned kernels (linux-image-*-unsigned) carry CheckSum 0 and no table. */
export const NEWEST_SIGNED_KERNEL = [...KERNELS].reverse().find((k) =>
  /^signature 1$/m.test(spawnSync('sbverify', ['--list', k], { encoding: 'utf8' }).stdout ?? '')) ??
  '/boot/vmlinuz-(no signed kernel installed)';
