// SPDX-License-Identifier: GPL-2.0-or-later
// The option table (src/core/options.ts) and everything derived from it agree: yargs' flags and
// help, the mkruckus.conf keys, the flags-over-files merge, the man page, the bash completion and
// README's table. Row by row, so that a new row is checked without a new test.
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgumentsCamelCase } from 'yargs';
import { renderManPage, renderOptionTable, updateReadme } from '../../scripts/gen-docs.ts';
import { renderBashCompletion } from '../../scripts/gen-bash.ts';
import { cliModel } from '../../scripts/cli-model.ts';
import { createCommand } from '../../src/cli/create.ts';
import { parseConfig } from '../../src/core/config.ts';
import { configKeys, GLOBAL_OPTIONS, mergeOptions, OPTIONS, optionField, type FileConfig, type OptionSpec } from '../../src/core/options.ts';
import { buildRequest, type CreateFlags } from '../../src/core/request.ts';
import { MODULES } from '../../src/generated/assets.ts';
import { cli } from '../../src/main.ts';
import { UserError } from '../../src/log.ts';
import { missing, testNeeding } from './need.ts';

const ROWS = OPTIONS as readonly OptionSpec[];
const ALL: readonly OptionSpec[] = [...ROWS, ...GLOBAL_OPTIONS];
const CONFIG_ROWS = ROWS.filter((o) => o.config !== undefined);
const ROOT = join(import.meta.dir, '../..');

/** What a command line parses to: the create handler swapped for one that keeps its arguments. */
async function parseFlags(args: string[]): Promise<CreateFlags> {
  let got: CreateFlags | undefined;
  const capture = { ...createCommand, handler: (a: ArgumentsCamelCase<CreateFlags>) => void (got = a) };
  await cli(args, capture).exitProcess(false).parseAsync();
  if (!got) throw new Error(`create did not run for ${args.join(' ')}`);
  return got;
}

const field = (o: OptionSpec): string => optionField(o.name);
const valueOf = (values: object, o: OptionSpec): unknown => (values as Record<string, unknown>)[field(o)];
/** A value the row accepts, as flag words and as a config value. */
const sample = (o: OptionSpec): string => o.choices?.at(-1) ?? (o.type === 'list' ? 'kmod' : 'x.cpio');

describe('the table', () => {
  test('names, aliases and config keys are unique', () => {
    const names = ALL.flatMap((o) => [o.name, ...(o.alias === undefined ? [] : [o.alias])]);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(configKeys()).size).toBe(CONFIG_ROWS.length);
  });

  test.each(ROWS.map((o) => [o.name, o] as const))('%s is consistent', (_, o) => {
    expect(o.name).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(o.merge !== undefined).toBe(o.type === 'list');
    if (o.conflicts !== undefined) expect(ROWS.find((p) => p.name === o.conflicts)?.conflicts).toBe(o.name);
    if (o.choices !== undefined && typeof o.default === 'string') expect(o.choices).toContain(o.default);
    if (o.type !== 'boolean') expect(o.arg).toBeDefined();
    expect(o.help).not.toMatch(/\n/);
  });
});

describe('flags (yargs, as main.ts configures it)', () => {
  test('every row and choice is in --help', async () => {
    const help = await cli(['create']).exitProcess(false).getHelp();
    for (const o of ALL) {
      expect(help).toContain(`--${o.name}`);
      if (o.alias) expect(help).toContain(`-${o.alias}, --${o.name}`);
      for (const c of o.choices ?? []) expect(help).toContain(`"${c}"`);
    }
  });

  test.each(ROWS.filter((o) => o.choices).flatMap((o) => o.choices!.map((c) => [o.name, c] as const)))('--%s %s', async (name, choice) => {
    const o = ROWS.find((r) => r.name === name)!;
    expect(valueOf(mergeOptions(await parseFlags([`--${name}`, choice, 'out.img']), {}), o)).toBe(choice);
  });

  test.each(ROWS.filter((o) => o.choices).map((o) => [o.name]))('--%s bogus is one line naming it', async (name) => {
    const err = await parseFlags([`--${name}`, 'bogus', 'out.img']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(new RegExp(`${name}.*bogus`));
    expect((err as Error).message).not.toContain('\n');
  });

  test.each(ROWS.map((o) => [o.name, o] as const))('--%s: repeats, and OUT is never swallowed', async (name, o) => {
    const words = o.type === 'boolean' ? [`--${name}`, `--${name}`] : [`--${name}`, o.choices?.[0] ?? 'base', `--${name}`, sample(o)];
    const flags = await parseFlags([...words, 'out.img']);
    expect(flags.out).toBe('out.img');
    const merged = valueOf(mergeOptions(flags, {}), o);
    // A repeated single value takes the last; a list accumulates both.
    expect(merged).toEqual(o.type === 'boolean' ? true : o.type === 'list' ? ['base', sample(o)] : sample(o));
  });

  test.each(ROWS.filter((o) => o.type !== 'boolean').map((o) => [o.name]))('--%s without its value is an error', async (name) => {
    await expect(parseFlags(['out.img', `--${name}`])).rejects.toThrow(UserError);
  });

  test('list flags split commas; exclusive pairs conflict', async () => {
    expect(buildRequest(await parseFlags(['--add', 'a,b', '--add', 'c', 'o']), {}, {}).modules.add).toEqual(['a', 'b', 'c']);
    for (const o of ROWS.filter((r) => r.conflicts)) {
      const words = (r: OptionSpec) => (r.type === 'boolean' ? [`--${r.name}`] : [`--${r.name}`, sample(r)]);
      const partner = ROWS.find((r) => r.name === o.conflicts)!;
      await expect(parseFlags([...words(o), ...words(partner), 'o'])).rejects.toThrow(/mutually exclusive/);
    }
  });
});

describe('config file keys', () => {
  test.each(CONFIG_ROWS.map((o) => [o.config!, o] as const))('%s parses', (key, o) => {
    const value = o.type === 'boolean' ? 'yes' : o.type === 'list' ? 'a b,c' : sample(o);
    const parsed = parseConfig(`# c\n${key} = "${value}"\n`, 'f');
    expect(valueOf(parsed, o)).toEqual(o.type === 'boolean' ? true : o.type === 'list' ? ['a', 'b', 'c'] : value);
  });

  test.each(CONFIG_ROWS.filter((o) => o.choices).flatMap((o) => o.choices!.map((c) => [o.config!, c, o] as const)))('%s = %s', (key, c, o) => {
    expect(valueOf(parseConfig(`${key} = ${c}`, 'f'), o)).toBe(c);
  });

  test.each(CONFIG_ROWS.filter((o) => o.choices || o.type === 'boolean').map((o) => [o.config!]))('%s = bogus names file:line', (key) => {
    expect(() => parseConfig(`\n${key} = bogus`, 'etc/x.conf')).toThrow(new RegExp(`^etc/x\\.conf:2: invalid ${key} 'bogus'; expected one of: `));
  });

  test.each(ROWS.filter((o) => o.config === undefined).map((o) => [o.name]))('%s is not a key', (name) => {
    expect(() => parseConfig(`${name} = x`, 'f')).toThrow(`f:1: unknown key '${name}'`);
  });

  test.each(CONFIG_ROWS.filter((o) => o.type !== 'list').map((o) => [o.config!]))("%s += is an error", (key) => {
    expect(() => parseConfig(`${key} += yes`, 'f')).toThrow(/f:1: '\+=' needs a list key/);
  });

  test('lists: append rows accumulate over files, replace rows take =, extend with +=', () => {
    const c = parseConfig('add = a\nomit = x\nmodules = base kmod\n', 'a');
    parseConfig('add = b\nomit += y\nmodules = rootfs\nmodules += overlay\n', 'b', c);
    expect(c).toEqual({ add: ['a', 'b'], omit: ['x', 'y'], modules: ['rootfs', 'overlay'] });
  });

  test('an exclusive pair: the later setting wins, across files too', () => {
    expect(parseConfig('no-ucode = yes\nucode = u.cpio\n', 'f')).toEqual({ ucode: 'u.cpio' });
    const c = parseConfig('ucode = u.cpio\n', 'a');
    expect(parseConfig('no-ucode = 1\n', 'b', c)).toEqual({ noUcode: true });
    expect(parseConfig('ucode = u.cpio\nno-ucode = no\n', 'f')).toEqual({ ucode: 'u.cpio', noUcode: false });
  });
});

describe('flags win over files', () => {
  test.each(CONFIG_ROWS.map((o) => [o.name, o] as const))('%s', (_, o) => {
    const fileValue = o.type === 'boolean' ? false : o.type === 'list' ? ['from-file'] : o.choices?.[0] ?? 'file.cpio';
    const flagValue = o.type === 'boolean' ? true : o.type === 'list' ? ['from-flag'] : o.choices?.at(-1) ?? 'flag.cpio';
    const merged = valueOf(mergeOptions({ [field(o)]: flagValue }, { [field(o)]: fileValue } as FileConfig), o);
    expect(merged).toEqual(o.merge === 'append' ? ['from-file', 'from-flag'] : flagValue);
  });

  test('--ucode beats a file no-ucode; --no-ucode beats a file ucode', () => {
    expect(buildRequest({ out: 'o', ucode: 'u' }, { noUcode: true }, {}).ucode).toBe('u');
    expect(buildRequest({ out: 'o', noUcode: true }, { ucode: 'u' }, {}).ucode).toBe(false);
    expect(buildRequest({ out: 'o' }, { noUcode: true }, {}).ucode).toBe(false);
    expect(buildRequest({ out: 'o' }, {}, {}).ucode).toBeUndefined();
  });

  test('defaults come from the table', () => {
    const r = buildRequest({ out: 'o' }, {}, {});
    expect([r.base, r.compress, r.secondStage, r.placement, r.force, r.dryRun, r.secondStageOut]).toEqual(['/', 'zstd', 'none', 'embedded', false, false, 'o.stage2']);
    expect(r.modules).toEqual({ defaults: ['base', 'kmod', 'rootfs', 'overlay'], modules: undefined, add: [], omit: [] });
    const two = buildRequest({ out: 'o' }, { secondStage: 'erofs', secondStagePlacement: 'boot' }, {});
    expect([two.secondStage, two.placement, two.modules.defaults.at(-1)]).toEqual(['erofs', 'boot', 'storage-init']);
  });
});

describe('documentation', () => {
  const man = renderManPage();
  const manText = man.replaceAll('\\-', '-').replace(/\\f[BIR]/g, '');

  test.each(ALL.map((o) => [o.name, o] as const))('the man page has --%s', (name, o) => {
    expect(man).toContain(`.TP\n\\fB${`--${name}`.replaceAll('-', '\\-')}\\fR`);
    for (const c of o.choices ?? []) expect(manText).toContain(c);
    if (o.config) expect(manText).toContain(`Config key: ${o.config}.`);
  });

  test('README has the generated table, and it lists every option', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    // A stale table: run `bun run docs`.
    expect(updateReadme(readme)).toBe(readme);
    const table = renderOptionTable();
    for (const o of ALL) expect(table).toContain(`| \`--${o.name}`);
    for (const o of CONFIG_ROWS) expect(table).toMatch(new RegExp(`\\| \`${o.config}\` \\|$`, 'm'));
  });

  const MODULE_NAMES = MODULES.map((m) => m.name).sort();
  const model = cliModel();
  const script = renderBashCompletion(model.commands, model.global, MODULE_NAMES);
  /** COMPREPLY for a command line whose last word is being completed. */
  function complete(...words: string[]): string[] {
    const set = `COMP_WORDS=(mkruckus ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}`;
    const r = Bun.spawnSync(['bash', '-c', `${script}\n${set}; _mkruckus; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: ROOT });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    return r.stdout.toString().split('\n').filter(Boolean);
  }

  testNeeding(missing('bash'), 'the completion offers every flag, choice and module', () => {
    const flags = complete('--');
    for (const o of ALL) expect(flags).toContain(`--${o.name}`);
    for (const o of ROWS.filter((r) => r.choices)) expect(complete(`--${o.name}`, '')).toEqual([...o.choices!]);
    for (const o of ROWS.filter((r) => r.complete === 'module')) expect(complete(`--${o.name}`, '')).toEqual(MODULE_NAMES);
    expect(complete('--add', 'base,km')).toEqual(['base,kmod']);
    expect(complete('inspect', '--j')).toEqual(['--json']);
  });

  testNeeding(missing('bash'), 'every command, and each command its own options', () => {
    expect(complete('')).toEqual(expect.arrayContaining(model.commands.map((c) => c.name)));
    expect(complete('ver')).toContain('verify');
    expect(complete('layer', '')).toEqual(['build', 'verity']);
    expect(complete('layer', 'build', '--f')).toEqual(['--from', '--format', '--force']);
    expect(complete('layer', 'build', '--format', '')).toEqual(['squashfs', 'erofs']);
    expect(complete('sqsh-commit', '--m')).toEqual(['--merge']);
    expect(complete('update', '--a')).toEqual(['--add', '--add-drivers', '--all']);
    // Another command's options are not offered: --merge is sqsh-commit's, --from layer build's.
    expect(complete('update', '--m')).toEqual(['--modules']);
    expect(complete('--f')).not.toContain('--from');
  });

  testNeeding(missing('shellcheck'), 'the completion passes shellcheck -s bash', () => {
    const r = Bun.spawnSync(['shellcheck', '-s', 'bash', '-'], { stdin: new TextEncoder().encode(script) });
    expect(r.stdout.toString()).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
