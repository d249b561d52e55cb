// SPDX-License-Identifier: GPL-2.0-or-later
// Mutation testing of the pure code (src/core, src/archive) against the unit tests that cover it.
// There is no Bun test runner for Stryker: the command runner runs `bun test` once per mutant (no
// per-test coverage), so the command lists only the fast, host-independent test files and bails at
// the first failure. README "Mutation testing" has the score this threshold comes from.

/** The unit tests of src/core and src/archive: no QEMU, no kernel tree, no ldd (those live in *-host/binaries). */
const TESTS = [
  'test/unit/core.test.ts',
  'test/unit/manifest.test.ts',
  'test/unit/plan.test.ts',
  'test/unit/params.test.ts',
  'test/unit/render.test.ts',
  'test/unit/kmod.test.ts',
  'test/unit/stages.test.ts',
  'test/unit/cpio.test.ts',
  'test/unit/elf.test.ts',
  'test/unit/options.test.ts',
  'test/unit/read.test.ts',
  'test/unit/compress.test.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  // -t: options.test.ts's bash completion tests run bash and shellcheck on scripts/gen-docs.ts output, not
  // src/core, and would add a second to every run.
  commandRunner: { command: `bun test --bail --timeout 20000 -t '^(?!documentation the completion)' ${TESTS.join(' ')}` },
  mutate: ['src/core/**/*.ts', 'src/archive/**/*.ts'],
  coverageAnalysis: 'off',
  // the machine is shared and has two cores
  concurrency: 2,
  timeoutMS: 10000,
  tempDirName: '.stryker-tmp',
  // Stryker rewrites tsconfig `extends`/`references` for its sandbox through the TypeScript JS API, which
  // TypeScript 7 no longer has; ours has neither, so point it at no file and it leaves tsconfig alone.
  tsconfigFile: 'no-tsconfig-rewrite.json',
  cleanTempDir: true,
  ignorePatterns: ['dist', '.cache', '*.img', 'reports', 'bench', 'test/boot'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 85, low: 70, break: 0 },
};
