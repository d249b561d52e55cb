// SPDX-License-Identifier: GPL-2.0-or-later
// Boot-phase benchmark: the same ext4 root booted in QEMU (TCG) through a mkruckus image,
// Debian's own initramfs-tools image (/boot/initrd.img-KVER) and a generic dracut image.
//
//   bun bench/boot.ts [--runs N] [--timeout SECONDS]    (default 3 boots per image, 120 s each)
//
// The root is the test suite's guest (static busybox + test/boot/guest/init.sh), which prints
// /proc/uptime, our /run/ruckusrd/timings and MemAvailable as soon as the root's /sbin/init
// runs. Its `bench` action adds the kernel's own initramfs milestones from dmesg, read from
// the log buffer instead of the console so every image boots with the same (quiet) console.
// TCG is several times slower than hardware: compare the rows, not the absolute numbers.
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { boot, findKernel, section } from '../test/boot/qemu.ts';
import { makeExt4, makeGuestRoot, randomToken, run, tempDir } from '../test/boot/disks.ts';

const CLI = join(import.meta.dir, '../dist/mkruckus');
const END = /=== end\n/;
const PHASES = ['init', 'early', 'devices', 'mount', 'pre-pivot', 'switch_root'] as const;
const DMESG_ACTION = "dmesg | grep -E 'Trying to unpack rootfs|Freeing initrd memory|Run /init as init process'";

interface Image {
  name: string;
  /** the image file, or why there is none */
  file?: string;
  missing?: string;
  /** bytes, taken before the temporary directory goes away */
  size?: number;
  /** builder-specific kernel arguments, on top of the shared root= */
  append: string;
}

/** What one boot told us; undefined fields were not visible in that boot. */
interface Sample {
  unpackMs?: number;
  runInitAt?: number;
  rootInitAt: number;
  memAvailableMiB?: number;
  phases: Partial<Record<(typeof PHASES)[number], number>>;
}

interface Outcome {
  image: Image;
  samples: Sample[];
  failure?: string;
}

function locate(name: string): string | undefined {
  return Bun.which(name) ?? ['/usr/sbin', '/sbin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

/** The three images under test; a peer that is absent is reported, not fatal. */
function prepareImages(dir: string, kver: string): Image[] {
  const ours = join(dir, 'mkruckus.img');
  run([CLI, '--kernel', kver, '--force', ours]);
  const debian = `/boot/initrd.img-${kver}`;
  const dracut = locate('dracut');
  let dracutImage: Image = { name: 'dracut --no-hostonly', append: '', missing: 'not installed' };
  if (dracut) {
    const out = join(dir, 'dracut.img');
    console.error('building the dracut image (about a minute)…');
    try {
      run([dracut, '--no-hostonly', '--kver', kver, '--force', out]);
      // rd.emergency=poweroff: a failed boot ends the VM instead of waiting in an emergency
      // shell until our timeout; rd.shell=0 likewise keeps it from offering a shell.
      dracutImage = { ...dracutImage, file: out, missing: undefined, append: 'rd.shell=0 rd.emergency=poweroff' };
    } catch (e) {
      dracutImage.missing = `build failed: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  const images: Image[] = [
    { name: 'mkruckus', file: ours, append: '' },
    existsSync(debian)
      ? { name: 'initramfs-tools (Debian /boot/initrd.img)', file: debian, append: '' }
      : { name: 'initramfs-tools (Debian /boot/initrd.img)', missing: `no ${debian}`, append: '' },
    dracutImage,
  ];
  return images.map((i) => (i.file ? { ...i, size: statSync(i.file).size } : i));
}

/** Timestamp (s) of the first dmesg line containing `text`, e.g. "[    1.234567] text". */
function dmesgTime(log: string, text: string): number | undefined {
  const line = log.split('\n').find((l) => l.includes(text));
  const m = line && /^\[\s*(\d+\.\d+)\]/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** Reads one boot's console; throws if the root's init did not demonstrably run. */
function parseBoot(consoleText: string, token: string): Sample {
  if (section(consoleText, 'token').trim() !== token) throw new Error('root /sbin/init never ran');
  const uptime = Number(section(consoleText, 'uptime').trim().split(/\s+/)[0]);
  const dmesg = section(consoleText, 'action');
  const unpackStart = dmesgTime(dmesg, 'Trying to unpack rootfs');
  const unpackEnd = dmesgTime(dmesg, 'Freeing initrd memory');
  const mem = /MemAvailable:\s+(\d+) kB/.exec(section(consoleText, 'meminfo'));
  const phases: Sample['phases'] = {};
  for (const line of section(consoleText, 'timings').trim().split('\n')) {
    const [phase, at] = line.split(' ');
    if ((PHASES as readonly string[]).includes(phase ?? '')) phases[phase as (typeof PHASES)[number]] = Number(at);
  }
  return {
    unpackMs: unpackStart !== undefined && unpackEnd !== undefined ? (unpackEnd - unpackStart) * 1000 : undefined,
    runInitAt: dmesgTime(dmesg, 'Run /init as init process'),
    rootInitAt: uptime,
    memAvailableMiB: mem ? Number(mem[1]) / 1024 : undefined,
    phases,
  };
}

async function bootImage(image: Image, rootImg: string, token: string, runs: number, timeoutMs: number): Promise<Outcome> {
  const outcome: Outcome = { image, samples: [] };
  if (!image.file) return { ...outcome, failure: image.missing };
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const r = await boot({
      initrd: image.file,
      // printk.time=1: the dmesg milestones need timestamps (Debian enables them, others may not).
      append: `root=/dev/vda printk.time=1 test.action=bench ${image.append}`.trim(),
      disks: [{ file: rootImg }],
      until: END,
      timeoutMs,
    });
    const wall = ((performance.now() - started) / 1000).toFixed(1);
    try {
      outcome.samples.push(parseBoot(r.console, token));
      console.error(`  ${image.name} boot ${i + 1}/${runs}: ok (${wall} s wall)`);
    } catch (e) {
      // One failed boot is enough: retrying a broken image would only burn the time budget.
      outcome.failure = r.timedOut ? `failed (no root init within ${timeoutMs / 1000} s)` : `failed (${(e as Error).message})`;
      console.error(`  ${image.name} boot ${i + 1}/${runs}: ${outcome.failure}; console tail:\n${r.console.slice(-1500)}`);
      break;
    }
  }
  return outcome;
}

function median(xs: (number | undefined)[]): number | undefined {
  const s = xs.filter((x): x is number => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (x: number | undefined, digits: number, unit = '') => (x === undefined ? '–' : `${x.toFixed(digits)}${unit}`);

function summaryTable(outcomes: Outcome[]): void {
  console.log('| initramfs | image size | boots | initrd unpack | kernel runs /init at | root /sbin/init at | time in initramfs | MemAvailable at root init |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const o of outcomes) {
    const size = o.image.size === undefined ? '' : `${(o.image.size / 2 ** 20).toFixed(1)} MiB`;
    if (o.failure && !o.samples.length) {
      console.log(`| ${o.image.name} | ${size} | ${o.failure} | | | | | |`);
      continue;
    }
    const s = o.samples;
    const inInitramfs = median(s.map((x) => (x.runInitAt === undefined ? undefined : x.rootInitAt - x.runInitAt)));
    const boots = `${s.length}${o.failure ? ` (then ${o.failure})` : ''}`;
    console.log(`| ${o.image.name} | ${size} | ${boots} | ${fmt(median(s.map((x) => x.unpackMs)), 0, ' ms')} | ` +
      `${fmt(median(s.map((x) => x.runInitAt)), 2, ' s')} | ${fmt(median(s.map((x) => x.rootInitAt)), 2, ' s')} | ` +
      `${fmt(inInitramfs, 2, ' s')} | ${fmt(median(s.map((x) => x.memAvailableMiB)), 0, ' MiB')} |`);
  }
}

/** Our /init's phases as durations: each phase lasts until the next one starts; the last until the root's init. */
function phaseTable(ours: Outcome): void {
  if (!ours.samples.length) return;
  const spans = [...PHASES.map((p, i) => [p, PHASES[i + 1] ?? 'root init'] as const)];
  const end = (x: Sample, p: string) => (p === 'root init' ? x.rootInitAt : x.phases[p as (typeof PHASES)[number]]);
  console.log('\n## mkruckus /init phases (median of the boots, from /run/ruckusrd/timings)\n');
  console.log('| phase | starts at (uptime) | lasts |');
  console.log('|---|---|---|');
  for (const [from, to] of spans) {
    const startsAt = median(ours.samples.map((x) => x.phases[from]));
    const lasts = median(ours.samples.map((x) => {
      const a = x.phases[from];
      const b = end(x, to);
      return a === undefined || b === undefined ? undefined : b - a;
    }));
    console.log(`| ${from}${to === 'root init' ? ' → root /sbin/init' : ''} | ${fmt(startsAt, 2, ' s')} | ${fmt(lasts === undefined ? undefined : lasts * 1000, 0, ' ms')} |`);
  }
  const total = median(ours.samples.map((x) => (x.phases.init === undefined ? undefined : x.rootInitAt - x.phases.init)));
  console.log(`| **/init start → root /sbin/init** | | **${fmt(total === undefined ? undefined : total * 1000, 0, ' ms')}** |`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, timeout: { type: 'string', default: '120' } },
  });
  const runs = Number(values.runs);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, got ${values.runs}`);
  const kernel = findKernel();
  if (!kernel) throw new Error('no kernel with modules in /lib/modules and a /boot/vmlinuz-*');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node_modules/.bin/bun run build\` first`);

  const dir = tempDir('bench-boot');
  const token = randomToken();
  makeGuestRoot(join(dir, 'tree'), token, { bench: DMESG_ACTION });
  // systemd (dracut's initrd) refuses to switch_root into a tree without an os-release file.
  writeFileSync(join(dir, 'tree/etc/os-release'), 'NAME="mkruckus bench guest"\nID=mkruckus-bench\n');
  const rootImg = join(dir, 'root.img');
  // Mounted read-only by every initramfs (no `rw`), so all boots see the same untouched disk.
  makeExt4(join(dir, 'tree'), rootImg);
  const outcomes: Outcome[] = [];
  try {
    const images = prepareImages(dir, kernel.version);
    // Sequential: with 2 host cores, two TCG guests at once would slow each other down.
    for (const image of images) outcomes.push(await bootImage(image, rootImg, token, runs, timeoutMs));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`## Boot phases, kernel ${kernel.version}, QEMU TCG -m 512 -smp 1, median of ${runs} boot(s)\n`);
  summaryTable(outcomes);
  phaseTable(outcomes[0]!);
}

await main();
