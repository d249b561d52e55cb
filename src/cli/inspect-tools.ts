// SPDX-License-Identifier: GPL-2.0-or-later
// inspect --extract DIR, --cat PATH, --diff OLD NEW and the build record: what `inspect` does with an
// image besides listing it. The tree is both stages, as the kernel and the stage2 phase lay it out.
import { chmodSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile, type ImageEntry, type ImageSegment } from '../archive/read.ts';
import { diffImages, type DiffEntry } from '../core/image-diff.ts';
import { parseRecord, RECORD_PATH, type BuildRecord } from '../core/record.ts';
import { ImageTree } from '../core/verify.ts';
import { HOSTONLY_PATH } from '../host/hostonly.ts';
import { REPORT_PATH, type BuildReport } from '../host/report.ts';
import { readSecondStage } from '../host/inspect-stage2.ts';
import { UserError } from '../log.ts';

export async function readTree(image: string, segments?: readonly ImageSegment[]): Promise<ImageEntry[]> {
  const segs = segments ?? (await readImageFile(image, { data: true }));
  const stage2 = await readSecondStage(image, segs, { data: true });
  return [...segs.flatMap((s) => s.entries), ...(stage2?.entries ?? [])];
}

export function recordOf(entries: readonly ImageEntry[]): BuildRecord | undefined {
  const e = entries.findLast((x) => x.path === RECORD_PATH && x.data);
  return e?.data ? parseRecord(new TextDecoder().decode(e.data)) : undefined;
}

/** The build report embedded in the image (src/host/report.ts), when it has one. */
export function reportOf(entries: readonly ImageEntry[]): BuildReport | undefined {
  const e = entries.findLast((x) => x.path === REPORT_PATH && x.data);
  if (!e?.data) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(e.data)) as BuildReport;
  } catch {
    return undefined;
  }
}

/** The lines of /etc/ruckusrd/hostonly, when the image was built with --hostonly. */
export function hostonlyOf(entries: readonly ImageEntry[]): string[] | undefined {
  const e = entries.findLast((x) => x.path === HOSTONLY_PATH && x.data);
  return e?.data ? new TextDecoder().decode(e.data).split('\n').filter(Boolean) : undefined;
}

/** The file at PATH (symlinks followed inside the image). */
export function catPath(entries: readonly ImageEntry[], path: string): Uint8Array {
  const e = new ImageTree(entries).resolve(path) as ImageEntry | undefined;
  if (!e) throw new UserError(`${path}: not in the image`);
  if (e.type !== 'file' || !e.data) throw new UserError(`${path}: not a regular file (${e.type})`);
  return e.data;
}

/** A path under DIR whose every component is a real directory of ours: a symlink entry never redirects a write. */
function safeHostPath(dir: string, path: string): string | undefined {
  const parts = path.split('/').filter(Boolean);
  if (parts.some((p) => p === '..')) return undefined;
  for (let i = 1; i < parts.length; i++) {
    const st = lstatSync(join(dir, ...parts.slice(0, i)), { throwIfNoEntry: false });
    if (st && !st.isDirectory()) return undefined;
  }
  return join(dir, ...parts);
}

/** Writes the tree under DIR (which must be empty or absent); returns the paths it refused or skipped. */
export function extractTree(entries: readonly ImageEntry[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const skipped: string[] = [];
  const last = new Map(entries.map((e) => [e.path, e]));
  for (const e of [...last.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    if (e.path === '/') continue;
    const host = safeHostPath(dir, e.path);
    if (!host) {
      skipped.push(e.path);
      continue;
    }
    const st = lstatSync(host, { throwIfNoEntry: false });
    if (e.type === 'dir') {
      if (!st) mkdirSync(host);
      chmodSync(host, (e.mode & 0o7777) | 0o700);
    } else if (st) skipped.push(e.path);
    else if (e.type === 'symlink') symlinkSync(e.target ?? '', host);
    else if (e.type === 'file') writeFileSync(host, e.data ?? new Uint8Array(), { mode: e.mode & 0o777, flag: 'wx' });
    else skipped.push(e.path); // device nodes, FIFOs: listed by inspect, not made here
  }
  return skipped;
}

function diffEntries(entries: readonly ImageEntry[]): DiffEntry[] {
  const last = new Map(entries.map((e) => [e.path, e]));
  // The embedded report describes the other files: it changes exactly when they (or the record) do.
  last.delete(REPORT_PATH);
  return [...last.values()].map((e) => ({
    path: e.path, type: e.type, mode: e.mode, size: e.size, target: e.target,
    ...(e.data ? { sha256: new Bun.CryptoHasher('sha256').update(e.data).digest('hex') } : {}),
  }));
}

export async function diffImageFiles(oldImage: string, newImage: string): Promise<string[]> {
  const [a, b] = await Promise.all([readTree(oldImage), readTree(newImage)]);
  return diffImages({ entries: diffEntries(a), record: recordOf(a) }, { entries: diffEntries(b), record: recordOf(b) });
}
