// SPDX-License-Identifier: GPL-2.0-or-later
// The firmware the build's modules declare (modinfo firmware=), staged from --base's /lib/firmware
// as the kernel looks it up.

import { relative } from 'node:path';
import type { StageItem } from '../core/stage.ts';
import type { BaseFs } from './base.ts';

/** The kernel's lookup order (fw_get_filesystem_firmware): the plain name, then the compressed forms it
 * decompresses itself when built with CONFIG_FW_LOADER_COMPRESS; staged as found. */
const FIRMWARE_SUFFIXES = ['', '.zst', '.xz'];

export interface FirmwarePlan {
  items: StageItem[];
  found: string[];
  missing: string[];
}

function firmwareCandidates(fs: BaseFs, root: string, name: string): string[] {
  if (/[*?[]/.test(name)) return fs.glob(`${root}/${name}`);
  for (const suffix of FIRMWARE_SUFFIXES) {
    if (fs.resolve(`${root}/${name}${suffix}`)) return [`${root}/${name}${suffix}`];
  }
  return [];
}

/**
 * Stages one firmware file under /lib/firmware. Links that stay inside the firmware tree with relative
 * targets (linux-firmware's WHENCE links) are kept as links plus their target; anything else is
 * dereferenced, because its target would not resolve the same way inside the image.
 */
function stageFirmware(fs: BaseFs, root: string, path: string, items: Map<string, StageItem>): void {
  const resolved = fs.resolveFile(path);
  if (!resolved) return;
  const inRoot = (p: string): boolean => p.startsWith(`${root}/`);
  const image = (p: string): string => `/lib/firmware/${relative(root, p)}`;
  const source = fs.hostPath(resolved.path);
  const mirror = inRoot(resolved.path) && resolved.links.every((l) => inRoot(l.path) && !l.target.startsWith('/'));
  if (!mirror) {
    items.set(image(path), { kind: 'file', path: image(path), mode: 0o644, source });
    return;
  }
  for (const l of resolved.links) items.set(image(l.path), { kind: 'symlink', path: image(l.path), target: l.target });
  items.set(image(resolved.path), { kind: 'file', path: image(resolved.path), mode: 0o644, source });
}

export function planFirmware(fs: BaseFs, names: string[]): FirmwarePlan {
  const root = fs.resolve('/lib/firmware')?.path;
  const items = new Map<string, StageItem>();
  const plan: FirmwarePlan = { items: [], found: [], missing: [] };
  for (const name of names) {
    const paths = root ? firmwareCandidates(fs, root, name) : [];
    (paths.length ? plan.found : plan.missing).push(name);
    for (const path of paths) stageFirmware(fs, root as string, path, items);
  }
  plan.items = [...items.values()];
  return plan;
}
