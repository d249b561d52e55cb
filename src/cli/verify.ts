// SPDX-License-Identifier: GPL-2.0-or-later
// `mkruckus verify IMG`: would it boot? One line per problem on stdout (`IMG: error: …`,
// `IMG: warning: …` for firmware a module names but the image lacks); exit 0 when it boots, 1 when not.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { verifyImageFile } from '../host/verify.ts';
import { UserError } from '../log.ts';

interface VerifyArgs {
  image: string;
}

export const verifyCommand: CommandModule<{}, VerifyArgs> = {
  command: 'verify <image>',
  describe: 'check that an image can boot: /init, interpreters, libraries, kernel modules and their index, firmware, the second stage',
  builder: (y: Argv) => y.positional('image', { type: 'string', describe: 'the initramfs image to check', demandOption: true }) as unknown as Argv<VerifyArgs>,
  handler: async (args: ArgumentsCamelCase<VerifyArgs>) => {
    const problems = await verifyImageFile(args.image);
    const text = problems.map((p) => `${args.image}: ${p.severity}: ${p.text.replace(/[\x00-\x1f\x7f]/g, '?')}\n`).join('');
    if (text) await new Promise<void>((done) => process.stdout.write(text, () => done()));
    const errors = problems.filter((p) => p.severity === 'error').length;
    if (errors) throw new UserError(`${args.image} would not boot: ${errors} problem${errors === 1 ? '' : 's'}`);
  },
};
