// SPDX-License-Identifier: GPL-2.0-or-later
// Tests import the generated asset map; make sure it exists and is current.
import '../scripts/gen-assets.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every test process gets an empty cache home of its own: no test reads decoded modules that an
// earlier run left in src/host/kmod-cache.ts's cache (a warm cache would hide the xz path), and
// none writes into the user's ~/.cache.
const cacheHome = mkdtempSync(join(tmpdir(), 'mkruckus-test-cache-'));
process.env.XDG_CACHE_HOME = cacheHome;
process.on('exit', () => rmSync(cacheHome, { recursive: true, force: true }));
