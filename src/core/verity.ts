// SPDX-License-Identifier: GPL-2.0-or-later
// Trust anchors of verified layers (--trust-layer NAME=ROOTHASH, --layer-verity) as image data:
// /etc/ruckusrd/verity, read by modules/overlay/layers.sh before any layer is mounted.
import { UserError } from '../log.ts';
import type { StageItem } from './stage.ts';

export interface LayerTrust {
  name: string;
  /** the dm-verity root hash, lower-case hex (sha256: 64 digits) */
  hash: string;
}

/** `NAME=ROOTHASH`, NAME a layer name as sqsh_layers takes it, ROOTHASH as veritysetup prints it. */
export function parseTrustLayer(value: string): LayerTrust {
  const m = /^([A-Za-z0-9._-]+)=([0-9a-fA-F]{64,128})$/.exec(value);
  if (!m || m[1]!.includes('..')) throw new UserError(`--trust-layer ${value}: expected NAME=ROOTHASH (a layer name, the hex root hash veritysetup prints)`);
  return { name: m[1]!, hash: m[2]!.toLowerCase() };
}

/** The image file; none when nothing is trusted and the policy is the boot default (auto). */
export function verityItems(policy: 'auto' | 'require', trust: readonly LayerTrust[]): StageItem[] {
  const names = new Set<string>();
  for (const t of trust) {
    if (names.has(t.name)) throw new UserError(`--trust-layer: layer ${t.name} is given twice`);
    names.add(t.name);
  }
  if (policy === 'auto' && trust.length === 0) return [];
  const text = `policy=${policy}\n` + trust.map((t) => `trust ${t.name} ${t.hash}\n`).join('');
  return [{ kind: 'bytes', path: '/etc/ruckusrd/verity', mode: 0o644, data: new TextEncoder().encode(text) }];
}
