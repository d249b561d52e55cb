// SPDX-License-Identifier: GPL-2.0-or-later
// The compiled binary every CLI and boot test runs, always built from the current tree. Freshness
// is a hash of the sources, not their times: a restored file keeps its old mtime (scripts/mutate.sh,
// git checkout), and a binary built from a mutant must never pass for the real one.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dir, '..');
export const BIN = join(ROOT, 'dist/mkruckus');
const STAMP = join(ROOT, 'dist/mkruckus.sources');
/** Everything `bun run build` compiles or embeds; src/generated is written by the build itself. */
const SOURCES = ['src', 'modules', 'templates', 'scripts', 'package.json'];

function hashTree(path: string, hasher: Bun.CryptoHasher): void {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) if (name !== 'generated') hashTree(join(path, name), hasher);
  } else hasher.update(`${path}\0`).update(readFileSync(path)).update('\0');
}

export function sourcesHash(): string {
  const hasher = new Bun.CryptoHasher('sha256');
  for (const s of SOURCES) hashTree(join(ROOT, s), hasher);
  return hasher.digest('hex');
}

let built = '';
/** Builds dist/mkruckus unless it was built from exactly the sources now in the tree. */
export function ensureBinary(): void {
  const want = sourcesHash();
  if (built === want) return;
  const stamp = existsSync(STAMP) ? readFileSync(STAMP, 'utf8') : '';
  if (!existsSync(BIN) || stamp !== want) {
    // Test files build concurrently (bun runs files one at a time, but several `bun test` may run):
    // one build at a time, so nobody runs a half-written binary.
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    const build = ['flock', join(ROOT, 'dist/.build.lock'), process.execPath, 'run', 'build'];
    const r = Bun.spawnSync(build, { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' });
    if (r.exitCode !== 0) throw new Error(`bun run build failed:\n${r.stdout}${r.stderr}`);
    writeFileSync(STAMP, want);
  }
  built = want;
}
