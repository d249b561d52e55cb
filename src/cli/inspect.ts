// SPDX-License-Identifier: GPL-2.0-or-later
// `mkruckus inspect IMG`: what an image holds, per segment, plus the kernel modules and boot hooks
// in it (booster's `ls`, lsinitcpio, lsinitrd). Reading is in src/archive/read.ts; this only renders.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { readImageFile, type ImageEntry, type ImageEntryType, type ImageSegment } from '../archive/read.ts';
import { existsSync, readdirSync } from 'node:fs';
import { IMAGE_MODULE_PATH } from '../core/kmod.ts';
import { renderRecordLines, type BuildRecord } from '../core/record.ts';
import { readSecondStage, type SecondStageReport } from '../host/inspect-stage2.ts';
import { UserError, warn } from '../log.ts';
import { catPath, diffImageFiles, extractTree, hostonlyOf, readTree, recordOf, reportOf } from './inspect-tools.ts';
import { HOSTONLY_PATH } from '../host/hostonly.ts';
import type { BuildReport } from '../host/report.ts';
import { readUkiFile } from '../host/uki-read.ts';
import { renderUkiReport, type UkiReport } from '../uki/read.ts';

export interface InspectOptions {
  json?: boolean;
  /** from the embedded report: a kernel module's path under /lib/modules/KVER → its reason */
  reasons?: Map<string, string>;
}

const TYPE_CHARS: Record<ImageEntryType, string> = {
  file: '-',
  dir: 'd',
  symlink: 'l',
  char: 'c',
  block: 'b',
  fifo: 'p',
  socket: 's',
};

// Under /lib or /usr/lib (merged-/usr images keep modules below /usr/lib, reached through a symlink).
const HOOK_RE = /^(\/usr)?\/lib\/ruckusrd\/hooks\//;
const MODULES_DIR_RE = /^(\/usr)?\/lib\/modules\/[^/]+\//;

export function renderInspect(segments: readonly ImageSegment[], opts: InspectOptions = {}, stage2?: SecondStageReport, uki?: UkiReport): string {
  // The second stage's files count as one more layer of the tree (it is laid over the first at boot).
  const all = stage2 ? [...segments, { entries: stage2.entries } as ImageSegment] : segments;
  const modules = listPaths(all, (e) => e.type === 'file' && IMAGE_MODULE_PATH.test(e.path));
  const hooks = listPaths(all, (e) => e.type !== 'dir' && HOOK_RE.test(e.path));
  if (opts.json) {
    // File contents (present only when the caller asked readImage for them) do not belong in a listing.
    const plain = segments.map((s) => ({ ...s, entries: s.entries.map(({ data: _data, ...rest }) => rest) }));
    // JSON.stringify escapes C0 but leaves DEL and C1 (0x9b is a CSI on 8-bit terminals) raw.
    const json = JSON.stringify({ uki, segments: plain, secondStage: stage2, kernelModules: modules, hooks }, null, 2);
    return json.replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
  }
  // A UKI's own parts first; its initramfs is then listed like any image.
  const lines: string[] = uki ? renderUkiReport(uki) : [];
  segments.forEach((segment, i) => {
    lines.push(renderSegmentTitle(segment, i + 1));
    for (const entry of segment.entries) lines.push('  ' + renderEntry(entry));
    lines.push('');
  });
  if (stage2) {
    lines.push(`${stage2.summary}, ${stage2.entries.length} entries`);
    for (const entry of stage2.entries) lines.push('  ' + renderEntry(entry));
    lines.push('');
  }
  const why = (p: string) => {
    const reason = opts.reasons?.get(p.replace(MODULES_DIR_RE, ''));
    return reason === undefined ? '' : `  (${reason})`;
  };
  lines.push(`kernel modules (${modules.length}):`, ...modules.map((p) => `  ${p}${why(p)}`), '');
  lines.push(`hooks (${hooks.length}):`, ...hooks.map((p) => `  ${p}`));
  // Names and UKI texts come from the image: a newline would forge lines, an ESC drive the terminal.
  return lines.map(escapeControls).join('\n') + '\n';
}

/**
 * Control characters (C0, DEL, C1) as `\xNN`, as `ls -b` does: one entry is one line, and nothing
 * in a name reaches the terminal as a command. JSON output escapes by itself.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function renderSegmentTitle(s: ImageSegment, n: number): string {
  const sizes =
    s.compression === 'none'
      ? `uncompressed cpio, ${formatSize(s.uncompressedSize)}`
      : `${s.compression}, ${formatSize(s.compressedSize)} compressed, ${formatSize(s.uncompressedSize)} uncompressed`;
  const toEnd = s.exactEnd ? '' : ' (its end is not recorded in the format: assumed to run to the end of the file)';
  return `segment ${n} at offset ${s.offset}: ${sizes}, ${s.entries.length} entries${toEnd}`;
}

/** One `ls -l`-like line: type, octal mode, size (or major, minor), path, symlink target. */
export function renderEntry(e: ImageEntry): string {
  const size = e.type === 'char' || e.type === 'block' ? `${e.major ?? 0}, ${e.minor ?? 0}` : String(e.size);
  const target = e.type === 'symlink' ? ` -> ${e.target ?? ''}` : '';
  return `${TYPE_CHARS[e.type]} ${e.mode.toString(8).padStart(4, '0')} ${size.padStart(10)} ${e.path}${target}`;
}

/** Matching paths over all segments, once each: a later segment's entry replaces an earlier one at boot. */
function listPaths(segments: readonly ImageSegment[], keep: (e: ImageEntry) => boolean): string[] {
  const paths = new Set<string>();
  for (const segment of segments) for (const e of segment.entries) if (keep(e)) paths.add(e.path);
  return [...paths].sort();
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

interface InspectArgs {
  image: string;
  other?: string;
  json?: boolean;
  extract?: string;
  cat?: string;
  diff?: boolean;
}

function builder(y: Argv): Argv<InspectArgs> {
  return y
    .positional('image', { type: 'string', describe: 'the initramfs image (or unified kernel image) to read', demandOption: true })
    .positional('other', { type: 'string', describe: 'with --diff: the newer image' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of text' })
    .option('extract', { type: 'string', requiresArg: true, describe: 'write every file of the image (both stages) under DIR' })
    .option('cat', { type: 'string', requiresArg: true, describe: 'print the file at PATH in the image' })
    .option('diff', { type: 'boolean', default: false, describe: 'inspect --diff OLD NEW: what changed between two images' }) as unknown as Argv<InspectArgs>;
}

export const inspectCommand: CommandModule<{}, InspectArgs> = {
  command: 'inspect <image> [other]',
  describe: 'list the segments, files, kernel modules and hooks of an initramfs image or a UKI (its sections, cmdline, signature)',
  builder,
  handler: async (args: ArgumentsCamelCase<InspectArgs>) => {
    // readImageFile turns a missing file or a non-initramfs into a one-line UserError.
    const uki = await readUkiFile(args.image);
    const segments = uki ? uki.segments : await readImageFile(args.image, { data: true });
    if (args.diff || args.other !== undefined) return inspectDiff(args);
    if (args.cat !== undefined) return void (await writeStdout(catPath(await readTree(args.image, segments), args.cat)));
    if (args.extract !== undefined) return inspectExtract(args.image, args.extract, segments);
    const stage2 = await readSecondStage(args.image, segments);
    const first = segments.flatMap((s) => s.entries);
    const record = recordOf(first);
    const report = reportOf(first);
    const hostonly = await hostonlyIn(args.image, segments, stage2);
    const listing = renderInspect(segments, { json: args.json, reasons: reasonsOf(report) }, stage2, uki?.report);
    await writeStdout(args.json ? `${JSON.stringify({ record, hostonly, report, ...JSON.parse(listing) }, null, 2)}\n` : withRecord(listing, record, hostonly));
    // A listing is not a verdict: a missing or altered second stage means the image cannot boot.
    if (stage2?.problems.length) throw new UserError(`${args.image}: ${stage2.problems[0]}`);
  },
};

/** The --hostonly record: in the first stage, or (two stages) in the second, read only then. */
async function hostonlyIn(image: string, segments: readonly ImageSegment[], stage2: SecondStageReport | undefined): Promise<string[] | undefined> {
  const first = hostonlyOf(segments.flatMap((s) => s.entries));
  if (first || !stage2?.entries.some((e) => e.path === HOSTONLY_PATH)) return first;
  return hostonlyOf((await readSecondStage(image, segments, { data: true }))?.entries ?? []);
}

/** Kernel module path under its modules directory → why the build included it. */
function reasonsOf(report: BuildReport | undefined): Map<string, string> | undefined {
  return report && new Map(report.kernelModules.map((m) => [m.path, m.reason]));
}

/** The header: the build record, then what --hostonly detected (so a wrong guess is visible). */
function withRecord(listing: string, record: BuildRecord | undefined, hostonly: string[] | undefined): string {
  const head = [...(record ? renderRecordLines(record) : []), ...(hostonly ?? []).map((l) => `hostonly: ${escapeControls(l)}`)];
  return head.length ? `${head.join('\n')}\n${listing}` : listing;
}

async function inspectDiff(args: InspectArgs): Promise<void> {
  if (!args.diff || args.other === undefined) throw new UserError('two images are compared with inspect --diff OLD NEW');
  const lines = await diffImageFiles(args.image, args.other);
  await writeStdout(lines.map((l) => `${escapeControls(l)}\n`).join(''));
  // diff(1)'s convention: 1 when the images differ.
  if (lines.length) throw new UserError(`${args.image} and ${args.other} differ: ${lines.length} line${lines.length === 1 ? '' : 's'}`);
}

async function inspectExtract(image: string, dir: string, segments: readonly ImageSegment[]): Promise<void> {
  if (existsSync(dir) && readdirSync(dir).length) throw new UserError(`--extract ${dir}: the directory is not empty`);
  const skipped = extractTree(await readTree(image, segments), dir);
  for (const p of skipped) warn(`--extract: ${escapeControls(p)} not written (a device node, or a path through a link)`);
}

/**
 * Resolves once the text is handed to the OS: main() exits right after, which would cut a piped
 * listing short. A closed pipe (`inspect IMG | head`) is the reader's choice, not an error.
 */
function writeStdout(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(text, (err) => {
      if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE') reject(err);
      else resolve();
    }),
  );
}
