// SPDX-License-Identifier: GPL-2.0-or-later
// Tests that need something from the host (a tool, a sample binary, an installed kernel). Nothing is
// dropped silently: under CI=true a missing requirement is a failing test that names it; elsewhere the
// test is skipped, counted by bun as a skip, with the reason in its name.
import { describe, test } from 'bun:test';
import { existsSync } from 'node:fs';

export const CI = process.env.CI === 'true';

/** The names in `wanted` that are neither on PATH nor an existing absolute path. */
export function missing(...wanted: string[]): string[] {
  return wanted.filter((w) => (w.startsWith('/') ? !existsSync(w) : Bun.which(w) === null));
}

type Body = () => void | Promise<unknown>;

/** `test`, when nothing in `lacking` is absent. */
export function testNeeding(lacking: readonly string[], name: string, fn: Body, timeout?: number): void {
  if (lacking.length === 0) return void test(name, fn, timeout);
  const why = `needs ${lacking.join(', ')}`;
  if (CI) {
    test(name, () => {
      throw new Error(`CI: '${name}' ${why}, which this machine lacks`);
    });
  } else test.skip(`${name} [skipped: ${why}]`, fn);
}

/** `describe`, when nothing in `lacking` is absent: otherwise as testNeeding, for the whole group. */
export function describeNeeding(lacking: readonly string[], name: string, fn: () => void): void {
  if (lacking.length === 0) return void describe(name, fn);
  const why = `needs ${lacking.join(', ')}`;
  if (CI) {
    describe(name, () => {
      test('its requirements', () => {
        throw new Error(`CI: '${name}' ${why}, which this machine lacks`);
      });
    });
  } else describe.skip(`${name} [skipped: ${why}]`, fn);
}
