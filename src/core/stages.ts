// SPDX-License-Identifier: GPL-2.0-or-later
// Two-stage images: which plan entries go into the second stage, and the data file that tells the
// first stage how to find and check it.
import { UserError } from '../log.ts';
import { sameContent, type PlanEntry } from './plan.ts';

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
