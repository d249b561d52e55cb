// SPDX-License-Identifier: GPL-2.0-or-later
// Lint as tests (STYLE §1.5, mkosi): shellcheck over every boot-time shell file, `tsc --noEmit` over
// the TypeScript. A missing tool skips the test locally and fails it when CI=true.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HOOK_PHASES } from '../src/core/module.ts';
import { hookInstallPath } from '../src/core/render.ts';
import { moduleFilePath } from '../src/core/validate.ts';
import { MODULES } from '../src/generated/assets.ts';

const ROOT = join(import.meta.dir, '..');
const CI = process.env.CI === 'true';
const SHELLCHECK = Bun.which('shellcheck');
const TSC = join(ROOT, 'node_modules/.bin/tsc');

/** A boot-time shell file: where it is in the checkout and, when a manifest installs it, in the image. */
interface BootFile {
  repo: string;
  image?: string;
  hook: boolean;
}

/** Every .sh under templates/ and modules/, placed where the manifests install it. */
function bootFiles(): BootFile[] {
  const placed = new Map<string, BootFile>();
  for (const m of MODULES) {
    for (const f of m.files ?? []) {
      const repo = f.from === undefined ? undefined : moduleFilePath(m.name, f.from);
      if (repo?.endsWith('.sh')) placed.set(repo, { repo, image: f.to, hook: false });
    }
    for (const [phase, files] of Object.entries(m.hooks ?? {})) {
      for (const file of files ?? []) {
        const repo = `modules/${m.name}/hooks/${file}`;
        placed.set(repo, { repo, image: hookInstallPath(phase, m.name, file), hook: true });
      }
    }
  }
  // Files no manifest installs are still linted (alone): nothing in these trees escapes the check.
  for (const repo of [...walk('templates'), ...walk('modules')].filter((p) => p.endsWith('.sh'))) {
    if (!placed.has(repo)) placed.set(repo, { repo, hook: repo.includes('/hooks/') });
  }
  return [...placed.values()].sort((a, b) => a.repo.localeCompare(b.repo));
}

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(ROOT, path)).isDirectory() ? walk(path) : [path];
  });
}

/**
 * The order /init brings the files in: the libraries it sources itself, the other libraries, then
 * the hooks by phase and name. Only the order of a realistic whole program; shellcheck's unused and
 * unassigned checks do not depend on it.
 */
function runOrder(files: BootFile[]): string[] {
  const initText = readFileSync(join(ROOT, 'templates/init.sh'), 'utf8');
  const initLibs = [...initText.matchAll(/^\. (\/lib\/ruckusrd\/[^\s;]+)/gm)].map((m) => m[1]!);
  const images = files.filter((f) => f.image && f.image !== '/init');
  // Libraries are what /init's shell sources (/lib/ruckusrd/); a program such as /usr/sbin/modprobe runs alone.
  const libs = images.filter((f) => !f.hook && f.image!.startsWith('/lib/ruckusrd/')).map((f) => f.image!).filter((p) => !initLibs.includes(p)).sort();
  const phaseOf = (p: string): number => HOOK_PHASES.indexOf(p.split('/')[4] as (typeof HOOK_PHASES)[number]);
  const hooks = images.filter((f) => f.hook).map((f) => f.image!).sort((a, b) => phaseOf(a) - phaseOf(b) || a.localeCompare(b));
  return [...initLibs, ...libs, ...hooks];
}

const FILES = bootFiles();
let work = '';

beforeAll(() => {
  if (!SHELLCHECK) return;
  work = mkdtempSync(join(tmpdir(), 'mkruckus-lint-'));
  const stage = join(work, 'image');
  const lint = join(work, 'lint');
  for (const f of FILES) {
    if (!f.image) continue;
    mkdirSync(dirname(join(stage, f.image)), { recursive: true });
    copyFileSync(join(ROOT, f.repo), join(stage, f.image));
  }
  const order = runOrder(FILES);
  for (const f of FILES) {
    const text = readFileSync(join(ROOT, f.repo), 'utf8');
    // A library or hook runs inside /init's shell, after the others are sourced: say so on its first
    // line, so that shellcheck's line numbers stay those of the real file.
    const prelude = f.image && f.image !== '/init' ? order.filter((p) => p !== f.image).map((p) => `. ${p}; `).join('') : '';
    mkdirSync(dirname(join(lint, f.repo)), { recursive: true });
    writeFileSync(join(lint, f.repo), prelude + text);
  }
  // shellcheck looks for .shellcheckrc beside and above the checked file: give the copies ours.
  copyFileSync(join(ROOT, '.shellcheckrc'), join(lint, '.shellcheckrc'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!SHELLCHECK && !CI)('shellcheck -s sh', () => {
  test('.shellcheckrc exists', () => expect(existsSync(join(ROOT, '.shellcheckrc'))).toBe(true));

  test('finds the boot files', () => {
    const repos = FILES.map((f) => f.repo);
    expect(repos).toContain('templates/init.sh');
    expect(repos.some((r) => r.startsWith('templates/lib/'))).toBe(true);
    expect(FILES.some((f) => f.hook)).toBe(true);
  });

  test.each(FILES.map((f) => [f.repo]))('%s', (repo) => {
    if (!SHELLCHECK) throw new Error('shellcheck is required when CI=true');
    const r = Bun.spawnSync([SHELLCHECK, '-s', 'sh', '-x', '-P', join(work, 'image'), '-f', 'gcc', repo], {
      cwd: join(work, 'lint'),
    });
    const findings = r.stdout.toString().trim() + r.stderr.toString().trim();
    expect(findings).toBe('');
    expect(r.exitCode).toBe(0);
  });
});

describe.skipIf(!existsSync(TSC) && !CI)('tsc', () => {
  test('tsc --noEmit -p .', () => {
    if (!existsSync(TSC)) throw new Error('node_modules/.bin/tsc is required when CI=true');
    const r = Bun.spawnSync([TSC, '--noEmit', '-p', '.'], { cwd: ROOT });
    const out = (r.stdout.toString() + r.stderr.toString()).trim();
    // Relative paths in the report, whatever directory the checkout is in.
    expect(out.replaceAll(ROOT + '/', '')).toBe('');
    expect(r.exitCode).toBe(0);
  }, 120_000);
});
