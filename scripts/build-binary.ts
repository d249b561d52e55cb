// SPDX-License-Identifier: GPL-2.0-or-later
// Compiles src/main.ts (with the generated assets) into the single binary dist/mkruckus,
// then runs it once from another directory to prove nothing is read from the checkout.
//   bun scripts/build-binary.ts                  dist/mkruckus for this machine
//   bun scripts/build-binary.ts --target T...    dist/mkruckus-SUFFIX for each T of TARGETS (or `all`)
//   [--outdir DIR]                               ... written to DIR instead of dist/
// Each target's Bun runtime is fetched by Bun itself from the npm registry (@oven/bun-linux-aarch64
// etc., cached under ~/.bun/install/cache); nothing else is downloaded. amd64 is always Bun's
// baseline runtime (x86-64-v2: SSE4.2 and POPCNT, Nehalem/Bulldozer on), for this machine's binary
// too, which is the one scripts/build-deb.sh packages: a packaged binary must start on every CPU a
// user may have, not only the builder's (README: Binaries).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pkg from '../package.json' with { type: 'json' };

/** The machines packagers build for (README: Binaries): Bun's name → our suffix and Debian arch. */
export const TARGETS = {
  'bun-linux-x64-baseline': { suffix: 'linux-amd64', deb: 'amd64' },
  'bun-linux-arm64': { suffix: 'linux-arm64', deb: 'arm64' },
  'bun-linux-x64-musl': { suffix: 'linux-amd64-musl', deb: undefined },
} as const;
export type Target = keyof typeof TARGETS;

const root = join(import.meta.dir, '..');

/** The target of this machine's own binary: the baseline runtime on glibc amd64, else the host's. */
function hostTarget(): Target | undefined {
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime;
  return process.platform === 'linux' && process.arch === 'x64' && glibc ? 'bun-linux-x64-baseline' : undefined;
}

async function compile(outfile: string, target?: Target): Promise<void> {
  const result = await Bun.build({
    entrypoints: [join(root, 'src/main.ts')],
    compile: { outfile, autoloadBunfig: false, autoloadDotenv: false, ...(target === undefined ? {} : { target }) } as never,
    minify: true,
    // JSC bytecode: no parsing of the ~1 MB bundle at every start (~60 ms of CPU and ~900 page
    // faults of each run on amd64; under qemu-aarch64 ~2300 fewer faults). Bytecode is tied to the
    // JavaScriptCore version, not to the architecture, and every target's runtime is this Bun's
    // version: a mismatch would only make Bun parse the source instead (bun-types bytecode.mdx).
    bytecode: true,
    format: 'esm',
    define: { MKRUCKUS_VERSION: JSON.stringify(pkg.version) },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
}

function smoke(outfile: string): void {
  const run = Bun.spawnSync([outfile, '--version'], { cwd: tmpdir() });
  const version = run.stdout.toString().trim();
  if (run.exitCode !== 0 || version !== pkg.version) {
    console.error(`smoke test failed: ${run.stderr.toString()}`);
    process.exit(1);
  }
  console.log(`built ${outfile} (${version})`);
}

if (import.meta.main) {
  const o = process.argv.indexOf('--outdir');
  const outdir = o < 0 ? join(root, 'dist') : process.argv[o + 1]!;
  const args = o < 0 ? process.argv : process.argv.toSpliced(o, 2);
  const i = args.indexOf('--target');
  if (i < 0) {
    const outfile = join(outdir, 'mkruckus');
    await compile(outfile, hostTarget());
    smoke(outfile);
  } else {
    const asked = args.slice(i + 1);
    const targets = (asked.includes('all') ? Object.keys(TARGETS) : asked) as Target[];
    for (const t of targets) {
      if (!(t in TARGETS)) throw new Error(`unknown target ${t}: one of ${Object.keys(TARGETS).join(', ')}, all`);
      const outfile = join(outdir, `mkruckus-${TARGETS[t].suffix}`);
      await compile(outfile, t);
      // Only a binary this machine runs natively is run here; test/distro/cross.test.ts runs the
      // arm64 one under qemu-aarch64.
      if (t === 'bun-linux-x64-baseline' && process.arch === 'x64') smoke(outfile);
      else console.log(`built ${outfile} (${t})`);
    }
  }
}
