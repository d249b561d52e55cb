// SPDX-License-Identifier: GPL-2.0-or-later
// `mkruckus update [-k VER|--all]` and `mkruckus remove -k VER`: the images of installed kernels
// at their place in /boot (update-initramfs -u / -d, dracut --regenerate-all), each with its
// /boot second stage beside it. What the kernel hooks in packaging/ call.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { build } from '../build.ts';
import { selectKernel } from '../core/kernel.ts';
import { OPTIONS, UPDATE_OPTIONS, withDefaults, type OptionSpec } from '../core/options.ts';
import { buildRequest, type CreateFlags } from '../core/request.ts';
import { readConfigFiles } from '../host/config.ts';
import { listInstalledKernels, runningKernel } from '../host/kernels.ts';
import { acquireLock } from '../host/lock.ts';
import { secondStagesOf } from '../host/stage2-pair.ts';
import { UserError } from '../log.ts';
import { yargsOptions } from './create.ts';
import { plainImageFlags, removeOwnUkis, updateOwnUkis } from './update-uki.ts';

type UpdateFlags = Omit<CreateFlags, 'out'> & { all?: boolean; dest?: string };

const DEFAULT_BASE = withDefaults({}).base;
const baseOf = (args: { base?: string }): string => args.base ?? DEFAULT_BASE;
const DEFAULT_DEST = UPDATE_OPTIONS.find((o) => o.name === 'dest')!.default;
/** Build options that make no sense per kernel: OUT and its second stage follow --dest, and an update always replaces. */
const NOT_FOR_UPDATE = new Set(['force', 'second-stage-out']);
const BUILD_ROWS = (OPTIONS as readonly OptionSpec[]).filter((o) => !NOT_FOR_UPDATE.has(o.name));
const DEST_ROW = UPDATE_OPTIONS.filter((o) => o.name === 'dest');

/** The lock file of a system: one update or remove at a time, whatever their destinations. */
export const lockPath = (base: string): string => join(base, 'run/mkruckus.lock');

/** The image path of `kver` under the base; the pattern must name the kernel when several are built. */
export function destinationOf(base: string, pattern: string, kver: string): string {
  if (!/^[A-Za-z0-9._+~-]+$/.test(kver)) throw new UserError(`invalid kernel version '${kver}'`);
  return join(base, pattern.replaceAll('{kver}', kver));
}

/** Kernels to build: `-k` (an exact version or a unique prefix), `--all`, or the newest one. */
function pickKernels(base: string, kernel: string | undefined, all: boolean): string[] {
  const installed = listInstalledKernels(base).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (kernel !== undefined) return [selectKernel(installed, kernel, runningKernel(), base)];
  if (installed.length === 0) throw new UserError(`no kernel with modules under ${join(base, 'lib/modules')}`);
  return all ? installed : [installed.at(-1)!];
}

function megabytes(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

async function updateOne(args: UpdateFlags, kver: string, dest: string): Promise<string> {
  const flags: CreateFlags = plainImageFlags({ ...args, kernel: kver, out: dest, force: true, secondStageOut: `${dest}.stage2` });
  const req = buildRequest(flags, readConfigFiles(baseOf(args)), process.env);
  const result = await build(req);
  const companion = req.secondStage !== 'none' && req.placement === 'boot';
  if (req.dryRun) return `${kver}: would write ${dest}${companion ? ` and ${req.secondStageOut}` : ''}`;
  // A second stage left from a build with another configuration would outlive its image's use.
  if (!companion) for (const f of secondStagesOf(req.secondStageOut)) rmSync(f, { force: true });
  const size = result.sizes.ucode + result.sizes.compressed;
  return `${kver}: ${dest} (${megabytes(size)}${companion ? `; second stage ${megabytes(result.sizes.stage2)}` : ''})`;
}

async function updateHandler(args: ArgumentsCamelCase<UpdateFlags>): Promise<void> {
  const base = baseOf(args);
  const pattern = args.dest ?? DEFAULT_DEST;
  const kernels = pickKernels(base, args.kernel, args.all ?? false);
  if (!pattern.includes('{kver}') && kernels.length > 1) {
    throw new UserError(`--dest ${pattern} has no {kver}: every kernel would write the same file`);
  }
  const lock = await acquireLock(lockPath(base));
  try {
    for (const kver of kernels) {
      process.stdout.write(`${await updateOne(args, kver, destinationOf(base, pattern, kver))}\n`);
      // The system's images (what the kernel hooks keep): then its UKIs too; a --dest elsewhere is a build of its own.
      if (pattern === DEFAULT_DEST) for (const line of await updateOwnUkis(args, base, kver)) process.stdout.write(`${line}\n`);
    }
  } finally {
    lock.release();
  }
}

/** `remove`: the kernel's modules may be gone already (postrm), so the version is taken as given. */
async function removeHandler(args: ArgumentsCamelCase<{ kernel: string; base?: string; dest?: string }>): Promise<void> {
  const base = baseOf(args);
  const dest = destinationOf(base, args.dest ?? DEFAULT_DEST, args.kernel);
  const lock = await acquireLock(lockPath(base));
  try {
    // Its second stages are named by their content (`DEST.stage2-` and a hash; `DEST.stage2` before).
    const gone = [dest, ...secondStagesOf(`${dest}.stage2`)].filter((f) => existsSync(f));
    // The image first: interrupted in between, an orphan second stage is harmless, while an image
    // whose second stage is gone would stop the boot.
    for (const f of gone) rmSync(f, { force: true });
    process.stdout.write(gone.length ? `${args.kernel}: removed ${gone.join(' ')}\n` : `${args.kernel}: no image at ${dest}\n`);
    if ((args.dest ?? DEFAULT_DEST) === DEFAULT_DEST) for (const line of await removeOwnUkis(base, args.kernel)) process.stdout.write(`${line}\n`);
  } finally {
    lock.release();
  }
}

export const updateCommand: CommandModule<object, UpdateFlags> = {
  command: 'update',
  describe: 'rebuild the images of installed kernels in place (default: the newest kernel)',
  builder: (y: Argv) => y.options(yargsOptions([...BUILD_ROWS, ...UPDATE_OPTIONS])) as unknown as Argv<UpdateFlags>,
  handler: updateHandler,
};

const removeRows = (OPTIONS as readonly OptionSpec[]).filter((o) => o.name === 'base');

export const removeCommand: CommandModule<object, { kernel: string; base?: string; dest?: string }> = {
  command: 'remove',
  describe: 'delete the image of a kernel and its second stage',
  builder: (y: Argv) =>
    y
      .options(yargsOptions([...removeRows, ...DEST_ROW]))
      .option('kernel', { alias: 'k', type: 'string', requiresArg: true, demandOption: true, describe: 'the exact kernel version' }) as unknown as Argv<{
      kernel: string;
      base?: string;
      dest?: string;
    }>,
  handler: removeHandler,
};
