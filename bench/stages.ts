// SPDX-License-Identifier: GPL-2.0-or-later
// Two-stage benchmark: the same generic content (`--add storage-all`: every storage and
// filesystem driver of the kernel, the available firmware, as dracut --no-hostonly has) laid out
// as one cpio, as a cpio embedding an erofs or squashfs second stage, and as a small cpio whose
// erofs second stage sits on a boot disk, read through dm-verity (lazily, block by block) or checked
// whole by its sha256 before it is mounted (`--omit stage2-verity`).
//
//   bun bench/stages.ts [--runs N] [--timeout SECONDS] [--only TEXT] [--kernel VER] [--clock real|instructions]
//   (default 3 boots per layout, 120 s each; --only: the layouts whose name contains TEXT)
//
// Every layout boots the same traditional ext4 root (/dev/vda) in QEMU (TCG). The kernel's own
// log gives the initramfs unpack time; the guest's init gives the uptime and MemAvailable when
// the root's /sbin/init starts; /run/ruckusrd/timings gives the stage2 phase of our /init.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeExt4, randomToken, run, tempDir } from '../test/boot/disks.ts';
import {
  BOOT_OPTIONS, type BootConfig, clockLabel, bootRoundRobin, CLI, fmt, makeBenchRootDisk, median, mib, ms, msSpread, PHASES, phaseSeconds,
  requireKernelAndCli, type Runs, runsAndTimeout, type Sample, signedMs, spanSeconds, table,
} from './lib.ts';

/** Targets: /boot placement unpacks at least this much faster than the single cpio. */
const TARGET_UNPACK_CUT = 0.8;
const STAGE2_PATH = '/boot/initrd.stage2';

interface Layout {
  name: string;
  /** extra mkruckus arguments */
  args: string[];
  /** the second stage is a file beside the image, to be put on a boot disk */
  onBootDisk?: boolean;
}

const LAYOUTS: Layout[] = [
  { name: 'single cpio (default)', args: [] },
  { name: 'embedded erofs', args: ['--second-stage', 'erofs'] },
  { name: 'embedded squashfs', args: ['--second-stage', 'squashfs'] },
  { name: '/boot erofs, dm-verity', args: ['--second-stage', 'erofs', '--second-stage-placement', 'boot'], onBootDisk: true },
  { name: '/boot erofs, sha256', args: ['--second-stage', 'erofs', '--second-stage-placement', 'boot', '--omit', 'stage2-verity'], onBootDisk: true },
];

interface Built {
  layout: Layout;
  cfg: BootConfig;
  firstStage: number;
  /** bytes the kernel writes into the rootfs: what the unpack time follows, more than `firstStage` */
  unpacked?: number;
  total: number;
}

interface Row extends Built {
  runs: Runs;
}

/** An ext4 disk holding `file` as /boot/initrd.stage2, as a boot partition would. */
function makeBootDisk(dir: string, file: string, name: string): string {
  const top = join(dir, `bootdisk-${name}`);
  mkdirSync(join(top, 'boot'), { recursive: true });
  copyFileSync(file, join(top, STAGE2_PATH));
  const disk = join(dir, `bootdisk-${name}.img`);
  makeExt4(top, disk);
  return disk;
}

/** The first stage's uncompressed size, from our own `inspect`; undefined if it cannot say. */
function unpackedSize(img: string): number | undefined {
  try {
    const json = JSON.parse(run([CLI, 'inspect', '--json', img])) as { segments: { uncompressedSize?: number }[] };
    return json.segments.reduce((n, seg) => n + (seg.uncompressedSize ?? 0), 0);
  } catch {
    return undefined;
  }
}

/** Builds one layout and says how to boot it on the shared root disk. */
function build(dir: string, kver: string, layout: Layout, rootImg: string, index: number): Built {
  const out = join(dir, `layout${index}.img`);
  run([CLI, '--kernel', kver, '--force', '--add', 'storage-all', ...layout.args, out]);
  // Named by its content: OUT.stage2-HASH.
  const named = readdirSync(dir).find((n) => n.startsWith(`layout${index}.img.stage2-`));
  const stage2 = join(dir, named ?? `layout${index}.img.stage2`);
  const firstStage = statSync(out).size;
  const total = firstStage + (layout.onBootDisk && existsSync(stage2) ? statSync(stage2).size : 0);
  const cfg: BootConfig = { name: layout.name, initrd: out, append: 'root=/dev/vda', disks: [{ file: rootImg }] };
  if (layout.onBootDisk) {
    cfg.disks.push({ file: makeBootDisk(dir, stage2, `layout${index}`) });
    cfg.append += ` stage2_dev=/dev/vdb stage2_path=${STAGE2_PATH}`;
  }
  return { layout, cfg, firstStage, unpacked: unpackedSize(out), total };
}

const medianOf = (r: Row, f: (s: Sample) => number | undefined) => median(r.runs.samples.map(f));

function layoutTable(rows: Row[]): void {
  table([
    'layout', 'first stage (OUT)', 'first stage unpacked', 'total (OUT + /boot file)', 'boots', 'initramfs unpack', 'kernel start → root /sbin/init',
    'stage2 phase, median (min–max)', 'MemAvailable at root init',
  ], rows.map((r) => {
    const s = r.runs.samples;
    return [
      r.layout.name, mib(r.firstStage), mib(r.unpacked), mib(r.total), `${s.length}${r.runs.failure ? ` (then ${r.runs.failure})` : ''}`,
      fmt(medianOf(r, (x) => x.unpackMs), 0, ' ms'), fmt(medianOf(r, (x) => x.rootInitAt), 2, ' s'),
      msSpread(s.map((x) => phaseSeconds(x, 'stage2'))), fmt(medianOf(r, (x) => x.memAvailableMiB), 1, ' MiB'),
    ];
  }));
}

/** Our /init's phases per layout: where the second stage's cost lands, and what it saves later. */
function phaseTable(rows: Row[]): void {
  console.log('\n## /init phases per layout, medians (from /run/ruckusrd/timings, 10 ms resolution)\n');
  const header = ['layout', 'kernel runs /init at', ...PHASES.map((p) => (p === 'switch_root' ? 'switch_root → root init' : p))];
  table([...header, '/init start → switch_root'], rows.map((r) => [
    r.layout.name,
    fmt(medianOf(r, (x) => x.runInitAt), 2, ' s'),
    ...PHASES.map((p) => ms(medianOf(r, (x) => phaseSeconds(x, p)))),
    ms(medianOf(r, (x) => spanSeconds(x, 'init', 'switch_root'))),
  ]));
}

/** Each two-stage layout against the single cpio, with the targets' verdicts. */
function comparisonTable(rows: Row[]): void {
  const [single, ...others] = rows;
  if (!single || single.layout !== LAYOUTS[0] || !single.runs.samples.length) return;
  const unpack = (r: Row) => medianOf(r, (x) => x.unpackMs);
  const mem = (r: Row) => medianOf(r, (x) => x.memAvailableMiB);
  const root = (r: Row) => medianOf(r, (x) => x.rootInitAt);
  const u0 = unpack(single);
  const m0 = mem(single);
  const r0 = root(single);
  console.log('\n## Against the single cpio (medians)\n');
  table(['layout', 'unpack time cut', 'MemAvailable difference', 'root /sbin/init difference', 'targets'], others.map((r) => {
    const u = unpack(r);
    const m = mem(r);
    const t = root(r);
    const cut = u === undefined || !u0 ? undefined : 1 - u / u0;
    const memDiff = m === undefined || m0 === undefined ? undefined : m - m0;
    const verdicts = [memDiff === undefined ? 'more MemAvailable: not measured' : `more MemAvailable: ${memDiff > 0 ? 'met' : 'NOT met'}`];
    if (r.layout.onBootDisk) {
      const target = `unpack cut ≥${TARGET_UNPACK_CUT * 100} %`;
      verdicts.unshift(cut === undefined ? `${target}: not measured` : `${target}: ${cut >= TARGET_UNPACK_CUT ? 'met' : 'NOT met'}`);
    }
    return [
      r.layout.name,
      fmt(cut === undefined ? undefined : cut * 100, 0, ' %'),
      memDiff === undefined ? '–' : `${memDiff >= 0 ? '+' : ''}${memDiff.toFixed(1)} MiB`,
      signedMs(t === undefined || r0 === undefined ? undefined : t - r0),
      verdicts.join('; '),
    ];
  }));
}

/** The /boot second stage's phase read through dm-verity against its sha256 checked whole. */
function verityTable(rows: Row[]): void {
  const verity = rows.find((r) => r.layout.name.endsWith('dm-verity'));
  const sha = rows.find((r) => r.layout.name.endsWith('sha256'));
  if (!verity?.runs.samples.length || !sha?.runs.samples.length) return;
  const phase = (r: Row) => medianOf(r, (x) => phaseSeconds(x, 'stage2'));
  const [v, h] = [phase(verity), phase(sha)];
  console.log('\n## /boot second stage: dm-verity against a whole-file sha256 (stage2 phase, medians)\n');
  table(['check', 'stage2 phase', 'root /sbin/init at', 'difference'], [
    [sha.layout.name, ms(h), fmt(medianOf(sha, (x) => x.rootInitAt), 2, ' s'), ''],
    [verity.layout.name, ms(v), fmt(medianOf(verity, (x) => x.rootInitAt), 2, ' s'), signedMs(v === undefined || h === undefined ? undefined : v - h)],
  ]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { ...BOOT_OPTIONS, only: { type: 'string' } } });
  const { runs, timeoutMs, clock } = runsAndTimeout(values);
  const kernel = requireKernelAndCli(values.kernel);
  const dir = tempDir('bench-stages');
  const token = randomToken();
  const rows: Row[] = [];
  try {
    // Mounted read-only by every layout (no `rw`), so all boots see the same untouched disk.
    const rootImg = makeBenchRootDisk(dir, token);
    const layouts = LAYOUTS.filter((l) => values.only === undefined || l.name.includes(values.only));
    const built = layouts.map((layout, i) => build(dir, kernel.version, layout, rootImg, i));
    const results = await bootRoundRobin(built.map((b) => b.cfg), token, runs, timeoutMs);
    built.forEach((b, i) => rows.push({ ...b, runs: results[i]! }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`## Initramfs layouts, kernel ${kernel.version}, QEMU TCG -m 512 -smp 1, ${clockLabel(clock)}, median of ${runs} boot(s)\n`);
  console.log('TCG is several times slower than hardware: compare the rows, not the absolute numbers.\n');
  layoutTable(rows);
  phaseTable(rows);
  comparisonTable(rows);
  verityTable(rows);
}

await main();
