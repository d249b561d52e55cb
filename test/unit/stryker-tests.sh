#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Stryker's command runner calls this in its sandbox once per mutant. There is no Bun runner and so
# no per-test coverage: instead, find the source file that holds the active mutant (its id is a
# literal in the instrumented code) and run the unit test files that exercise that file, bailing at
# the first failure. Without a mutant (the dry run), or for a file not listed, run them all.
set -eu

ALL='test/unit/core.test.ts test/unit/manifest.test.ts test/unit/plan.test.ts test/unit/params.test.ts
test/unit/render.test.ts test/unit/kmod.test.ts test/unit/stages.test.ts test/unit/cpio.test.ts
test/unit/elf.test.ts test/unit/options.test.ts test/unit/read.test.ts test/unit/compress.test.ts'

tests=$ALL
id=${__STRYKER_ACTIVE_MUTANT__:-}
if [ -n "$id" ]; then
	file=$(grep -lF "stryMutAct_9fa48(\"$id\")" src/core/*.ts src/archive/*.ts | head -n 1 || true)
	# Each source file with every test file that imports it, directly or through another module.
	case $file in
	src/core/elf.ts | src/core/ldconf.ts) tests='elf' ;;
	src/core/kmod.ts | src/core/modinfo.ts) tests='kmod' ;;
	src/core/params.ts) tests='params manifest core' ;;
	src/core/validate.ts) tests='manifest' ;;
	src/core/module.ts | src/core/modules.ts) tests='manifest core' ;;
	src/core/plan.ts | src/core/stage.ts) tests='plan manifest stages core' ;;
	src/core/stages.ts) tests='stages' ;;
	src/core/render.ts | src/core/kernel.ts | src/core/shquote.ts) tests='render core' ;;
	src/core/config.ts | src/core/options.ts | src/core/request.ts) tests='render core options' ;;
	src/archive/cpio.ts) tests='cpio read compress' ;;
	src/archive/compress.ts | src/archive/read.ts) tests='read compress cpio' ;;
	esac
	if [ "$tests" != "$ALL" ]; then
		tests=$(for t in $tests; do printf 'test/unit/%s.test.ts ' "$t"; done)
	fi
fi
# only the files this tree has (bun test fails on a missing one, which would count as a kill)
tests=$(for t in $tests; do [ ! -e "$t" ] || printf '%s ' "$t"; done)
# -t: the bash completion tests of options.test.ts check scripts/gen-docs.ts output (bash, and the
# linter): nothing of src/core, and a second more per run.
# shellcheck disable=SC2086 # a word list
exec bun test --bail --timeout 20000 -t '^(?!documentation the completion)' $tests
