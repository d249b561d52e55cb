// SPDX-License-Identifier: GPL-2.0-or-later
// `inspect` and `verify` of two-stage images: finds the second stage (inside the image, or beside
// it), checks it against the size and sha256 the first stage carries, and lists it by extracting it
// with the filesystem's own tool (unsquashfs, fsck.erofs) into a scratch directory. Every way it can
// be wrong is a problem (a line), never an empty listing.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { ImageEntry, ImageSegment } from '../archive/read.ts';
import { makeVerityTree, VERITY_BLOCK } from '../core/verity-tree.ts';
import { makeScratch } from './scratch.ts';
import { companionCandidates, recordedStage2Conf } from './stage2-pair.ts';
import { probeTool } from './tools.ts';

/** What the first stage records about its second stage, and what was found. */
export interface SecondStageData {
  type?: string;
  placement?: string;
  size?: number;
  sha256?: string;
  /** directories laid over the first stage's */
  dirs: string[];
  /** where the image was looked for, and where it was found (undefined: not found) */
  expected: string;
  found?: string;
  /** the dm-verity root hash the first stage checks it against at boot (none: its sha256) */
  verityRoot?: string;
  /** the file found has the recorded size and sha256 */
  matches: boolean;
  actual?: { size: number; sha256: string };
}

export interface SecondStageReport {
  summary: string;
  data: SecondStageData;
  /** each a sentence: missing, altered, unreadable */
  problems: string[];
  entries: ImageEntry[];
}

function findEntry(segments: readonly ImageSegment[], path: string): ImageEntry | undefined {
  return segments.flatMap((s) => s.entries).findLast((e) => e.path === path && e.data !== undefined);
}

function walkTree(root: string, data: boolean, dir = root): ImageEntry[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    const st = lstatSync(path);
    const e: ImageEntry = {
      path: '/' + relative(root, path),
      type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file',
      mode: st.mode & 0o7777,
      size: st.isFile() ? st.size : 0,
      ...(st.isSymbolicLink() ? { target: readlinkSync(path) } : {}),
      ...(data && st.isFile() ? { data: readFileSync(path) } : {}),
    };
    return st.isDirectory() ? [e, ...walkTree(root, data, path)] : [e];
  });
}

const EXTRACTORS: Record<string, { argv: (into: string, file: string) => string[]; pkg: string }> = {
  squashfs: { argv: (into, file) => ['unsquashfs', '-no-xattrs', '-q', '-n', '-d', into, file], pkg: 'squashfs-tools' },
  erofs: { argv: (into, file) => ['fsck.erofs', `--extract=${into}`, file], pkg: 'erofs-utils' },
};

async function runExtract(type: string, bytes: Uint8Array, data: boolean): Promise<{ entries: ImageEntry[]; problem?: string }> {
  const tool = EXTRACTORS[type];
  if (!tool) return { entries: [], problem: `the second stage's type '${type}' is unknown` };
  const scratch = makeScratch('inspect');
  try {
    const file = join(scratch.path, 'stage2.img');
    const into = join(scratch.path, 'tree');
    writeFileSync(file, bytes);
    const argv = tool.argv(into, file);
    if (!Bun.which(argv[0]!)) return { entries: [], problem: `${argv[0]} is needed to read the ${type} second stage but is not installed (Debian package ${tool.pkg})` };
    const { ok, stderr } = await probeTool(argv);
    if (!ok || !existsSync(into)) return { entries: [], problem: `the ${type} second stage cannot be read: ${stderr.trim().split('\n')[0] ?? ''}` };
    return { entries: walkTree(into, data) };
  } finally {
    scratch.remove();
  }
}

/** Undefined for a single-stage image. `data`: keep file contents (for verify). */
export async function readSecondStage(imagePath: string, segments: readonly ImageSegment[], opts: { data?: boolean } = {}): Promise<SecondStageReport | undefined> {
  const conf = recordedStage2Conf(segments);
  if (!conf) return undefined;
  const d: SecondStageData = {
    type: conf.type, placement: conf.placement, size: conf.size === undefined ? undefined : Number(conf.size), sha256: conf.sha256,
    dirs: (conf.dirs ?? '').split(' ').filter(Boolean), expected: '', matches: false, ...(conf.verity_root ? { verityRoot: conf.verity_root } : {}),
  };
  let bytes: Uint8Array | undefined;
  if (conf.placement === 'boot') {
    const candidates = companionCandidates(imagePath, conf);
    d.expected = candidates.join(' or ');
    d.found = candidates.find((p) => existsSync(p));
    bytes = d.found ? await Bun.file(d.found).bytes() : undefined;
  } else {
    d.expected = `${conf.image ?? '(no image= recorded)'} inside the image`;
    bytes = conf.image ? findEntry(segments, conf.image)?.data : undefined;
    if (bytes) d.found = d.expected;
  }
  const problems: string[] = [];
  let entries: ImageEntry[] = [];
  if (!bytes) problems.push(`the second stage is missing: expected ${d.expected}`);
  else {
    d.actual = { size: bytes.length, sha256: new Bun.CryptoHasher('sha256').update(bytes).digest('hex') };
    d.matches = d.actual.size === d.size && d.actual.sha256 === d.sha256;
    if (!d.matches) problems.push(`the second stage ${d.found} does not match: ${d.actual.size} bytes, sha256 ${d.actual.sha256}; recorded ${d.size} bytes, sha256 ${d.sha256}`);
    const verity = verityProblem(conf, bytes);
    if (verity) problems.push(`the second stage ${d.found}: ${verity}`);
    const x = await runExtract(conf.type ?? '', bytes, opts.data ?? false);
    entries = x.entries;
    if (x.problem) problems.push(x.problem);
  }
  return { summary: renderSummary(d), data: d, problems, entries };
}

/**
 * A recorded dm-verity root hash must be the one of the hash tree in the file: what the kernel will
 * check each block against at boot (a mismatch there is an I/O error on the first read).
 */
function verityProblem(conf: Record<string, string>, bytes: Uint8Array): string | undefined {
  if (conf.verity_root === undefined) return undefined;
  const blocks = Number(conf.verity_blocks);
  if (!Number.isSafeInteger(blocks) || blocks < 2 || blocks * VERITY_BLOCK > bytes.length || !/^[0-9a-f]{64}$/.test(conf.verity_salt ?? '')) {
    return `its dm-verity record is malformed (verity_blocks=${conf.verity_blocks}, verity_salt=${conf.verity_salt})`;
  }
  const data = bytes.subarray(0, blocks * VERITY_BLOCK);
  const { tree, rootHash } = makeVerityTree(data, Buffer.from(conf.verity_salt!, 'hex'));
  const stored = bytes.subarray(data.length, data.length + tree.length);
  if (rootHash !== conf.verity_root) return `its data does not match the recorded dm-verity root hash ${conf.verity_root} (${rootHash})`;
  return Buffer.from(stored).equals(tree) ? undefined : 'its dm-verity hash tree does not match its data';
}

function renderSummary(d: SecondStageData): string {
  const head = `second stage: ${d.type}, ${d.placement} placement, ${d.size} bytes, sha256 ${d.sha256}${d.verityRoot ? `, dm-verity root hash ${d.verityRoot}` : ''}`;
  if (!d.found) return `${head}; MISSING (expected ${d.expected})`;
  const check = d.matches ? 'matches' : `DOES NOT MATCH (${d.actual?.size} bytes, sha256 ${d.actual?.sha256})`;
  return `${head}; ${d.placement === 'boot' ? `beside the image at ${d.found}` : `inside the image at ${d.found}`}; ${check}; overlaid on /${d.dirs.join(', /')}`;
}
