// SPDX-License-Identifier: GPL-2.0-or-later
// Run by test/host/temp-dirs.test.ts in a bun test run of its own: a temp dir made when the file
// loads and one made inside a test, each with a file in it, as the test files of this repo make them.
import { test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../temp-dirs.ts';

writeFileSync(join(tempDir('fixture-load'), 'f'), 'x');
test('makes a temp dir', () => {
  writeFileSync(join(tempDir('fixture-test'), 'f'), 'x');
});
