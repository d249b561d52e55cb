// SPDX-License-Identifier: GPL-2.0-or-later
// Build-time benchmark: mkruckus against the two initramfs builders Debian ships
// (initramfs-tools' mkinitramfs and dracut), for the same kernel in the same run.
//
//   bun bench/build.ts [--runs N]      (default 5 runs per builder)
//
// Prints a markdown table (wall time median/min, image size, entries, kernel modules,
// compression) and the speedup of mkruckus over each peer. A peer that is not installed
// gets a "not installed" row instead of failing the run.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findKernel } from '../test/boot/qemu.ts';

const ROOT = join(import.meta.dir, '..');
const CLI = join(ROOT, 'dist/mkruckus');

interface Builder {
  name: string;
  /** absolute path of the tool, or undefined when it is not installed */
  tool: string | undefined;
  argv: (out: string, kver: string) => string[];
}

interface ImageFacts {
  entries: number | undefined;
  modules: number | undefined;
  compression: string;
}

interface Result {
  builder: Builder;
  times: number[];
  size?: number;
  facts?: ImageFacts;
  error?: string;
}

/** Looks a tool up on PATH and in the sbin directories a non-root PATH may lack. */
function locate(name: string): string | undefined {
  const found = Bun.which(name);
  if (found) return found;
  return ['/usr/sbin', '/sbin', '/usr/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

/** initramfs-tools' configured compressor (bookworm ships COMPRESS=zstd; an admin may change it). */
function initramfsToolsCompression(): string {
  try {
    const conf = readFileSync('/etc/initramfs-tools/initramfs.conf', 'utf8');
    return /^COMPRESS=(\S+)/m.exec(conf)?.[1] ?? 'zstd';
  } catch {
    return 'zstd';
  }
}

function builders(): Builder[] {
  return [
    {
      name: 'mkruckus',
      tool: existsSync(CLI) ? CLI : undefined,
      argv: (out, kver) => [CLI, '--kernel', kver, out, '--force'],
    },
    {
      // Our default (zstd) already matches initramfs-tools' default; gzip is the like-for-like
      // row against dracut, which picks pigz (gzip) on Debian when not told otherwise.
      name: 'mkruckus --compress gzip',
      tool: existsSync(CLI) ? CLI : undefined,
      argv: (out, kver) => [CLI, '--kernel', kver, out, '--force', '--compress', 'gzip'],
    },
    {
      // MODULES=most (the shipped default): MODULES=dep would size the image for this VM's devices.
      name: `mkinitramfs (initramfs-tools, COMPRESS=${initramfsToolsCompression()})`,
      tool: locate('mkinitramfs'),
      argv: (out, kver) => [locate('mkinitramfs')!, '-o', out, kver],
    },
    {
      // --no-hostonly: a generic image, like ours, rather than one tailored to this machine.
      name: 'dracut --no-hostonly',
      tool: locate('dracut'),
      argv: (out, kver) => [locate('dracut')!, '--no-hostonly', '--kver', kver, '--force', out],
    },
  ];
}

/** Runs one build and returns its wall time in seconds; throws with the tool's stderr on failure. */
function timeBuild(argv: string[]): number {
  const start = performance.now();
  const p = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' });
  const seconds = (performance.now() - start) / 1000;
  if (p.exitCode !== 0) {
    const tail = p.stderr.toString().trim().split('\n').slice(-5).join(' | ');
    throw new Error(`exit ${p.exitCode}: ${tail}`);
  }
  return seconds;
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

function row(r: Result): string {
  if (!r.builder.tool) return `| ${r.builder.name} | not installed | | | | | |`;
  if (r.error) return `| ${r.builder.name} | failed: ${r.error.replaceAll('|', '/')} | | | | | |`;
  const f = r.facts!;
  return `| ${r.builder.name} | ${secs(median(r.times))} | ${secs(Math.min(...r.times))} | ${mib(r.size!)} | ` +
    `${f.entries ?? '?'} | ${f.modules ?? '?'} | ${f.compression} |`;
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, got ${values.runs}`);
  const kernel = findKernel();
  if (!kernel) throw new Error('no kernel with modules in /lib/modules and a /boot/vmlinuz-*');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node_modules/.bin/bun run build\` first`);

  const dir = mkdtempSync(join(tmpdir(), 'mkruckus-bench-'));
  const results: Result[] = builders().map((builder) => ({ builder, times: [] }));
  console.error(`kernel ${kernel.version}, ${runs} run(s) per builder, images in ${dir}`);
  try {
    // Round-robin rather than builder after builder, so page-cache warmth and any drift in
    // machine load are spread over all builders instead of favouring whoever runs last.
    for (let i = 0; i < runs; i++) {
      results.forEach((r, j) => {
        if (!r.builder.tool || r.error) return;
        const out = join(dir, `${j}.img`);
        try {
          const t = timeBuild(r.builder.argv(out, kernel.version));
          r.times.push(t);
          console.error(`  run ${i + 1}/${runs} ${r.builder.name}: ${secs(t)}`);
        } catch (e) {
          r.error = (e as Error).message;
          console.error(`  run ${i + 1}/${runs} ${r.builder.name}: FAILED ${r.error}`);
        }
      });
    }
    results.forEach((r, j) => {
      if (!r.builder.tool || r.error) return;
      const out = join(dir, `${j}.img`);
      r.size = statSync(out).size;
      r.facts = imageFacts(out, r.builder.name);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report(kernel.version, runs, results);
}

function report(kver: string, runs: number, results: Result[]): void {
  console.log(`## Image build time, kernel ${kver}, ${runs} run(s) each\n`);
  console.log('| builder | wall median | wall min | image size | entries | kernel modules | compression |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) console.log(row(r));

  const ok = results.filter((r) => r.builder.tool && !r.error && r.times.length);
  const ours = ok.filter((r) => r.builder.tool === CLI);
  const peers = results.filter((r) => r.builder.tool !== CLI);
  if (!ours.length || !peers.length) return;
  console.log('\n## Speedup of mkruckus (peer median / mkruckus median)\n');
  console.log(`| peer | ${ours.map((o) => o.builder.name).join(' | ')} |`);
  console.log(`|---|${ours.map(() => '---').join('|')}|`);
  for (const p of peers) {
    const cells = ours.map((o) => {
      if (!p.builder.tool) return 'not installed';
      if (p.error || !p.times.length) return 'failed';
      return `${(median(p.times) / median(o.times)).toFixed(1)}×`;
    });
    console.log(`| ${p.builder.name} | ${cells.join(' | ')} |`);
  }
}

main();
