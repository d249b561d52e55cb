#!/usr/bin/env bun
// SPDX-License-Identifier: GPL-2.0-or-later
// Entry point: static command registration and the single error → exit code handler.
import yargs, { type Argv, type CommandModule } from 'yargs';
import { createCommand, yargsOptions } from './cli/create.ts';
import { inspectCommand } from './cli/inspect.ts';
import { removeCommand, updateCommand } from './cli/update.ts';
import { verifyCommand } from './cli/verify.ts';
import { checkOutName, commandNames } from './core/command-names.ts';
import { invokedAs, layerCommands } from './cli/layers.ts';
import { GLOBAL_OPTIONS } from './core/options.ts';
import type { CreateFlags } from './core/request.ts';
import { setVerbose, UserError } from './log.ts';
import { VERSION } from './version.ts';

/**
 * The command line, configured but not parsed. `create` is a parameter so that tests can see what a
 * command line parses to without building (test/unit/options.test.ts).
 */
export function cli(argv: string[], create: CommandModule<object, CreateFlags> = createCommand): Argv {
  const y = yargs(argv)
    .scriptName(invokedAs())
    .usage('$0 [create] [options] OUT.img\n$0 inspect IMG\n$0 verify IMG\n$0 update [-k VER|--all] [--dest PATTERN]\n$0 remove -k VER\n$0 sqsh-init|sqsh-commit|sqsh-merge|layers|layer build …')
    .command(create)
    .command(inspectCommand)
    .command(verifyCommand)
    .command(updateCommand)
    .command(removeCommand)
    .command(layerCommands)
    .options(yargsOptions(GLOBAL_OPTIONS, { global: true }))
    .version(VERSION)
    // `--no-ucode` is a flag of its own: with negation on, yargs reads it as `--ucode=false`, and
    // `--no-ucode --ucode F` becomes ucode = [false, 'F'] instead of a conflict.
    .parserConfiguration({ 'boolean-negation': false })
    .strict()
    .demandCommand(1)
    .fail((msg, err) => {
      // yargs reports some flag errors as a YError ("Not enough arguments following: add"): those
      // are the user's, not ours. Some span lines ("Invalid values:\n  Argument: …"); we print one.
      if (err && err.name !== 'YError') throw err;
      throw new UserError((msg ?? err?.message ?? 'invalid arguments').replace(/\s*\n\s*/g, ' '));
    })
    .help()
    .wrap(Math.min(100, process.stdout.columns ?? 100));
  // OUT of the default command is never a command's name or a typo of one (command-names.ts). The
  // names are read now: inside a command, yargs' command table is reset.
  const names = commandNames(y);
  return y.middleware((a) => {
    if ((a._.length === 0 || a._[0] === 'create') && typeof a.out === 'string') checkOutName(a.out, names);
  });
}

export async function main(argv: string[]): Promise<number> {
  setVerbose(argv.includes('--verbose') || argv.includes('-v'));
  try {
    await cli(argv).parseAsync();
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof UserError) {
    process.stderr.write(`mkruckus: error: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`mkruckus: error: ${e.message}\n`);
  if (process.argv.includes('--verbose') || process.argv.includes('-v')) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('mkruckus: (run with --verbose for details)\n');
  return 70;
}

/**
 * A reader that went away (`mkruckus --dry-run | head -1`) ends the run as it ends cat's: quietly,
 * with the status of SIGPIPE, instead of an unhandled stream error and its stack trace.
 */
function exitOnClosedStdout(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
  process.exit(128 + 13);
}

if (import.meta.main) {
  process.stdout.on('error', exitOnClosedStdout);
  // exitCode, not exit(): exit() would cut off output still queued for a pipe.
  process.exitCode = await main(process.argv.slice(2));
}
