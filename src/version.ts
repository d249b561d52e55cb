// SPDX-License-Identifier: GPL-2.0-or-later
// Replaced at compile time by scripts/build-binary.ts (`--define`); from package.json in dev.
import pkg from '../package.json' with { type: 'json' };

declare const MKRUCKUS_VERSION: string | undefined;
export const VERSION: string = typeof MKRUCKUS_VERSION === 'string' ? MKRUCKUS_VERSION : pkg.version;
