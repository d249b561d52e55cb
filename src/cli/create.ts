// SPDX-License-Identifier: GPL-2.0-or-later
// `mkruckus [create] OUT.img`: flags → BuildRequest → build().
import type { ArgumentsCamelCase, Argv, CommandModule, Options } from 'yargs';
import { build, type BuildResult } from '../build.ts';
import { defaultText, OPTIONS, withDefaults, type OptionSpec } from '../core/options.ts';
import { buildRequest, type CreateFlags } from '../core/request.ts';
import { readConfigFiles } from '../host/config.ts';
import { STDOUT } from '../host/output.ts';
import { info, isVerbose, UserError } from '../log.ts';

// A repeated single-value flag takes its last value (getopt's rule) instead of becoming an array.
const last = (v: unknown) => (Array.isArray(v) ? v.at(-1) : v);

/**
 * One row of the option table as a yargs option. No yargs `default`: an option left out must stay
 * undefined so that a config file can set it (the defaults are applied after the merge); help shows
 * them through `defaultDescription`. `requiresArg`: `--kernel` at the end is an error, not ''.
 */
export function yargsOption(o: OptionSpec): Options {
  const common: Options = { describe: o.help };
  if (o.alias !== undefined) common.alias = o.alias;
  const shown = defaultText(o);
  if (shown !== undefined) common.defaultDescription = shown.replaceAll('`', '');
  if (o.conflicts !== undefined) common.conflicts = o.conflicts;
  if (o.type === 'boolean') return { ...common, type: 'boolean', coerce: last };
  if (o.type === 'string') return { ...common, type: 'string', requiresArg: true, choices: o.choices, coerce: last };
  // Repeated lists accumulate (`--add a --add b,c`; the commas are split in the request). Not
  // `array: true`: an array option is greedy and would swallow OUT in `--add foo out.img`.
  return { ...common, type: 'string', requiresArg: true, coerce: (v: unknown) => [v].flat().map(String) };
}

/** Rows of the table as yargs' `.options()` argument. */
export function yargsOptions(rows: readonly OptionSpec[], extra: Options = {}): Record<string, Options> {
  return Object.fromEntries(rows.map((o) => [o.name, { ...yargsOption(o), ...extra }]));
}

function builder(y: Argv): Argv<CreateFlags> {
  return y
    .positional('out', { type: 'string', describe: 'the image to write', demandOption: true })
    .options(yargsOptions(OPTIONS)) as unknown as Argv<CreateFlags>;
}

const DEFAULT_BASE = withDefaults({}).base;

// yargs' camel-case expansion gives every option its OptionValues field (`dry-run` → `dryRun`).
async function handler(args: ArgumentsCamelCase<CreateFlags>): Promise<void> {
  // yargs hands a positional `-` over as ''; `-` (standard output) is what was typed.
  if (args.out === '' && process.argv.slice(2).includes('-')) args.out = '-';
  const req = buildRequest(args, readConfigFiles(args.base ?? DEFAULT_BASE), process.env);
  // A /boot second stage and OUT are replaced as a pair; standard output cannot be one half of it.
  if (req.out === STDOUT && req.secondStage !== 'none' && req.placement === 'boot') {
    throw new UserError('OUT - (standard output) cannot be written with a second stage placed beside it (--second-stage-placement boot): write OUT to a file, or use --second-stage-placement embedded');
  }
  const result = await build(req);
  if (req.dryRun) process.stdout.write(renderDryRun(result));
  // the kernel named in full: --kernel takes a prefix, and no default names one
  else if (isVerbose()) info(`wrote ${req.out} for kernel ${result.kernelVersion}: ${describeSizes(result)}`);
}

function describeSizes(r: BuildResult): string {
  const stage2 = r.sizes.stage2 ? `, ${r.sizes.stage2} of second stage` : '';
  return `${r.plan.length} entries, ${r.sizes.cpio} bytes of cpio, ${r.sizes.compressed} compressed, ${r.sizes.ucode} of microcode${stage2}`;
}

function renderEntries(entries: BuildResult['plan']): string[] {
  return entries.map(({ owner, item }) => {
    const size = item.kind === 'bytes' ? ` ${item.data.length}` : '';
    const extra = item.kind === 'symlink' ? ` -> ${item.target}` : item.kind === 'file' ? ` < ${item.source}` : '';
    return `  ${item.kind.padEnd(7)} ${item.path}${extra}${size} [${owner}]`;
  });
}

export function renderDryRun(r: BuildResult): string {
  const lines = [
    `kernel: ${r.kernelVersion}`,
    `modules: ${r.modules.join(' ')}`,
    `kernel modules (${r.kernelModules.length}): ${r.kernelModules.join(' ')}`,
    `entries: ${r.plan.length}`,
    ...renderEntries(r.plan),
    ...(r.secondStage.length ? [`second stage entries: ${r.secondStage.length}`, ...renderEntries(r.secondStage)] : []),
    ...(r.uki ?? []),
  ];
  return lines.join('\n') + '\n';
}

export const createCommand: CommandModule<object, CreateFlags> = {
  command: ['create <out>', '$0 <out>'],
  describe: 'build an initramfs image (the default command)',
  builder,
  handler,
};
