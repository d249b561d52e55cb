// SPDX-License-Identifier: GPL-2.0-or-later
// What the CLI test files share: the compiled binary run from a scratch directory outside the
// checkout, the host's installed kernel, one-line error checks, `inspect --json`, and probes for
// what needs root (tmpfs mounts, an overlay --base in a private mount namespace).
import { afterAll, beforeAll, expect } from 'bun:test';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareKernelVersions } from '../../src/core/kernel.ts';
import { BIN, ensureBinary, ROOT } from '../binary.ts';

export { BIN, ensureBinary, ROOT };
export const CI = process.env.CI === 'true';

/** Kernel versions with a modules.dep under BASE/lib/modules, as mkruckus sees them. */
function installedKernels(base: string): string[] {
  const dir = join(base, 'lib/modules');
  return existsSync(dir) ? readdirSync(dir).filter((v) => existsSync(join(dir, v, 'modules.dep'))).sort(compareKernelVersions) : [];
}

export const KERNELS = installedKernels('/');
export const KVER = KERNELS.at(-1) ?? '';
// `--kernel 6.1` style when the major.minor prefix is unique on this host: the flag users type.
export const PREFIX = KVER.split('.').slice(0, 2).join('.');
export const KARG = KERNELS.filter((v) => v.startsWith(PREFIX)).length === 1 ? PREFIX : KVER;
export const haveKernel = KVER !== '' || CI;
/** TEXT as a literal inside a RegExp: kernel versions hold `.` and `+` (6.12.113+deb12-amd64). */
export const reEscape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let scratch = '';
const mounted: string[] = [];

/**
 * A scratch directory for the calling test file (outside the checkout), made before its tests with
 * the binary brought up to date, and removed after them with anything mounted in it.
 */
export function useScratch(): void {
  beforeAll(() => {
    ensureBinary();
    scratch = mkdtempSync(join(tmpdir(), 'mkruckus-cli-'));
  });
  afterAll(() => {
    for (const dir of mounted.splice(0).reverse()) if (!sh(['umount', dir]).ok) sh(['umount', '-l', dir]);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = '';
  });
}

/** A fresh empty directory under the scratch directory (outside the checkout). */
export function freshDir(name: string): string {
  if (!scratch) throw new Error('freshDir before useScratch() made the scratch directory');
  return mkdtempSync(join(scratch, `${name}-`));
}

export function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run {
  const env = { ...process.env, ...opts.env };
  if (!opts.env?.SOURCE_DATE_EPOCH) delete env.SOURCE_DATE_EPOCH;
  const r = Bun.spawnSync([BIN, ...args], { cwd: opts.cwd ?? scratch, env, stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Builds OUT (relative to cwd) for the host kernel; expects success. */
export function buildOk(cwd: string, out: string, ...args: string[]): Run {
  const r = run(['--kernel', KARG, ...args, out], { cwd });
  if (r.code !== 0) throw new Error(`build failed (${r.code}): ${r.stderr}`);
  return r;
}

/** Non-zero exit, exactly one stderr line `mkruckus: error: …` matching `what`, no stack trace. */
export function expectUserError(r: Run, what?: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith('mkruckus: error: ');
  if (what) expect(lines[0]).toMatch(what);
}

export interface Segment {
  compression: string;
  entries: { path: string; type: string; size: number }[];
}

export function inspect(image: string): Segment[] {
  const r = run(['inspect', '--json', image]);
  if (r.code !== 0) throw new Error(`inspect ${image} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { segments: Segment[] }).segments;
}

export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
export const leftovers = (dir: string): string[] => readdirSync(dir).filter((n) => n.includes('.mkruckus-'));

export function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' });
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() };
}

/** A tmpfs on DIR, unmounted after the test file (useScratch). */
export function mountTmpfs(dir: string, options: string): void {
  const r = sh(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  if (!r.ok) throw new Error(`mount tmpfs on ${dir}: ${r.out}`);
  mounted.push(dir);
}

/**
 * Whether this process may mount (root, in a sandbox that allows it): probed, not assumed, and at
 * load time: describe.skipIf needs the answer before any beforeAll runs.
 */
function probeMount(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'mkruckus-probe-'));
  const ok = sh(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).ok;
  if (ok) sh(['umount', dir]);
  rmSync(dir, { recursive: true, force: true });
  return ok;
}
export const CAN_MOUNT = probeMount();

/**
 * A real --base that is not /: its /usr is an overlay of a few extra files (microcode) on the
 * host's /usr, mounted in a private mount namespace that ends with the command (nothing to clean
 * up, nothing visible outside). /etc holds the mkruckus.conf under test.
 */
export function runInBase(base: string, extraUsr: string, args: string[], cwd: string): Run {
  const script = 'mount -t overlay overlay -o "ro,lowerdir=$1:/usr" "$2/usr" || exit 99; shift 2; exec "$@"';
  const r = Bun.spawnSync(['unshare', '-m', 'sh', '-c', script, 'sh', extraUsr, base, BIN, '--base', base, ...args], {
    cwd,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function probeOverlay(): boolean {
  if (!CAN_MOUNT || !Bun.which('unshare')) return false;
  const dir = mkdtempSync(join(tmpdir(), 'mkruckus-probe-'));
  mkdirSync(join(dir, 'usr'));
  mkdirSync(join(dir, 'extra'));
  const ok = sh(['unshare', '-m', 'sh', '-c', 'mount -t overlay overlay -o "ro,lowerdir=$1:/usr" "$2/usr" && test -d "$2/usr/bin"', 'sh', join(dir, 'extra'), dir]).ok;
  rmSync(dir, { recursive: true, force: true });
  return ok;
}
export const CAN_OVERLAY = probeOverlay();

