// SPDX-License-Identifier: GPL-2.0-or-later
// OUT of the default command must never be a subcommand's name, or one mistyped: `mkruckus updte`
// would otherwise build a 8 MB file named `updte` and exit 0 (as `update` itself once did).
import { UserError } from '../log.ts';

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Throws when OUT is a command name or within one edit of one (case ignored). A path with a `/`
 * (`./update`) is always a file: that is how to name such a file on purpose.
 */
export function checkOutName(out: string, commands: readonly string[]): void {
  if (out.includes('/')) return;
  const word = out.toLowerCase();
  const near = commands.find((c) => editDistance(word, c) <= 1);
  if (near === undefined) return;
  const what = word === near ? `'${out}' is the ${near} command` : `unknown command '${out}'; did you mean '${near}'?`;
  throw new UserError(`${what} (to write an image file of that name, say ./${out})`);
}

/** The commands a yargs instance knows (names and aliases), through its internal command table. */
export function commandNames(y: unknown): string[] {
  const internal = y as { getInternalMethods(): { getCommandInstance(): { getCommands(): string[] } } };
  return internal.getInternalMethods().getCommandInstance().getCommands().filter((n) => n !== '$0');
}
