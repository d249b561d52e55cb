#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# README command 1: set up, build an image, boot it in QEMU to a layered root.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node_modules/.bin/bun scripts/demo.ts
