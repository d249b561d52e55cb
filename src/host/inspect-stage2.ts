// SPDX-License-Identifier: GPL-2.0-or-later
// `inspect` of two-stage images: finds the second stage (inside the image, or beside it), checks
// it against the size and sha256 the first stage carries, and lists it by extracting it with the
// filesystem's own tool (unsquashfs, fsck.erofs) into a scratch directory.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { ImageEntry, ImageSegment } from '../archive/read.ts';
import { probeTool } from './tools.ts';

export interface SecondStageReport {
  summary: string;
  entries: ImageEntry[];
}

function findEntry(segments: readonly ImageSegment[], path: string): ImageEntry | undefined {
  return segments.flatMap((s) => s.entries).findLast((e) => e.path === path && e.data !== undefined);
}

function parseConf(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function walkTree(root: string, dir = root): ImageEntry[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    const st = lstatSync(path);
    const e: ImageEntry = {
      path: '/' + relative(root, path),
      type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file',
      mode: st.mode & 0o7777,
      size: st.isFile() ? st.size : 0,
      ...(st.isSymbolicLink() ? { target: readlinkSync(path) } : {}),
    };
    return st.isDirectory() ? [e, ...walkTree(root, path)] : [e];
  });
}

async function runExtract(type: string, file: string, into: string): Promise<ImageEntry[]> {
  const argv = type === 'squashfs' ? ['unsquashfs', '-no-xattrs', '-q', '-n', '-d', into, file] : ['fsck.erofs', `--extract=${into}`, file];
  const { ok } = await probeTool(argv);
  return ok && existsSync(into) ? walkTree(into) : [];
}

/** Undefined for a single-stage image. */
export async function readSecondStage(imagePath: string, segments: readonly ImageSegment[]): Promise<SecondStageReport | undefined> {
  const confEntry = findEntry(segments, '/etc/ruckusrd/stage2.conf');
  if (!confEntry?.data) return undefined;
  const conf = parseConf(new TextDecoder().decode(confEntry.data));
  let bytes: Uint8Array | undefined = conf.image ? findEntry(segments, conf.image)?.data : undefined;
  let where = conf.image ? `inside the image at ${conf.image}` : '';
  if (conf.placement === 'boot') {
    const beside = [`${imagePath}.stage2`, join(dirname(imagePath), conf.path ?? '')].find((p) => existsSync(p));
    bytes = beside ? await Bun.file(beside).bytes() : undefined;
    where = beside ? `beside the image at ${beside}` : `not found beside the image (${imagePath}.stage2)`;
  }
  const head = `second stage: ${conf.type}, ${conf.placement} placement, ${conf.size} bytes, sha256 ${conf.sha256}; ${where}`;
  if (!bytes) return { summary: head, entries: [] };
  const sum = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
  const check = bytes.length === Number(conf.size) && sum === conf.sha256 ? 'matches' : `DOES NOT MATCH (${bytes.length} bytes, sha256 ${sum})`;
  const scratch = mkdtempSync(join(tmpdir(), 'mkruckus-inspect-'));
  try {
    writeFileSync(join(scratch, 'stage2.img'), bytes);
    const entries = await runExtract(conf.type ?? '', join(scratch, 'stage2.img'), join(scratch, 'tree'));
    return { summary: `${head}; ${check}; overlaid on /${(conf.dirs ?? '').split(' ').join(', /')}`, entries };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
