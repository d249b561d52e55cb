// SPDX-License-Identifier: GPL-2.0-or-later
// Build-time benchmark: mkruckus against the two initramfs builders Debian ships
// (initramfs-tools' mkinitramfs and dracut), for the same kernel in the same run, plus the
// mkruckus variants issue 11 sets targets for: the generic image (`--add storage-all`), the same
// for a kernel with `.ko.xz` modules (bench/xzbase.ts), and the embedded erofs and squashfs
// second stages.
//
//   bun bench/build.ts [--runs N] [--only REGEX] [--kernel PREFIX] [--baseline BIN]   (default 5 runs per
//   builder; --only: builders whose name matches; --kernel: not the newest; a kernel shipping .ko.xz is used
//   as it is; --baseline: an older mkruckus binary measured beside dist/mkruckus, for before/after)
//
// Prints markdown tables (wall time median/min, CPU time, image size, entries, kernel modules,
// compression), the speedup of mkruckus over each peer and the targets with their verdict. A
// peer that is not installed gets a "not installed" row instead of failing the run. Wall time is
// what a user waits; CPU time (user + system of the builder and its children) is the steadier
// number on a machine shared with other work.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findKernel } from '../test/boot/qemu.ts';
import { CLI, locate } from './lib.ts';
import { initramfsToolsModules } from './peers.ts';
import { inXzBase, makeXzBase, xzBaseUnavailable, xzModulesTree } from './xzbase.ts';

interface Builder {
  name: string;
  /** why it cannot run here, e.g. "not installed" */
  missing?: string;
  argv: (out: string, kver: string) => string[];
  ours: boolean;
  /** the builder's XDG_CACHE_HOME (where mkruckus keeps decoded .ko.xz modules) */
  cacheHome?: string;
  /** run, untimed, before each timed build */
  before?: () => void;
}

interface ImageFacts {
  entries: number | undefined;
  modules: number | undefined;
  compression: string;
}

interface Result {
  builder: Builder;
  times: number[];
  cpu: number[];
  size?: number;
  facts?: ImageFacts;
  error?: string;
}

const GENERIC = 'mkruckus --add storage-all';
const GENERIC_XZ = `${GENERIC}, .ko.xz modules`;
const XZ_COLD = `${GENERIC_XZ}, empty module cache`;
const XZ_WARM = `${GENERIC_XZ}, module cache filled`;
const EROFS = `${GENERIC} --second-stage erofs (embedded)`;
const SQUASHFS = `${GENERIC} --second-stage squashfs (embedded)`;
const MKINITRAMFS = `mkinitramfs (initramfs-tools, MODULES=${initramfsToolsModules()})`;
const DRACUT = 'dracut --no-hostonly';
/** Issue 11: the generic image this many times faster than each peer; the .ko.xz build under a second. */
const TARGETS = { [MKINITRAMFS]: 20, [DRACUT]: 50 } as Record<string, number>;
const XZ_TARGET_S = 1;

function ours(name: string, args: string[], cli = CLI): Builder {
  return { name, ours: true, missing: existsSync(cli) ? undefined : 'not built', argv: (out, kver) => [cli, '--kernel', kver, out, '--force', ...args] };
}

/**
 * mkruckus on the .ko.xz base; the modules tree is made (or taken from the bench cache) before any
 * timing. `warm`: the decoded-module cache is filled by an untimed build first, as any rebuild for
 * the same kernel finds it; otherwise it is emptied before every run, as a first build finds it.
 */
function oursOnXz(name: string, args: string[], dir: string, kver: string, warm: boolean, cli = CLI): Builder {
  const cacheHome = join(dir, `cache-${name.replace(/\W+/g, '-')}`);
  let argv = (out: string) => [cli, '--kernel', kver, out, '--force', ...args];
  // A kernel that ships .ko.xz modules (Debian's 6.12) is the real case; otherwise one is made.
  if (!shipsXz(kver)) {
    const missing = xzBaseUnavailable();
    if (missing) return { name, ours: true, missing, argv: () => [] };
    const modules = xzModulesTree(kver);
    const base = makeXzBase(join(dir, `xzbase-${name.replace(/\W+/g, '-')}`));
    argv = (out: string) => inXzBase(base, modules, kver, [cli, '--base', base, '--kernel', kver, out, '--force', ...args]);
  }
  const before = warm
    ? () => existsSync(cacheHome) || timeBuild(argv(join(dir, 'prime.img')), cacheHome)
    : () => rmSync(cacheHome, { recursive: true, force: true });
  return { name, ours: true, cacheHome, before, argv };
}

/** Whether /lib/modules/KVER holds .ko.xz modules (its modules.dep names them). */
function shipsXz(kver: string): boolean {
  const dep = Bun.spawnSync(['sh', '-c', 'head -n 1 "$1"', 'sh', `/lib/modules/${kver}/modules.dep`]).stdout.toString();
  return /\.ko\.xz:/.test(dep);
}

function peer(name: string, tool: string, argv: (path: string, out: string, kver: string) => string[]): Builder {
  const path = locate(tool);
  return { name, ours: false, missing: path ? undefined : 'not installed', argv: (out, kver) => argv(path!, out, kver) };
}

/**
 * --baseline BIN: another mkruckus binary (an older build) beside dist/mkruckus, for a before/after
 * pair measured in the same run: its generic and warm .ko.xz builds, named `baseline: …`.
 */
function baselines(dir: string, kver: string, cli: string | undefined): Builder[] {
  if (cli === undefined) return [];
  const name = (n: string) => `baseline: ${n}`;
  return [ours(name(GENERIC), ['--add', 'storage-all'], cli), oursOnXz(name(XZ_WARM), ['--add', 'storage-all'], dir, kver, true, cli)];
}

function builders(dir: string, kver: string): Builder[] {
  return [
    ours('mkruckus default', []),
    ours(GENERIC, ['--add', 'storage-all']),
    oursOnXz('mkruckus default, .ko.xz modules, empty module cache', [], dir, kver, false),
    oursOnXz(XZ_COLD, ['--add', 'storage-all'], dir, kver, false),
    oursOnXz(XZ_WARM, ['--add', 'storage-all'], dir, kver, true),
    ours(EROFS, ['--add', 'storage-all', '--second-stage', 'erofs']),
    ours(SQUASHFS, ['--add', 'storage-all', '--second-stage', 'squashfs']),
    // The shipped configuration (MODULES=most): MODULES=dep would size the image for this VM's devices.
    peer(MKINITRAMFS, 'mkinitramfs', (path, out, k) => [path, '-o', out, k]),
    // --no-hostonly: a generic image, like ours, rather than one tailored to this machine.
    peer(DRACUT, 'dracut', (path, out, k) => [path, '--no-hostonly', '--kver', k, '--force', out]),
  ];
}

/** Runs one build: wall and CPU seconds; throws with the tool's stderr on failure. */
function timeBuild(argv: string[], cacheHome?: string): { wall: number; cpu: number } {
  const env = cacheHome ? { ...process.env, XDG_CACHE_HOME: cacheHome } : process.env;
  const start = performance.now();
  const p = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe', env });
  const wall = (performance.now() - start) / 1000;
  if (p.exitCode !== 0) {
    const tail = p.stderr.toString().trim().split('\n').slice(-5).join(' | ');
    throw new Error(`exit ${p.exitCode}: ${tail}`);
  }
  return { wall, cpu: Number(p.resourceUsage.cpuTime.total) / 1e6 };
}

/**
 * Counts entries and modules. Our own `inspect` reads all three formats (one parser, same
 * counting rules for everyone); lsinitramfs/lsinitrd are the fallback if it cannot.
 */
function imageFacts(img: string, builderName: string): ImageFacts {
  const p = Bun.spawnSync([CLI, 'inspect', '--json', img], { stdout: 'pipe', stderr: 'pipe' });
  if (p.exitCode === 0) {
    const json = JSON.parse(p.stdout.toString()) as {
      segments: { compression: string; entries: unknown[] }[];
      kernelModules: string[];
    };
    return {
      entries: json.segments.reduce((n, s) => n + s.entries.length, 0),
      modules: json.kernelModules.length,
      compression: json.segments.map((s) => s.compression).join(' + '),
    };
  }
  return listerFacts(img, builderName);
}

function listerFacts(img: string, builderName: string): ImageFacts {
  const lister = builderName.startsWith('dracut') ? locate('lsinitrd') : locate('lsinitramfs');
  if (!lister) return { entries: undefined, modules: undefined, compression: '?' };
  const out = Bun.spawnSync([lister, img], { stdout: 'pipe', stderr: 'pipe' }).stdout.toString();
  // lsinitramfs prints bare paths; lsinitrd wraps an `ls -l` style listing in a header.
  let lines = out.split('\n').filter(Boolean);
  if (lister.endsWith('lsinitrd')) lines = lines.filter((l) => /^[-dlcbps][-rwxsStT]{9}/.test(l));
  return {
    entries: lines.length,
    modules: lines.filter((l) => /\.ko(\.(xz|zst|gz))?$/.test(l)).length,
    compression: '?',
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const secs = (s: number) => `${s.toFixed(2)} s`;
/** Built at least once and never failed (a plain boolean: a type guard would narrow the else branch to never). */
const ok = (r: Result | undefined): boolean => r !== undefined && !r.builder.missing && !r.error && r.times.length > 0;

function row(r: Result): string {
  if (r.builder.missing) return `| ${r.builder.name} | ${r.builder.missing} | | | | | | |`;
  if (r.error) return `| ${r.builder.name} | failed: ${r.error.replaceAll('|', '/')} | | | | | | |`;
  const f = r.facts!;
  return `| ${r.builder.name} | ${secs(median(r.times))} | ${secs(Math.min(...r.times))} | ${secs(median(r.cpu))} | ${mib(r.size!)} | ` +
    `${f.entries ?? '?'} | ${f.modules ?? '?'} | ${f.compression} |`;
}

/** Round-robin rather than builder after builder, so page-cache warmth and drifts in machine load spread over all. */
function measure(dir: string, kver: string, runs: number, results: Result[]): void {
  for (let i = 0; i < runs; i++) {
    results.forEach((r, j) => {
      if (r.builder.missing || r.error) return;
      try {
        r.builder.before?.();
        const t = timeBuild(r.builder.argv(join(dir, `${j}.img`), kver), r.builder.cacheHome);
        r.times.push(t.wall);
        r.cpu.push(t.cpu);
        console.error(`  run ${i + 1}/${runs} ${r.builder.name}: ${secs(t.wall)} (CPU ${secs(t.cpu)})`);
      } catch (e) {
        r.error = (e as Error).message;
        console.error(`  run ${i + 1}/${runs} ${r.builder.name}: FAILED ${r.error}`);
      }
    });
  }
  results.forEach((r, j) => {
    if (!ok(r)) return;
    const out = join(dir, `${j}.img`);
    r.size = statSync(out).size;
    r.facts = imageFacts(out, r.builder.name);
  });
}

/** The newest kernel, or the one installed kernel whose version starts with `prefix`. */
function pickKernel(prefix?: string): { version: string } {
  const kernel = findKernel();
  if (prefix === undefined || kernel?.version === prefix) {
    if (!kernel) throw new Error('no kernel with modules in /lib/modules and a /boot/vmlinuz-*');
    return kernel;
  }
  // A prefix ends on a component boundary, as mkruckus --kernel reads it: 6.1 never names 6.12.
  const names = (v: string) => v === prefix || (v.startsWith(prefix) && /^[.+-]/.test(v.slice(prefix.length)));
  const hits = readdirSync('/lib/modules').filter((v) => names(v) && existsSync(`/boot/vmlinuz-${v}`));
  if (hits.length !== 1) throw new Error(`--kernel ${prefix}: ${hits.length ? `ambiguous (${hits.join(', ')})` : 'no such kernel'}`);
  return { version: hits[0]! };
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, only: { type: 'string' }, kernel: { type: 'string' }, baseline: { type: 'string' } } });
  const only = values.only === undefined ? undefined : new RegExp(values.only);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, got ${values.runs}`);
  const kernel = pickKernel(values.kernel);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node_modules/.bin/bun run build\` first`);

  const dir = mkdtempSync(join(tmpdir(), 'mkruckus-bench-'));
  try {
    const chosen = [...baselines(dir, kernel.version, values.baseline), ...builders(dir, kernel.version)].filter((b) => !only || only.test(b.name));
    const results: Result[] = chosen.map((builder) => ({ builder, times: [], cpu: [] }));
    console.error(`kernel ${kernel.version}, ${runs} run(s) per builder, images in ${dir}`);
    measure(dir, kernel.version, runs, results);
    report(kernel.version, runs, results);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function speedups(results: Result[]): void {
  const mine = results.filter((r) => r.builder.ours && ok(r) && !r.builder.name.includes('second-stage'));
  const peers = results.filter((r) => !r.builder.ours);
  if (!mine.length || !peers.length) return;
  console.log('\n## Speedup of mkruckus (peer median / mkruckus median, wall time)\n');
  console.log(`| peer | ${mine.map((o) => o.builder.name).join(' | ')} |`);
  console.log(`|---|${mine.map(() => '---').join('|')}|`);
  for (const p of peers) {
    const cells = mine.map((o) => (ok(p) ? `${(median(p.times) / median(o.times)).toFixed(1)}×` : p.builder.missing ?? 'failed'));
    console.log(`| ${p.builder.name} | ${cells.join(' | ')} |`);
  }
}

function targets(results: Result[]): void {
  const by = (name: string) => results.find((r) => r.builder.name === name);
  const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? 'met' : 'NOT met');
  const generic = by(GENERIC);
  const lines: string[][] = Object.entries(TARGETS).map(([name, factor]) => {
    const p = by(name);
    const x = ok(p) && ok(generic) ? median(p!.times) / median(generic!.times) : undefined;
    const cpu = ok(p) && ok(generic) ? `; CPU ${(median(p!.cpu) / median(generic!.cpu)).toFixed(1)}×` : '';
    return [`${GENERIC} ≥ ${factor}× faster than ${name}`, x === undefined ? '–' : `${x.toFixed(1)}× wall${cpu}`, verdict(x === undefined ? undefined : x >= factor)];
  });
  for (const name of [XZ_COLD, XZ_WARM]) {
    const xz = by(name);
    const why = xz?.builder.missing ?? xz?.error ?? '–';
    const wall = ok(xz) ? median(xz!.times) : undefined;
    const cpu = ok(xz) ? ` (CPU ${secs(median(xz!.cpu))})` : '';
    lines.push([`${name} under ${XZ_TARGET_S} s`, wall === undefined ? why : `${secs(wall)}${cpu}`, verdict(wall === undefined ? undefined : wall < XZ_TARGET_S)]);
  }
  const [e, s] = [by(EROFS), by(SQUASHFS)];
  const both = ok(e) && ok(s);
  lines.push(['embedded erofs builds at least as fast as embedded squashfs',
    both ? `${secs(median(e!.times))} vs ${secs(median(s!.times))} (CPU ${secs(median(e!.cpu))} vs ${secs(median(s!.cpu))})` : '–',
    verdict(both ? median(e!.times) <= median(s!.times) : undefined)]);
  console.log('\n## Targets (issue 11)\n');
  console.log('| target | measured (medians) | verdict |');
  console.log('|---|---|---|');
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
}

function report(kver: string, runs: number, results: Result[]): void {
  console.log(`## Image build time, kernel ${kver}, ${runs} run(s) each\n`);
  console.log('| builder | wall median | wall min | CPU median | image size | entries | kernel modules | compression |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) console.log(row(r));
  speedups(results);
  targets(results);
}

main();
