#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The test command: set up (scripts/setup.sh), then unit, shell, lint and CLI tests, then the
# QEMU boot tests (serially: each boot is slow under TCG). Each suite also writes a JUnit report;
# when one fails, its failures are printed again, with their messages, at the end of the log.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
PATH="$PWD/node_modules/.bin:$PATH"
# setup.sh installed every tool the tests use: from here on a missing one is a failure, not a skip.
CI=${CI:-true}
export PATH CI
reports=$(mktemp -d "${TMPDIR:-/tmp}/mkruckus-reports.XXXXXX")
for suite in unit cli boot; do
	if ! bun run "test:$suite" --reporter=junit --reporter-outfile="$reports/$suite.xml"; then
		bun scripts/test-failures.ts "$reports/$suite.xml"
		echo "test.sh: the $suite tests failed (JUnit report: $reports/$suite.xml)" >&2
		exit 1
	fi
done
rm -rf "$reports"
