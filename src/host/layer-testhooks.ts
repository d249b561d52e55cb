// SPDX-License-Identifier: GPL-2.0-or-later
// The layer commands' test hooks (RUCKUSRD_RUN, RUCKUSRD_TOP, RUCKUSRD_REBOOT,
// MKRUCKUS_TEST_FREEZE_AT). They are never read by the shipped binary: the kernel fills /init's
// environment from unknown `key=value` words of its command line, and that environment reaches
// whatever runs mkruckus on the booted system, so an environment variable is a boot parameter.
// Only a binary compiled with MKRUCKUS_TEST_HOOKS defined true (dist/mkruckus-test, made by
// test/boot/lifecycle.boot.test.ts) or the sources run by `bun test` read them.

/** Defined true only for dist/mkruckus-test; scripts/build-binary.ts may define it false. */
declare const MKRUCKUS_TEST_HOOKS: boolean | undefined;

/** A compiled binary runs from Bun's embedded filesystem; the sources from the checkout. */
const compiled = Bun.main.startsWith('/$bunfs/');

/** Without the define (a build script that forgot it) a compiled binary reads no hook. */
export const TEST_HOOKS: boolean = typeof MKRUCKUS_TEST_HOOKS === 'undefined' ? !compiled : MKRUCKUS_TEST_HOOKS;

export type TestHook = 'RUCKUSRD_RUN' | 'RUCKUSRD_TOP' | 'RUCKUSRD_REBOOT' | 'MKRUCKUS_TEST_FREEZE_AT';

/** A test hook's value; always undefined in the shipped binary. */
export const testHook = (name: TestHook): string | undefined => (TEST_HOOKS ? process.env[name] : undefined);
