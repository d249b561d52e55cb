// SPDX-License-Identifier: GPL-2.0-or-later
// The shipped binary's layer commands: `layer build --verity` and `layer verity` (hash trees that
// veritysetup itself verifies, the same root hash on every run), and the test hooks of the layer
// commands, which dist/mkruckus must never read (the kernel puts unknown `key=value` boot
// parameters into the environment).
import { expect, test } from 'bun:test';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missing, testNeeding } from '../unit/need.ts';
import { expectUserError, freshDir, run, useScratch } from './helpers.ts';
import { flipByte } from '../flip.ts';

useScratch();

const verify = (file: string, hash: string) => Bun.spawnSync(['veritysetup', 'verify', file, `${file}.verity`, hash]).exitCode;

testNeeding(missing('veritysetup', 'tar2sqfs'), 'layer build --verity: NAME.sqsh.verity beside the layer, its root hash printed, the same on every run; veritysetup verifies it', () => {
  const d = freshDir('verity');
  mkdirSync(join(d, 'src/etc'), { recursive: true });
  writeFileSync(join(d, 'src/etc/hello'), 'hello\n');
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  const a = run(['layer', 'build', 'base', '--from', join(d, 'src'), '--out', d, '--verity'], { env });
  expect(a.stderr).toBe('');
  const m = /^sqsh_layers=base\nsqsh_verity_roots=base=([0-9a-f]{64})\n$/.exec(a.stdout);
  expect(m).not.toBeNull();
  const hash = m![1]!;
  expect(statSync(join(d, 'base.sqsh.verity')).mode & 0o777).toBe(0o644);
  expect(verify(join(d, 'base.sqsh'), hash)).toBe(0);
  const b = run(['layer', 'build', 'base', '--from', join(d, 'src'), '--out', d, '--verity', '--force'], { env });
  expect(b.stdout).toBe(a.stdout);
  // layer verity on an existing file: refused over an existing tree without --force, then the same hash
  expectUserError(run(['layer', 'verity', join(d, 'base.sqsh')]), /base\.sqsh\.verity exists; use --force/);
  expect(run(['layer', 'verity', '--force', join(d, 'base.sqsh')]).stdout).toBe(`sqsh_verity_roots=base=${hash}\n`);
  flipByte(join(d, 'base.sqsh'), 100);
  expect(verify(join(d, 'base.sqsh'), hash)).not.toBe(0);
  expectUserError(run(['layer', 'verity', join(d, 'missing.sqsh')]), /missing\.sqsh is not a layer file/);
});

test('dist/mkruckus ignores the layer commands\' test hooks in its environment (a boot parameter could set them)', () => {
  const d = freshDir('hooks');
  writeFileSync(join(d, 'state'), 'mode=traditional\nroot=/dev/vda\n');
  const r = run(['layers'], { env: { RUCKUSRD_RUN: d, RUCKUSRD_TOP: d, RUCKUSRD_REBOOT: 'touch /tmp/x', MKRUCKUS_TEST_FREEZE_AT: 'x' } });
  // the real /run/ruckusrd is read, which a build host does not have
  expectUserError(r, /^mkruckus: error: \/run\/ruckusrd\/state is missing/);
});
