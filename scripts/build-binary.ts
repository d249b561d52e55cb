// SPDX-License-Identifier: GPL-2.0-or-later
// Compiles src/main.ts (with the generated assets) into the single binary dist/mkruckus,
// then runs it once from another directory to prove nothing is read from the checkout.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pkg from '../package.json' with { type: 'json' };

const root = join(import.meta.dir, '..');
// --test-hooks: dist/mkruckus-test, the only binary that reads the layer commands' test hooks from
// the environment (src/host/layer-testhooks.ts); dist/mkruckus never does.
const testHooks = process.argv.includes('--test-hooks');
const outfile = join(root, testHooks ? 'dist/mkruckus-test' : 'dist/mkruckus');
const result = await Bun.build({
  entrypoints: [join(root, 'src/main.ts')],
  compile: { outfile, autoloadBunfig: false, autoloadDotenv: false } as never,
  minify: true,
  define: { MKRUCKUS_VERSION: JSON.stringify(pkg.version), MKRUCKUS_TEST_HOOKS: String(testHooks) },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const smoke = Bun.spawnSync([outfile, '--version'], { cwd: tmpdir() });
const version = smoke.stdout.toString().trim();
if (smoke.exitCode !== 0 || version !== pkg.version) {
  console.error(`smoke test failed: ${smoke.stderr.toString()}`);
  process.exit(1);
}
console.log(`built ${outfile} (${version})`);
