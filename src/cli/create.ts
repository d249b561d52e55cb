// SPDX-License-Identifier: GPL-2.0-or-later
// `mkruckus [create] OUT.img`: flags → BuildRequest → build().
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { build, type BuildResult } from '../build.ts';
import { buildRequest, COMPRESSIONS, PLACEMENTS, SECOND_STAGES } from '../core/request.ts';
import { readConfigFiles } from '../host/config.ts';
import { info, isVerbose } from '../log.ts';

interface CreateArgs {
  out: string;
  kernel?: string;
  base: string;
  force?: boolean;
  'dry-run'?: boolean;
  compress?: string;
  add?: string[];
  omit?: string[];
  modules?: string[];
  'second-stage'?: string;
  'second-stage-placement'?: string;
  'second-stage-out'?: string;
  ucode?: string;
  'no-ucode'?: boolean;
}

// Repeated lists accumulate (`--add a --add b,c`). Not `array: true`: an array option is greedy and
// would swallow OUT in `--add foo out.img`.
const list = { type: 'string', requiresArg: true, coerce: (v: unknown) => [v].flat().map(String) } as const;
// A repeated single-value flag takes its last value (getopt's rule) instead of becoming an array.
const last = (v: unknown) => (Array.isArray(v) ? v.at(-1) : v);

function builder(y: Argv): Argv<CreateArgs> {
  return y
    .positional('out', { type: 'string', describe: 'the image to write', demandOption: true })
    .option('kernel', { alias: 'k', type: 'string', coerce: last, describe: 'kernel version or unique prefix (default: running)' })
    .option('base', { type: 'string', default: '/', coerce: last, describe: 'system to take files from' })
    .option('compress', { type: 'string', choices: COMPRESSIONS, coerce: last, describe: 'compression (default zstd)' })
    .option('add', { ...list, describe: 'add build modules (repeat or comma-separate)' })
    .option('omit', { ...list, describe: 'leave build modules out (repeat or comma-separate)' })
    .option('modules', { ...list, describe: 'use exactly these build modules (repeat or comma-separate)' })
    .option('second-stage', { type: 'string', choices: SECOND_STAGES, coerce: last, describe: 'second-stage image type' })
    .option('second-stage-placement', {
      type: 'string', choices: PLACEMENTS, coerce: last,
      describe: 'embedded: inside OUT (squash module); boot: beside OUT (storage-init module)',
    })
    .option('second-stage-out', { type: 'string', coerce: last, describe: 'second stage file for --second-stage-placement boot (default OUT.stage2)' })
    .option('ucode', { type: 'string', coerce: last, describe: 'early microcode cpio to prepend' })
    .option('no-ucode', { type: 'boolean', describe: 'no early microcode' })
    .conflicts('ucode', 'no-ucode') as unknown as Argv<CreateArgs>;
}

async function handler(args: ArgumentsCamelCase<CreateArgs>): Promise<void> {
  const req = buildRequest(
    {
      out: args.out,
      kernel: args.kernel,
      base: args.base,
      force: args.force,
      dryRun: args['dry-run'],
      compress: args.compress,
      add: args.add,
      omit: args.omit,
      modules: args.modules,
      secondStage: args['second-stage'],
      secondStagePlacement: args['second-stage-placement'],
      secondStageOut: args['second-stage-out'],
      ucode: args.ucode,
      noUcode: args['no-ucode'],
    },
    readConfigFiles(args.base),
    process.env,
  );
  const result = await build(req);
  if (req.dryRun) process.stdout.write(renderDryRun(result));
  else if (isVerbose()) info(`wrote ${req.out}: ${describeSizes(result)}`);
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
  ];
  return lines.join('\n') + '\n';
}

export const createCommand: CommandModule<object, CreateArgs> = {
  command: ['create <out>', '$0 <out>'],
  describe: 'build an initramfs image (the default command)',
  builder,
  handler,
};
