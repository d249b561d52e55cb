// SPDX-License-Identifier: GPL-2.0-or-later
// dm-verity hash trees for layer files (issue 12 item 11): NAME.sqsh → NAME.sqsh.verity beside it,
// the file modules/overlay/layers.sh opens with `veritysetup open NAME.sqsh … NAME.sqsh.verity HASH`.
// The salt and UUID are derived from the layer's bytes, so the same layer gives the same hash tree
// and root hash (layer build stays reproducible with SOURCE_DATE_EPOCH).
import { spawnSync } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../log.ts';
import { fsyncPath } from './layer-build.ts';

async function sha256(path: string): Promise<string> {
  const hash = new Bun.CryptoHasher('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest('hex');
}

/** The layer name of NAME.sqsh (what --trust-layer and sqsh_verity_roots name). */
export const layerNameOf = (file: string): string => basename(file).replace(/\.sqsh$/, '');

/**
 * Writes FILE.verity (temp name, fsync, rename) and returns the root hash. `force` replaces an
 * existing hash tree; without it an existing one is an error.
 */
export async function writeVerity(file: string, force: boolean): Promise<string> {
  const out = `${file}.verity`;
  if (existsSync(out) && !force) throw new UserError(`${out} exists; use --force to replace it`);
  const salt = await sha256(file);
  const uuid = `${salt.slice(0, 8)}-${salt.slice(8, 12)}-4${salt.slice(13, 16)}-8${salt.slice(17, 20)}-${salt.slice(20, 32)}`;
  const tmp = join(dirname(file), `.${basename(out)}.tmp`);
  rmSync(tmp, { force: true });
  const r = spawnSync('veritysetup', ['format', `--salt=${salt}`, `--uuid=${uuid}`, file, tmp], { encoding: 'utf8' });
  if (r.error) throw new UserError(`cannot run veritysetup (cryptsetup-bin): ${r.error.message}`);
  const hash = /^Root hash:\s+([0-9a-f]{64,128})\s*$/m.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || !hash) {
    rmSync(tmp, { force: true });
    throw new UserError(`veritysetup format ${file} failed: ${(r.stderr || r.stdout || '').trim().split('\n').at(-1)}`);
  }
  chmodSync(tmp, 0o644);
  fsyncPath(tmp);
  renameSync(tmp, out);
  fsyncPath(dirname(out));
  return hash;
}

/** The boot parameter that trusts these layers (each item is also a --trust-layer value). */
export const verityRootsLine = (roots: readonly { name: string; hash: string }[]): string =>
  `sqsh_verity_roots=${roots.map((r) => `${r.name}=${r.hash}`).join(',')}`;
