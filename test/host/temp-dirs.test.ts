// SPDX-License-Identifier: GPL-2.0-or-later
// Test runs leave nothing in TMPDIR: a bun test run removes the dirs made by tempDir (test/temp-dirs.ts,
// from test/preload.ts's global afterAll) and keeps them under KEEP_TMP=1; and the test files of
// `bun run test:unit` make their temp dirs through tempDir, never with mkdtemp straight in TMPDIR
// (about 40 dirs of such files were left by every run).
import { expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDir } from '../temp-dirs.ts';

const TEST = join(import.meta.dir, '..');

/** The entries a bun test run of the fixture leaves in a TMPDIR of its own. */
function leftByRun(env: Record<string, string>): string[] {
  const tmp = tempDir('run');
  const r = Bun.spawnSync([process.execPath, 'test', './test/host/temp-dirs.fixture.ts'], {
    cwd: join(TEST, '..'),
    env: { ...process.env, KEEP_TMP: '', ...env, TMPDIR: tmp },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  if (r.exitCode !== 0) throw new Error(`the fixture run failed: ${r.stderr.toString()}`);
  return readdirSync(tmp).map((n) => n.replace(/-[^-]+$/, '')).sort();
}

test('a bun test run removes its temp dirs and cache home; KEEP_TMP=1 keeps them', () => {
  expect(leftByRun({})).toEqual([]);
  expect(leftByRun({ KEEP_TMP: '1' })).toEqual(['mkruckus-fixture-load', 'mkruckus-fixture-test', 'mkruckus-test-cache']);
}, 60_000);

test('test files of test:unit make temp dirs with tempDir, not mkdtemp in TMPDIR', () => {
  const direct = /mkdtemp(?:Sync)?\(\s*(?:join\(\s*)?(?:tmpdir\(\)|os\.tmpdir\(\)|process\.env\.TMPDIR|['"`]\/tmp)/;
  const offenders = ['unit', 'shell', 'host']
    .flatMap((dir) => readdirSync(join(TEST, dir), { recursive: true, encoding: 'utf8' }).map((f) => join(TEST, dir, f)))
    .filter((f) => f.endsWith('.ts') && direct.test(readFileSync(f, 'utf8')));
  expect(offenders.map((f) => relative(TEST, f))).toEqual([]);
});
