// SPDX-License-Identifier: GPL-2.0-or-later
// What the user adds beyond the modules (--include SRC[:DST], --install BINARY): stage items owned
// by `include` and `install`, so a collision with a module's file is reported like any other.
import { lstatSync, readdirSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import type { OwnedItem } from '../core/plan.ts';
import type { Additions } from '../core/request.ts';
import type { StageItem } from '../core/stage.ts';
import { UserError } from '../log.ts';
import type { BaseFs } from './base.ts';
import { resolveBinaries } from './binaries.ts';

/** setuid/setgid bits are never carried into the image from a copied file. */
const MODE_MASK = 0o1777;

function walk(host: string, dst: string, st: Stats, out: StageItem[]): void {
  if (st.isFile()) return void out.push({ kind: 'file', path: dst, mode: st.mode & MODE_MASK, source: host });
  if (st.isSymbolicLink()) return void out.push({ kind: 'symlink', path: dst, target: readlinkSync(host) });
  if (!st.isDirectory()) throw new UserError(`--include: ${host} is neither a file, a directory nor a symbolic link`);
  out.push({ kind: 'dir', path: dst, mode: st.mode & MODE_MASK });
  for (const name of readdirSync(host).sort()) {
    const child = join(host, name);
    walk(child, `${dst === '/' ? '' : dst}/${name}`, lstatSync(child), out);
  }
}

/** One --include: SRC itself is followed if it is a link (the user named it); below it nothing is. */
export function planInclude(src: string, dst: string): StageItem[] {
  let real: string;
  try {
    real = realpathSync(resolve(src));
  } catch {
    throw new UserError(`--include: ${src} not found`);
  }
  const out: StageItem[] = [];
  walk(real, dst, lstatSync(real), out);
  return out;
}

export async function planAdditions(add: Additions, base: BaseFs): Promise<OwnedItem[]> {
  const included = add.include.flatMap(({ src, dst }) => planInclude(src, dst).map((item) => ({ owner: 'include', item })));
  const installed = add.binaries.length ? (await resolveBinaries(base, add.binaries)).items : [];
  return [...included, ...installed.map((item) => ({ owner: 'install', item }))];
}
