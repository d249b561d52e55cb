// SPDX-License-Identifier: GPL-2.0-or-later
// What the boot benchmarks share: the guest's report parsed into one Sample per boot, serial
// QEMU boots of one configuration, medians and markdown formatting. The guest is the test
// suite's (static busybox + test/boot/guest/init.sh), which prints /proc/uptime, our
// /run/ruckusrd/timings and MemAvailable as soon as the root's /sbin/init runs, then runs the
// action named by test.action=.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot, findKernel, section } from '../test/boot/qemu.ts';
import { makeExt4, makeGuestRoot } from '../test/boot/disks.ts';
import { median, memoryWithPcpMiB } from './stats.ts';

export const CLI = join(import.meta.dir, '../dist/mkruckus');
export const END = /=== end\n/;
/** Our /init's phases in the order it records them (stage2 is recorded even when it does nothing). */
export const PHASES = ['init', 'stage2', 'early', 'devices', 'mount', 'pre-pivot', 'switch_root'] as const;
export type Phase = (typeof PHASES)[number];

// The kernel's initramfs milestones. "Trying to unpack rootfs image as initramfs" is what a
// kernel with CONFIG_BLK_DEV_RAM prints (Debian's), "Unpacking initramfs" the others.
const UNPACK_START = ['Trying to unpack rootfs', 'Unpacking initramfs'];
const UNPACK_END = 'Freeing initrd memory';
const RUN_INIT = 'Run /init as init process';
/** Guest action `bench`: the milestones from the log buffer, so every image keeps a quiet console. */
export const DMESG_ACTION = `dmesg | grep -E '${[...UNPACK_START, UNPACK_END, RUN_INIT].join('|')}'`;
/**
 * Then MemAvailable and the pages on the per-CPU free lists (/proc/zoneinfo's `count:`), read by one
 * process right after each other: MemAvailable leaves those pages out, and how many freed pages
 * (the initramfs's, at switch_root) stay there differs from boot to boot by up to ~3 MiB.
 */
const MEMORY_MARK = '--- memory';
export const BENCH_ACTION = `${DMESG_ACTION}\necho '${MEMORY_MARK}'\ngrep -h -E '^MemAvailable:|^ +count:' /proc/meminfo /proc/zoneinfo`;

/** What one boot told us; undefined fields were not visible in that boot. */
export interface Sample {
  unpackMs?: number;
  runInitAt?: number;
  /** kernel uptime (s) when the root's /sbin/init printed its first line */
  rootInitAt: number;
  memAvailableMiB?: number;
  /**
   * MemAvailable plus the pages on the per-CPU free lists, read together after the root's init
   * printed: what MemAvailable would say with those lists drained, nearly the same on every boot.
   */
  memWithPcpMiB?: number;
  /** uptime (s) at which our /init entered each phase */
  phases: Partial<Record<Phase, number>>;
}

export interface Runs {
  samples: Sample[];
  failure?: string;
}

export interface BootConfig {
  name: string;
  initrd: string;
  /** kernel arguments besides the ones every boot gets (printk.time=1 test.action=bench) */
  append: string;
  disks: { file: string; readonly?: boolean }[];
  /** runs before every boot, e.g. to restore a disk the previous boot wrote to */
  beforeEach?: () => void;
}

export function locate(name: string): string | undefined {
  return Bun.which(name) ?? ['/usr/sbin', '/sbin', '/usr/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

/** The kernel every boot of this run uses (set by requireKernelAndCli). */
let benchVmlinuz: string | undefined;
/** QEMU arguments every boot of this run gets (set by runsAndTimeout from --clock). */
let benchQemuArgs: string[] = [];

/** The boot benchmarks' `--clock`: what the guest's clock (uptime, printk times) counts. */
export type Clock = 'real' | 'instructions';

/**
 * `--clock instructions`: the guest's clock counts instructions executed, 1 ns each, while it runs
 * (`-icount shift=0,sleep=on`: idle time, waiting on a device, still passes in real time). A boot's
 * numbers then no longer move with the host's load, and TCG's own costs (translating each new piece
 * of guest code, emulating the decompressor's instruction mix), which real hardware does not have,
 * drop out: what remains is the work the guest does. On an idle host the kernel's own start takes
 * about the same on both clocks. `real` (the default) is what a user waits on TCG.
 */
export function clockArgs(clock: Clock): string[] {
  return clock === 'instructions' ? ['-icount', 'shift=0,sleep=on'] : [];
}

/** The header's words for the clock of this run. */
export const clockLabel = (clock: Clock) => (clock === 'instructions' ? 'instruction clock (-icount shift=0)' : 'real time');

/**
 * The kernel to boot: the newest installed, or the one `prefix` (`--kernel`, e.g. `6.1`) names
 * uniquely, so runs on different days compare the same kernel when a newer one is installed.
 * Throws when it or the CLI is missing, since no row could be measured.
 */
export function requireKernelAndCli(prefix?: string): { version: string; vmlinuz: string } {
  let kernel = findKernel();
  if (prefix !== undefined) {
    const all = readdirSync('/lib/modules').filter((v) => existsSync(`/boot/vmlinuz-${v}`));
    // As mkruckus --kernel reads it: a prefix ends on a component boundary (6.1 never names 6.12).
    const hits = all.includes(prefix) ? [prefix] : all.filter((v) => v.startsWith(prefix) && /[.+-]/.test(v[prefix.length] ?? ''));
    if (hits.length !== 1) throw new Error(`--kernel ${prefix}: ${hits.length ? `ambiguous (${hits.join(', ')})` : `none of ${all.join(', ')}`}`);
    kernel = { version: hits[0]!, vmlinuz: `/boot/vmlinuz-${hits[0]}` };
  }
  if (!kernel) throw new Error('no kernel with modules in /lib/modules and a /boot/vmlinuz-*');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node_modules/.bin/bun run build\` first`);
  benchVmlinuz = kernel.vmlinuz;
  return kernel;
}

/**
 * The guest root tree at `dir` with the `bench` action, plus the os-release that systemd
 * (dracut's initrd) insists on before switching into a root.
 */
export function makeBenchTree(dir: string, token: string): void {
  makeGuestRoot(dir, token);
  addBenchAction(dir);
}

/** Gives a guest tree made elsewhere (e.g. makeLayerTrees' base) the `bench` action and an os-release. */
export function addBenchAction(tree: string): void {
  writeFileSync(join(tree, 'actions/bench'), `#!/bin/sh\n${BENCH_ACTION}\n`, { mode: 0o755 });
  writeFileSync(join(tree, 'etc/os-release'), 'NAME="mkruckus bench guest"\nID=mkruckus-bench\n');
}

/** The traditional root: an ext4 disk with the bench guest tree, returned as its image path. */
export function makeBenchRootDisk(dir: string, token: string): string {
  makeBenchTree(join(dir, 'tree'), token);
  const img = join(dir, 'root.img');
  makeExt4(join(dir, 'tree'), img);
  return img;
}

/** Timestamp (s) of the first dmesg line containing one of `texts`, e.g. "[    1.234567] text". */
export function dmesgTime(log: string, ...texts: string[]): number | undefined {
  const line = log.split('\n').find((l) => texts.some((t) => l.includes(t)));
  const m = line && /^\[\s*(\d+\.\d+)\]/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** Reads one boot's console; throws if the root's init did not demonstrably run. */
export function parseBoot(consoleText: string, token: string): Sample {
  if (section(consoleText, 'token').trim() !== token) throw new Error('root /sbin/init never ran');
  const uptime = Number(section(consoleText, 'uptime').trim().split(/\s+/)[0]);
  const [dmesg = '', memory = ''] = section(consoleText, 'action').split(`${MEMORY_MARK}\n`);
  const unpackStart = dmesgTime(dmesg, ...UNPACK_START);
  const unpackEnd = dmesgTime(dmesg, UNPACK_END);
  const mem = /MemAvailable:\s+(\d+) kB/.exec(section(consoleText, 'meminfo'));
  const phases: Sample['phases'] = {};
  for (const line of section(consoleText, 'timings').trim().split('\n')) {
    const [phase, at] = line.split(' ');
    if ((PHASES as readonly string[]).includes(phase ?? '')) phases[phase as Phase] = Number(at);
  }
  return {
    unpackMs: unpackStart !== undefined && unpackEnd !== undefined ? (unpackEnd - unpackStart) * 1000 : undefined,
    runInitAt: dmesgTime(dmesg, RUN_INIT),
    rootInitAt: uptime,
    memAvailableMiB: mem ? Number(mem[1]) / 1024 : undefined,
    memWithPcpMiB: memoryWithPcpMiB(memory),
    phases,
  };
}

/** One boot of `cfg`; throws with what went wrong when the root's init did not report. */
async function bootOnce(cfg: BootConfig, token: string, timeoutMs: number, label: string): Promise<Sample> {
  cfg.beforeEach?.();
  const started = performance.now();
  const r = await boot({
    initrd: cfg.initrd,
    // printk.time=1: the dmesg milestones need timestamps (Debian enables them, others may not).
    append: `${cfg.append} printk.time=1 test.action=bench`.trim(),
    disks: cfg.disks,
    vmlinuz: benchVmlinuz,
    qemuArgs: benchQemuArgs,
    until: END,
    timeoutMs,
  });
  const wall = ((performance.now() - started) / 1000).toFixed(1);
  try {
    const sample = parseBoot(r.console, token);
    console.error(`  ${cfg.name} ${label}: ok (${wall} s wall)`);
    return sample;
  } catch (e) {
    const failure = r.timedOut ? `failed (no root init within ${timeoutMs / 1000} s)` : `failed (${(e as Error).message})`;
    console.error(`  ${cfg.name} ${label}: ${failure}; console tail:\n${r.console.slice(-1500)}`);
    throw new Error(failure);
  }
}

/**
 * Boots one configuration `runs` times, one VM at a time: with 2 host cores, two TCG guests at
 * once would slow each other down. The first failed boot ends the series, since retrying a
 * broken image would only burn the time budget.
 */
export async function bootRuns(cfg: BootConfig, token: string, runs: number, timeoutMs: number): Promise<Runs> {
  return (await bootRoundRobin([cfg], token, runs, timeoutMs))[0]!;
}

/**
 * Boots every configuration `runs` times, round-robin rather than one after the other, so a
 * drift in host load (TCG speed varies by tens of percent) spreads over all rows instead of
 * favouring some. One VM at a time; a configuration's first failure retires it.
 */
export async function bootRoundRobin(cfgs: BootConfig[], token: string, runs: number, timeoutMs: number): Promise<Runs[]> {
  const out: Runs[] = cfgs.map(() => ({ samples: [] }));
  for (let i = 0; i < runs; i++) {
    for (const [j, cfg] of cfgs.entries()) {
      if (out[j]!.failure) continue;
      try {
        out[j]!.samples.push(await bootOnce(cfg, token, timeoutMs, `boot ${i + 1}/${runs}`));
      } catch (e) {
        out[j]!.failure = (e as Error).message;
      }
    }
  }
  return out;
}

/** Seconds from entering `phase` to entering the next one; the last phase lasts until the root's init. */
export function phaseSeconds(s: Sample, phase: Phase): number | undefined {
  const start = s.phases[phase];
  const next = PHASES[PHASES.indexOf(phase) + 1];
  const end = next === undefined ? s.rootInitAt : s.phases[next];
  return start === undefined || end === undefined ? undefined : end - start;
}

/** Seconds between two recorded phases of one boot. */
export function spanSeconds(s: Sample, from: Phase, to: Phase): number | undefined {
  const a = s.phases[from];
  const b = s.phases[to];
  return a === undefined || b === undefined ? undefined : b - a;
}

export { median };

export const fmt = (x: number | undefined, digits: number, unit = '') => (x === undefined ? '–' : `${x.toFixed(digits)}${unit}`);
/** Seconds shown as milliseconds, the unit the initramfs phases are compared in. */
export const ms = (seconds: number | undefined) => fmt(seconds === undefined ? undefined : seconds * 1000, 0, ' ms');
/** A difference in seconds shown as signed milliseconds. */
export const signedMs = (s: number | undefined) => (s === undefined ? '–' : `${s >= 0 ? '+' : ''}${(s * 1000).toFixed(0)} ms`);
export const mib = (bytes: number | undefined) => fmt(bytes === undefined ? undefined : bytes / 2 ** 20, 1, ' MiB');

/** Prints a markdown table. */
export function table(header: string[], rows: string[][]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.map((c) => c.replaceAll('|', '/')).join(' | ')} |`);
}

/** The options every boot benchmark takes, for node:util parseArgs. */
export const BOOT_OPTIONS = {
  runs: { type: 'string', default: '3' },
  timeout: { type: 'string', default: '120' },
  kernel: { type: 'string' },
  clock: { type: 'string', default: 'real' },
} as const;

/** Checks --runs, --timeout and --clock, and makes every boot of this run use that clock. */
export function runsAndTimeout(values: { runs?: string; timeout?: string; clock?: string }): { runs: number; timeoutMs: number; clock: Clock } {
  const runs = Number(values.runs);
  const timeoutMs = Number(values.timeout) * 1000;
  const clock = values.clock ?? 'real';
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, got ${values.runs}`);
  if (!(timeoutMs > 0)) throw new Error(`--timeout wants a positive number of seconds, got ${values.timeout}`);
  if (clock !== 'real' && clock !== 'instructions') throw new Error(`--clock wants real or instructions, got ${clock}`);
  benchQemuArgs = clockArgs(clock);
  return { runs, timeoutMs, clock };
}

/** "median (min–max)" in ms, so a reader sees how far three boots disagree. */
export function msSpread(xs: (number | undefined)[]): string {
  const s = xs.filter((x): x is number => x !== undefined && !Number.isNaN(x));
  if (!s.length) return '–';
  const lo = Math.min(...s) * 1000;
  const hi = Math.max(...s) * 1000;
  return `${ms(median(s))} (${lo.toFixed(0)}–${hi.toFixed(0)})`;
}
