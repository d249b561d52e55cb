// SPDX-License-Identifier: GPL-2.0-or-later
// Tests import the generated asset map; make sure it exists and is current.
import '../scripts/gen-assets.ts';
import { afterAll } from 'bun:test';
import { removeTempDirs, tempDir } from './temp-dirs.ts';

// Every test process gets an empty cache home of its own: no test reads decoded modules that an
// earlier run left in src/host/kmod-cache.ts's cache (a warm cache would hide the xz path), and
// none writes into the user's ~/.cache.
process.env.XDG_CACHE_HOME = tempDir('test-cache');
// A preload's afterAll runs once, after every file of the run.
afterAll(removeTempDirs);
