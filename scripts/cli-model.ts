// SPDX-License-Identifier: GPL-2.0-or-later
// The command line as data, read from the yargs instance src/main.ts builds (every command, its
// options and positionals), with the option table's value hints (src/core/options.ts) laid over it.
// The zsh completion is rendered from this, so a new command or flag reaches it without an edit here.
import yargs from 'yargs';
import { cli } from '../src/main.ts';
import { GLOBAL_OPTIONS, OPTIONS, UPDATE_OPTIONS, type OptionSpec } from '../src/core/options.ts';

const TABLE = new Map<string, OptionSpec>([...OPTIONS, ...UPDATE_OPTIONS, ...GLOBAL_OPTIONS].map((o) => [o.name, o]));

export interface CliOption {
  name: string;
  alias?: string;
  help: string;
  /** false for a flag */
  takesValue: boolean;
  /** a list option may be given more than once */
  repeat: boolean;
  choices?: readonly string[];
  complete?: OptionSpec['complete'];
  arg: string;
}

export interface CliCommand {
  name: string;
  help: string;
  positionals: string[];
  options: CliOption[];
  subcommands: CliCommand[];
}

/** yargs' internals: the command table of an instance and what a builder declared. */
interface Handler {
  original: string;
  description: string | false;
  builder?: ((y: unknown) => unknown) | Record<string, unknown>;
}
interface Internal {
  getInternalMethods(): {
    getCommandInstance(): { getCommandHandlers(): Record<string, Handler> };
    getUsageInstance(): { getDescriptions(): Record<string, string | undefined> };
  };
  getOptions(): { key: Record<string, boolean>; boolean: string[]; alias: Record<string, string[]>; choices: Record<string, string[]> };
  options(o: unknown): Internal;
}

const HIDDEN = new Set(['help', 'version']);

function optionsOf(y: Internal, positionals: readonly string[]): CliOption[] {
  const o = y.getOptions();
  const help = y.getInternalMethods().getUsageInstance().getDescriptions();
  const aliases = new Set(Object.values(o.alias).flat());
  return Object.keys(o.key)
    .filter((k) => !HIDDEN.has(k) && !aliases.has(k) && !positionals.includes(k))
    .map((name) => {
      const row = TABLE.get(name);
      const takesValue = !o.boolean.includes(name);
      return {
        name,
        alias: o.alias[name]?.[0],
        help: row?.help ?? help[name] ?? name,
        takesValue,
        repeat: row?.type === 'list',
        choices: row?.choices ?? o.choices[name],
        // A table row without a hint takes free text (--cmdline); other commands' values are paths.
        complete: row !== undefined ? row.complete : takesValue ? 'file' : undefined,
        arg: row?.arg ?? name.toUpperCase(),
      };
    });
}

function commandsOf(y: Internal): CliCommand[] {
  const handlers = y.getInternalMethods().getCommandInstance().getCommandHandlers();
  return Object.entries(handlers).map(([name, h]) => {
    const positionals = [...h.original.matchAll(/[<[]([^>\]]+)[>\]]/g)].map((m) => m[1]!);
    const sub = yargs([]) as unknown as Internal;
    const built = (typeof h.builder === 'function' ? h.builder(sub) : sub.options(h.builder ?? {})) as Internal | undefined;
    const inner = built ?? sub;
    return {
      name,
      help: h.description === false ? '' : h.description,
      positionals,
      options: optionsOf(inner, positionals),
      subcommands: name === '$0' ? [] : commandsOf(inner),
    };
  });
}

/** Every command of `mkruckus` (`create` first: it is also the default), with the global options. */
export function cliModel(): { commands: CliCommand[]; global: CliOption[] } {
  const y = cli([]) as unknown as Internal;
  const global = optionsOf(y, []);
  return { commands: commandsOf(y), global };
}
