// SPDX-License-Identifier: GPL-2.0-or-later
// sqsh-init, sqsh-commit, sqsh-merge, layers/status (SPEC §3): argument parsing only; the flows
// are src/host/layer-commands.ts and layer-init.ts.
import type { Argv, CommandModule } from 'yargs';
import { type OpFlags, sqshCommit, sqshMerge } from '../host/layer-commands.ts';
import { layersStatus, sqshInit } from '../host/layer-init.ts';
import { UserError } from '../log.ts';

type Flags = OpFlags & { merge?: number };

function opFlags(y: Argv): Argv<Flags> {
  return y
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing layer file; go on when the command line names the stack' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the steps, change nothing' })
    .option('reboot', { type: 'boolean', default: false, describe: 'reboot when done (required by commands that need one, refused by the others)' })
    .check((a) => !(a.force && a['dry-run']) || 'use either --force or --dry-run') as unknown as Argv<Flags>;
}

const name = (v: unknown): string => {
  const s = String(v);
  if (!/^[A-Za-z0-9._-]+$/.test(s) || s.includes('..') || s === 'upper') throw new UserError(`invalid layer name ${JSON.stringify(s)}: letters, digits, . _ - only (not "upper")`);
  return s;
};
const count = (v: unknown, what: string): number => {
  const s = String(v);
  if (!/^\d+$/.test(s)) throw new UserError(`${what} must be a number, not ${s}`);
  return Number(s);
};

export const layerOpCommands: CommandModule[] = [
  {
    command: 'sqsh-init <layername> <rootname>',
    describe: 'make the first layer from the running traditional root; ROOTNAME holds layers and upper',
    builder: (y: Argv) => opFlags(y),
    handler: (a) => sqshInit(name(a.layername), String(a.rootname), a as unknown as Flags),
  },
  {
    command: 'sqsh-commit <layername>',
    describe: 'the upper becomes the new top layer (persistent upper: finished by /init at the next boot)',
    builder: (y: Argv) =>
      opFlags(y)
        .option('merge', { type: 'number', describe: 'merge the new layer with the top N lower layers (persistent upper: by /init at the next boot)' })
        .option('format', { choices: ['squashfs', 'erofs'] as const, describe: 'format of a layer written live (ram_layer); default: erofs when the merged layers all are, else squashfs' }),
    handler: (a) => sqshCommit(name(a.layername), a.merge === undefined ? 0 : count(a.merge, '--merge'), a as unknown as Flags),
  },
  {
    command: 'sqsh-merge <n> <layername>',
    describe: 'merge the top N lower layers into one, keeping their whiteouts',
    builder: (y: Argv) =>
      opFlags(y).option('format', { choices: ['squashfs', 'erofs'] as const, describe: 'format of the merged layer; default: erofs when the merged layers all are, else squashfs' }),
    handler: (a) => sqshMerge(count(a.n, 'N'), name(a.layername), a as unknown as Flags),
  },
  {
    command: ['layers', 'status'],
    describe: 'the booted stack, each layer\'s size and format, the next boot\'s stack, pending and last operations',
    handler: () => layersStatus(),
  },
];
