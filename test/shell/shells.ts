// SPDX-License-Identifier: GPL-2.0-or-later
// The two shells every boot-time shell test runs under: busybox ash (what boots) and dash (a strict
// POSIX sh). Under CI=true a missing one is an error, never a quietly shorter list.
import { existsSync } from 'node:fs';

export const SHELLS = [
  ['busybox', ['/bin/busybox', 'sh']],
  ['dash', ['/usr/bin/dash']],
].filter(([, argv]) => existsSync((argv as string[])[0]!)) as [string, string[]][];
if (process.env.CI === 'true' && SHELLS.length < 2) throw new Error('CI: shell tests need busybox and dash');
