// SPDX-License-Identifier: GPL-2.0-or-later
// Making the second-stage image: the entries are written to a scratch tree, then mksquashfs or
// mkfs.erofs packs it with fixed times, owners and UUID so the image is reproducible.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { PlanEntry } from '../core/plan.ts';
import { UserError } from '../log.ts';
import { probeTool, runMkfs } from './tools.ts';

function writeScratchTree(root: string, entries: readonly PlanEntry[]): void {
  for (const { item } of entries) {
    const path = join(root, item.path);
    if (item.kind === 'dir') mkdirSync(path, { recursive: true });
    else mkdirSync(dirname(path), { recursive: true });
    if (item.kind === 'file') copyFileSync(item.source, path);
    else if (item.kind === 'bytes') writeFileSync(path, item.data);
    else if (item.kind === 'symlink') symlinkSync(item.target, path);
    if (item.kind === 'dir' || item.kind === 'file' || item.kind === 'bytes') chmodSync(path, item.mode ?? 0o755);
  }
}

/** A UUID derived from the inputs, so two builds of the same inputs give the same bytes. */
function stableUuid(seed: string): string {
  const h = new Bun.CryptoHasher('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function mkfsArgv(type: 'erofs' | 'squashfs', tree: string, out: string, mtime: number, seed: string): string[] {
  if (type === 'squashfs') {
    return ['mksquashfs', tree, out, '-noappend', '-all-root', '-no-xattrs', '-comp', 'zstd', '-Xcompression-level', '6',
      '-mkfs-time', String(mtime), '-all-time', String(mtime), '-quiet', '-no-progress'];
  }
  return ['mkfs.erofs', '-zlz4hc', '-T', String(mtime), '-U', stableUuid(seed), '--all-root', '-x', '-1', '--quiet', out, tree];
}

/** Packs the entries into an erofs or squashfs image and returns its bytes. */
export async function runMakeSecondStage(
  type: 'erofs' | 'squashfs',
  entries: readonly PlanEntry[],
  mtime: number,
  seed: string,
): Promise<Uint8Array> {
  const scratch = mkdtempSync(join(tmpdir(), 'mkruckus-stage2-'));
  try {
    writeScratchTree(join(scratch, 'tree'), entries);
    const out = join(scratch, 'stage2.img');
    const { ok, stderr } = await runMkfs(mkfsArgv(type, join(scratch, 'tree'), out, mtime, seed));
    if (!ok) {
      const tool = type === 'erofs' ? 'mkfs.erofs (erofs-utils)' : 'mksquashfs (squashfs-tools)';
      throw new UserError(`making the ${type} second stage with ${tool} failed: ${stderr.split('\n')[0] ?? ''}`);
    }
    return await Bun.file(out).bytes();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The filesystem holding `file` as `UUID=...` plus the file's path on it, for the first stage. */
export async function readBootLocation(file: string): Promise<{ dev?: string; path: string }> {
  const abs = resolve(file);
  const { ok, stdout } = await probeTool(['findmnt', '-n', '-P', '-o', 'UUID,TARGET', '-T', dirname(abs)]);
  const uuid = ok ? /UUID="([^"]+)"/.exec(stdout)?.[1] : undefined;
  const target = ok ? /TARGET="([^"]+)"/.exec(stdout)?.[1] : undefined;
  const path = target ? '/' + relative(target, abs) : abs;
  return { dev: uuid ? `UUID=${uuid}` : undefined, path };
}
