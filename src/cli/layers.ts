// SPDX-License-Identifier: GPL-2.0-or-later
// The layer commands (SPEC §3 and `layer build`): argument parsing only; the work is in
// src/host/layer-*.ts and the pure model in src/layers/.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { buildLayers } from '../host/layer-build.ts';
import { writeConfAtomic } from '../host/layer-ops.ts';
import { layerNameOf, verityRootsLine, writeVerity } from '../host/layer-verity.ts';
import { DEFAULT_LIMITS } from '../layers/entries.ts';
import { renderConf } from '../layers/stack.ts';
import { UserError } from '../log.ts';
import { layerOpCommands } from './layer-ops.ts';

interface BuildArgs {
  name: string;
  from: string;
  out: string;
  format: 'squashfs' | 'erofs';
  squash: boolean;
  force: boolean;
  allowDevices: boolean;
  maxBytes: number;
  conf?: string;
  verity: boolean;
}

function epochFromEnv(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new UserError(`SOURCE_DATE_EPOCH must be a number of seconds, not ${v}`);
  return Number(v);
}

const buildCommand: CommandModule<object, BuildArgs> = {
  command: 'build <name>',
  describe: 'make NAME.sqsh from a directory, a root filesystem tarball or a container image archive',
  builder: (y: Argv) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'layer name (file NAME.sqsh)' })
      .option('from', { type: 'string', demandOption: true, describe: 'DIR, rootfs.tar[.gz|.zst], or an OCI/docker-save image archive' })
      .option('out', { type: 'string', default: '.', describe: 'directory for the layer files' })
      .option('format', { choices: ['squashfs', 'erofs'] as const, default: 'squashfs' as const, describe: 'layer filesystem' })
      .option('squash', { type: 'boolean', default: false, describe: "an image's layers become one layer instead of NAME-1 (bottom) … NAME-N" })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite existing layer files' })
      .option('allow-devices', { type: 'boolean', default: false, describe: 'accept device nodes (whiteouts are always accepted)' })
      .option('max-bytes', { type: 'number', default: DEFAULT_LIMITS.maxBytes, describe: 'refuse archives whose files add up to more' })
      .option('conf', { type: 'string', describe: 'also write a ruckusrd.conf naming the built layers here' })
      .option('verity', { type: 'boolean', default: false, describe: 'also write NAME.sqsh.verity (dm-verity hash tree) and print the root hashes' }) as unknown as Argv<BuildArgs>,
  handler: async (a) => {
    if (!existsSync(a.out) || !statSync(a.out).isDirectory()) throw new UserError(`--out ${a.out} is not a directory`);
    const names = await buildLayers({
      name: checkLayerName(a.name), from: a.from, outDir: a.out, format: a.format, squash: a.squash, force: a.force,
      limits: { allowDevices: a.allowDevices, maxBytes: a.maxBytes }, epoch: epochFromEnv(),
    });
    const line = `sqsh_layers=${names.join(':')}`;
    if (a.conf) await writeConfAtomic(a.conf, renderConf(new Map([['sqsh_layers', names.join(':')]])));
    process.stdout.write(`${line}\n`);
    if (!a.verity) return;
    const roots = [];
    for (const n of names) roots.push({ name: n, hash: await writeVerity(join(a.out, `${n}.sqsh`), true) });
    process.stdout.write(`${verityRootsLine(roots)}\n`);
  },
};

/** `layer verity FILE…`: a hash tree for layer files that exist (built elsewhere, or before --verity). */
const verityCommand: CommandModule<object, { files: string[]; force: boolean }> = {
  command: 'verity <files..>',
  describe: 'write FILE.verity (dm-verity hash tree) beside each layer file and print the root hashes',
  builder: (y: Argv) =>
    y
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'layer files NAME.sqsh' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing NAME.sqsh.verity' }) as unknown as Argv<{ files: string[]; force: boolean }>,
  handler: async (a) => {
    const roots = [];
    for (const f of a.files) {
      if (!existsSync(f) || !statSync(f).isFile()) throw new UserError(`${f} is not a layer file`);
      roots.push({ name: checkLayerName(layerNameOf(f)), hash: await writeVerity(f, a.force) });
    }
    process.stdout.write(`${verityRootsLine(roots)}\n`);
  },
};

/** A layer name is a file name at boot too: the rules of params.ts `name`. */
export function checkLayerName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.includes('..') || name === 'upper') {
    throw new UserError(`invalid layer name ${JSON.stringify(name)}: letters, digits, . _ - only (not "upper")`);
  }
  return name;
}

export const layerCommand: CommandModule = {
  command: 'layer <command>',
  describe: 'layer files for CI pipelines (layer build, layer verity)',
  builder: (y: Argv) => y.command(buildCommand).command(verityCommand).demandCommand(1),
  handler: () => {},
};

export const layerCommands: CommandModule[] = [layerCommand, ...layerOpCommands];

/**
 * The name this binary was started under: installed as a `ruckusrd` link it answers to the seed's
 * `ruckusrd sqsh-…` spelling (the commands are the same; only the name in help and usage changes).
 * /proc/self/cmdline keeps argv[0] as typed; a compiled Bun binary's process.argv[0] is "bun".
 */
export function invokedAs(): string {
  let arg0 = '';
  try {
    arg0 = readFileSync('/proc/self/cmdline', 'utf8').split('\0')[0] ?? '';
  } catch {}
  return arg0.slice(arg0.lastIndexOf('/') + 1) === 'ruckusrd' ? 'ruckusrd' : 'mkruckus';
}
