// SPDX-License-Identifier: GPL-2.0-or-later
// Two-stage images: which plan entries go into the second stage, and the data file that tells the
// first stage how to find and check it.
import { UserError } from '../log.ts';
import { sameContent, type PlanEntry } from './plan.ts';
import { makeVerityTree, padVerityData, VERITY_BLOCK, veritySalt } from './verity-tree.ts';

/**
 * The second stage holds every entry of the full plan that the first stage does not already hold
 * with the same content (so the kernel-module index, which differs, is in both, the full one in
 * the second stage), minus device nodes, which only the first stage needs.
 */
export function secondStageEntries(full: readonly PlanEntry[], first: readonly PlanEntry[]): PlanEntry[] {
  const firstByPath = new Map(first.map((e) => [e.item.path, e.item]));
  return full.filter(({ item }) => {
    if (item.kind === 'node') return false;
    const other = firstByPath.get(item.path);
    return other === undefined || item.kind === 'dir' || !sameContent(item, other);
  });
}

/** Top-level directories of the second stage: each becomes an overlay at boot. */
export function overlayDirs(entries: readonly PlanEntry[]): string[] {
  const dirs = new Set<string>();
  for (const { item } of entries) {
    const top = item.path.split('/')[1];
    if (top && item.path !== `/${top}`) dirs.add(top);
  }
  return [...dirs].sort();
}

export interface Stage2Info {
  type: 'erofs' | 'squashfs';
  placement: 'embedded' | 'boot';
  /** embedded: the image path inside the first stage */
  image?: string;
  /** boot: the device (UUID=...) and the absolute path of the file on it */
  dev?: string;
  path?: string;
  size: number;
  sha256: string;
  dirs: string[];
  /** boot: the dm-verity hash tree that follows the data in the file (core/verity-tree.ts) */
  verity?: Stage2Verity;
}

export interface Stage2Verity {
  /** hex root hash and salt */
  root: string;
  salt: string;
  /** 4096-byte data blocks; the hash tree starts at the block after them */
  blocks: number;
}

/**
 * The image, zero-padded to whole blocks, with its dm-verity hash tree after it. An image of a
 * single block has none (the kernel's tree would have no level; a sha256 of it costs nothing).
 */
export function withVerityTree(image: Uint8Array): { bytes: Uint8Array; verity?: Stage2Verity } {
  const data = padVerityData(image);
  if (data.length <= VERITY_BLOCK) return { bytes: image };
  const salt = veritySalt(data);
  const { tree, rootHash, dataBlocks } = makeVerityTree(data, salt);
  const bytes = new Uint8Array(data.length + tree.length);
  bytes.set(data);
  bytes.set(tree, data.length);
  return { bytes, verity: { root: rootHash, salt: Buffer.from(salt).toString('hex'), blocks: dataBlocks } };
}

/** /etc/ruckusrd/stage2.conf: `key=value` lines read by templates/lib/stage2.sh. */
export function renderStage2Conf(info: Stage2Info): string {
  const rows: [string, string | number | undefined][] = [
    ['type', info.type],
    ['placement', info.placement],
    ['image', info.image],
    ['dev', info.dev],
    ['path', info.path],
    ['size', info.size],
    ['sha256', info.sha256],
    ['dirs', info.dirs.join(' ')],
    ['verity_root', info.verity?.root],
    ['verity_salt', info.verity?.salt],
    ['verity_blocks', info.verity?.blocks],
  ];
  // One record per line, read with `read` and split on blanks by the shell: a value with a newline
  // would add records (dev=... injected), a blank or glob character would split or expand a dir.
  const badDir = info.dirs.find((d) => !DIR_NAME.test(d));
  const bad = badDir !== undefined ? ['dirs', badDir] : rows.find(([k, v]) => k !== 'dirs' && v !== undefined && !RECORD_VALUE.test(String(v)));
  if (bad) throw new UserError(`cannot record the second stage's ${bad[0]} ${JSON.stringify(bad[1])}: only printable characters without blanks (dirs: names of letters, digits, ._-)`);
  return rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${k}=${v}\n`).join('');
}

const RECORD_VALUE = /^[\x21-\x7e]*$/;
const DIR_NAME = /^[A-Za-z0-9._-]+$/;

export const EMBEDDED_STAGE2_PATH = '/usr/lib/ruckusrd/stage2.img';

/**
 * The /boot second stage is named by its content: `PATH-` and the first 16 hex digits of its
 * sha256 (PATH: --second-stage-out, default `OUT.stage2`). A build then never replaces the file
 * that the image already in place records, so OUT and its second stage change as a pair: killed
 * between the two writes, or out of space while writing OUT, the old image still finds its own.
 */
export function contentName(path: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
  return `${path}-${sha256.slice(0, 16)}`;
}

/** Whether the file name `name` is a second stage of the base name `base`: content-named, or `base` itself (before content names). */
export function isSecondStageName(name: string, base: string): boolean {
  return name === base || (name.startsWith(`${base}-`) && /^[0-9a-f]{16}$/.test(name.slice(base.length + 1)));
}
