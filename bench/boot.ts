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
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { run, randomToken, tempDir } from '../test/boot/disks.ts';
import {
  bootRuns, CLI, fmt, locate, makeBenchRootDisk, median, PHASES, phaseSeconds, requireKernelAndCli, runsAndTimeout,
  type Sample,
} from './lib.ts';

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

interface Outcome {
  image: Image;
  samples: Sample[];
  failure?: string;
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

async function bootImage(image: Image, rootImg: string, token: string, runs: number, timeoutMs: number): Promise<Outcome> {
  if (!image.file) return { image, samples: [], failure: image.missing };
  const cfg = { name: image.name, initrd: image.file, append: `root=/dev/vda ${image.append}`, disks: [{ file: rootImg }] };
  return { image, ...(await bootRuns(cfg, token, runs, timeoutMs)) };
}

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
  console.log('\n## mkruckus /init phases (median of the boots, from /run/ruckusrd/timings)\n');
  console.log('| phase | starts at (uptime) | lasts |');
  console.log('|---|---|---|');
  for (const phase of PHASES) {
    const startsAt = median(ours.samples.map((x) => x.phases[phase]));
    const lasts = median(ours.samples.map((x) => phaseSeconds(x, phase)));
    const label = phase === PHASES.at(-1) ? `${phase} → root /sbin/init` : phase;
    console.log(`| ${label} | ${fmt(startsAt, 2, ' s')} | ${fmt(lasts === undefined ? undefined : lasts * 1000, 0, ' ms')} |`);
  }
  const total = median(ours.samples.map((x) => (x.phases.init === undefined ? undefined : x.rootInitAt - x.phases.init)));
  console.log(`| **/init start → root /sbin/init** | | **${fmt(total === undefined ? undefined : total * 1000, 0, ' ms')}** |`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, timeout: { type: 'string', default: '120' } },
  });
  const { runs, timeoutMs } = runsAndTimeout(values);
  const kernel = requireKernelAndCli();

  const dir = tempDir('bench-boot');
  const token = randomToken();
  // Mounted read-only by every initramfs (no `rw`), so all boots see the same untouched disk.
  const rootImg = makeBenchRootDisk(dir, token);
  const outcomes: Outcome[] = [];
  try {
    const images = prepareImages(dir, kernel.version);
    for (const image of images) outcomes.push(await bootImage(image, rootImg, token, runs, timeoutMs));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`## Boot phases, kernel ${kernel.version}, QEMU TCG -m 512 -smp 1, median of ${runs} boot(s)\n`);
  summaryTable(outcomes);
  phaseTable(outcomes[0]!);
}

await main();
