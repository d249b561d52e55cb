#!/usr/bin/env bun
// SPDX-License-Identifier: GPL-2.0-or-later
// Entry point: static command registration and the single error → exit code handler.
import yargs from 'yargs';
import { createCommand } from './cli/create.ts';
import { inspectCommand } from './cli/inspect.ts';
import { setVerbose, UserError } from './log.ts';
import { VERSION } from './version.ts';

export async function main(argv: string[]): Promise<number> {
  setVerbose(argv.includes('--verbose') || argv.includes('-v'));
  try {
    await yargs(argv)
      .scriptName('mkruckus')
      .usage('$0 [create] [options] OUT.img\n$0 inspect IMG')
      .command(createCommand)
      .command(inspectCommand)
      .option('verbose', { alias: 'v', type: 'boolean', global: true, describe: 'explain each step' })
      .option('force', { type: 'boolean', global: true, describe: 'overwrite existing output' })
      .option('dry-run', { type: 'boolean', global: true, describe: 'resolve and print; write nothing' })
      .version(VERSION)
      .strict()
      .demandCommand(1)
      .fail((msg, err) => {
        throw err ?? new UserError(msg);
      })
      .help()
      .wrap(Math.min(100, process.stdout.columns ?? 100))
      .parseAsync();
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

// exitCode, not exit(): exit() would cut off output still queued for a pipe.
if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
