// SPDX-License-Identifier: GPL-2.0-or-later
import { readFileSync } from 'node:fs';
import { defineModule, type PlanContext } from '../../src/core/module.ts';
import type { StageItem } from '../../src/core/stage.ts';
import { BaseFs } from '../../src/host/base.ts';
import { UserError, warn } from '../../src/log.ts';
import { describeKeymap, keymapSource, xkbCommand, type KeymapSource } from './keyboard.ts';

/** Where systemd (vconsole.conf KEYMAP=) and Debian's console-data keep console keymaps. */
const KEYMAP_DIRS = ['/usr/share/kbd/keymaps', '/usr/share/keymaps'];

function readBase(base: BaseFs, path: string): string | undefined {
  const found = base.resolve(path);
  return found ? readFileSync(base.hostPath(found.path), 'utf8') : undefined;
}

function spawnOk(argv: string[], stdin?: Uint8Array): Uint8Array {
  if (!Bun.which(argv[0]!)) throw new UserError(`keymap: ${argv[0]} is needed on the build machine (Debian: ${argv[0] === 'ckbcomp' ? 'console-setup' : 'kbd'})`);
  const p = Bun.spawnSync(argv, { stdin: stdin ?? 'ignore', stdout: 'pipe', stderr: 'pipe' });
  if (p.exitCode !== 0 || p.stdout.length === 0) {
    throw new UserError(`keymap: ${argv.join(' ')} failed: ${p.stderr.toString().trim().split('\n').at(-1) ?? ''}`);
  }
  return p.stdout;
}

/** A KEYMAP= name: the base's own map file when it has one, else loadkeys' search path on this machine. */
function keymapFile(base: BaseFs, name: string): string {
  for (const dir of KEYMAP_DIRS) {
    const found = base.resolve(dir);
    if (!found) continue;
    const hit = new Bun.Glob(`**/${name}.{map,kmap}{,.gz}`).scanSync({ cwd: base.hostPath(found.path), followSymlinks: true }).next();
    if (!hit.done) return `${base.hostPath(found.path)}/${hit.value}`;
  }
  return name;
}

/** busybox loadkmap's binary format (`bkeymap` + the tables), made with the build machine's kbd. */
function renderBinaryKeymap(base: BaseFs, src: KeymapSource): Uint8Array {
  if (src.kind === 'keymap') return spawnOk(['loadkeys', '-b', keymapFile(base, src.name)]);
  return spawnOk(['loadkeys', '-b'], spawnOk(xkbCommand(src)));
}

/** The base's console keymap, converted at build time, for the `early` hook to load. */
function planKeymap(ctx: PlanContext): StageItem[] {
  const base = new BaseFs(ctx.base);
  const src = keymapSource(readBase(base, '/etc/vconsole.conf'), readBase(base, '/etc/default/keyboard'));
  if (!src) {
    warn('keymap: the base names no console keymap other than US (/etc/vconsole.conf, /etc/default/keyboard); none added');
    return [];
  }
  const map = renderBinaryKeymap(base, src);
  const enc = new TextEncoder();
  return [
    { kind: 'bytes', path: '/etc/ruckusrd/keymap.bmap', mode: 0o644, data: map },
    { kind: 'bytes', path: '/etc/ruckusrd/keymap', mode: 0o644, data: enc.encode(`${describeKeymap(src)}\n`) },
  ];
}

export default defineModule({
  name: 'keymap',
  description: "the base's console keymap (vconsole.conf, /etc/default/keyboard) loaded before any passphrase is asked",
  depends: ['base'],
  hooks: { early: ['20-load-keymap.sh'] },
  plan: planKeymap,
});
