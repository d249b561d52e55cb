#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The test command: set up (scripts/setup.sh), then unit, shell, lint and CLI tests, then the
# QEMU boot tests (serially: each boot is slow under TCG).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
PATH="$PWD/node_modules/.bin:$PATH"
# setup.sh installed every tool the tests use: from here on a missing one is a failure, not a skip.
CI=${CI:-true}
export PATH CI
bun run test:unit
bun run test:cli
bun run test:boot
