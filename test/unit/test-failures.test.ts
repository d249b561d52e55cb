// SPDX-License-Identifier: GPL-2.0-or-later
// scripts/test-failures.ts against a real JUnit report: bun itself runs a small test file with a
// pass, two failures (one inside nested describe()s, one a thrown error with XML-special text) and
// a skip, and writes the report the test command writes.
import { expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFailure, junitFailures } from '../../scripts/test-failures.ts';
import { tempDir } from '../temp-dirs.ts';

const dir = tempDir('junit');

function bunReport(): string {
  writeFileSync(join(dir, 'fixture.test.ts'), `
import { describe, expect, test } from 'bun:test';
test('passes', () => expect(1).toBe(1));
describe('outer', () => {
  test('also passes', () => {});
  describe('inner', () => {
    test('compares', () => expect({ size: 1 }).toMatchObject({ size: 2 }));
  });
});
test('throws <x> & "q"', () => { throw new Error('line one\\nconsole tail & <more>'); });
test.skip('skipped', () => {});
`);
  const out = join(dir, 'report.xml');
  Bun.spawnSync([process.execPath, 'test', './fixture.test.ts', '--reporter=junit', `--reporter-outfile=${out}`], { cwd: dir, stdout: 'ignore', stderr: 'ignore' });
  return readFileSync(out, 'utf8');
}

test('the failed tests of a bun JUnit report, by describe() path, with their messages unescaped', () => {
  const failures = junitFailures(bunReport());
  expect(failures.map((f) => f.name)).toEqual(['outer > inner > compares', 'throws <x> & "q"']);
  expect(failures[0]!.file).toContain('fixture.test.ts');
  expect(failures[0]!.message).toContain('"size": 2');
  expect(failures[1]!.message).toContain('line one\nconsole tail & <more>');
});

test('a report with no failures gives none; a long message is cut with a count', () => {
  expect(junitFailures('<testsuites><testsuite name="a" file="a"><testcase name="x" file="a" /></testsuite></testsuites>')).toEqual([]);
  const text = formatFailure({ file: 'f.test.ts', name: 'n', message: Array.from({ length: 100 }, (_, i) => `l${i}`).join('\n') });
  expect(text.split('\n')[0]).toBe('(fail) f.test.ts: n');
  expect(text).toContain('    l59\n    … (40 more lines)');
  expect(text).not.toContain('l60');
});
