// SPDX-License-Identifier: GPL-2.0-or-later
// The generated ruckusrd.conf(5) page (scripts/gen-conf-man.ts) rendered by man, and the zsh
// completion (scripts/gen-zsh.ts) loaded by a real interactive zsh and asked for completions.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderConfManPage } from '../../scripts/gen-conf-man.ts';
import { cliModel } from '../../scripts/cli-model.ts';
import { renderZshCompletion } from '../../scripts/gen-zsh.ts';
import { PARAMS } from '../../src/core/params.ts';
import { MODULES } from '../../src/generated/assets.ts';
import { describeNeeding, missing, testNeeding } from '../unit/need.ts';

const ROOT = join(import.meta.dir, '../..');
// Nothing here runs the binary: a scratch directory of its own, not helpers.ts's (which builds it).
let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mkruckus-docs-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('ruckusrd.conf(5)', () => {
  testNeeding(missing('man'), 'man -l renders every boot parameter, its kind and where it may be given', () => {
    const page = join(scratch, 'ruckusrd.conf.5');
    writeFileSync(page, renderConfManPage());
    const r = Bun.spawnSync(['man', '-l', page], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, MANWIDTH: '200' } });
    expect(r.stderr.toString()).toBe('');
    expect(r.exitCode).toBe(0);
    const text = r.stdout.toString();
    expect(text).toContain('RUCKUSRD.CONF(5)');
    // Each parameter's heading (`       root=DEVICE`), then its text up to the next heading.
    const lines = text.split('\n');
    for (const p of PARAMS) {
      const heading = `${p.name}${p.kind === 'flag' ? '' : `=${p.kind.toUpperCase()}`}`;
      // A short heading shares its line with the text (`       ro     Hand over ...`).
      const head = lines.findIndex((l) => l.startsWith(`       ${heading}`) && /^( |$)/.test(l.slice(7 + heading.length)));
      expect(head, p.name).toBeGreaterThan(0);
      const body = lines.slice(head, lines.findIndex((l, i) => i > head && /^ {7}\S/.test(l))).join(' ').replace(/\s+/g, ' ');
      expect(body.includes('Kernel command line only.'), p.name).toBe(p.cmdlineOnly === true);
      expect(body.includes('May be given more than once'), p.name).toBe(p.multi === true);
    }
  });

  test('the limits it states are the parser\'s', () => {
    const sh = readFileSync(join(ROOT, 'templates/lib/params.sh'), 'utf8');
    const page = renderConfManPage().replaceAll('\\-', '-');
    expect(page).toContain(`regular file of at most ${sh.match(/^RD_MAX_CONF=(\d+)$/m)![1]} bytes`);
    expect(page).toContain(`at most ${sh.match(/^RD_MAX_VALUE=(\d+)$/m)![1]} bytes`);
  });
});

describeNeeding(missing('zsh'), 'zsh completion', () => {
  const model = cliModel();
  const modules = MODULES.map((m) => m.name).sort();
  let dir = '';
  beforeAll(() => {
    dir = join(scratch, 'zsh');
    mkdirSync(join(dir, 'fpath'), { recursive: true });
    writeFileSync(join(dir, 'fpath/_mkruckus'), renderZshCompletion(model.commands, model.global, modules));
    mkdirSync(join(dir, 'base/lib/modules/9.9.9-test'), { recursive: true });
    mkdirSync(join(dir, 'base/lib/modules/9.9.8-old'), { recursive: true });
  });

  /** The matches zsh offers for each command line, by line (test/distro/zsh-capture.zsh). */
  function complete(...lines: string[]): Map<string, string[]> {
    const r = Bun.spawnSync(['zsh', '-f', join(ROOT, 'test/distro/zsh-capture.zsh'), join(dir, 'fpath'), ...lines], { cwd: dir, stdout: 'pipe', stderr: 'pipe' });
    if (r.exitCode !== 0) throw new Error(`zsh: ${r.stderr}`);
    const out = new Map<string, string[]>();
    let current: string[] = [];
    for (const l of r.stdout.toString().split('\n').filter(Boolean)) {
      if (l.startsWith('== ')) out.set(l.slice(3), (current = []));
      else current.push(l);
    }
    return out;
  }

  test('compinit loads it; sourcing it registers it for both names', () => {
    const r = Bun.spawnSync(['zsh', '-f', '-c', `autoload -U compinit; compinit -u -D; source ${join(dir, 'fpath/_mkruckus')}; print -r -- $_comps[mkruckus] $_comps[ruckusrd]`], { stdout: 'pipe', stderr: 'pipe' });
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString().trim()).toBe('_mkruckus _mkruckus');
  });

  test('subcommands, options of each, choices, module lists and installed kernels under --base', () => {
    const lines = {
      first: 'mkruckus ',
      flags: 'mkruckus --',
      choice: 'mkruckus --compress ',
      module: 'mkruckus --add base,k',
      kernel: `mkruckus --base ${join(dir, 'base')} -k `,
      update: 'mkruckus update --a',
      inspect: 'mkruckus inspect --',
      layer: 'mkruckus layer ',
    };
    const got = complete(...Object.values(lines));
    const commands = model.commands.map((c) => c.name);
    expect(commands).toEqual(expect.arrayContaining(['create', 'inspect', 'verify', 'update', 'remove', 'layer']));
    for (const c of commands) expect(got.get(lines.first)).toContain(c);
    const create = model.commands.find((c) => c.name === 'create')!;
    expect(got.get(lines.flags)).toEqual(expect.arrayContaining([...create.options, ...model.global].map((o) => `--${o.name}`)));
    expect(got.get(lines.choice)).toEqual(['gzip', 'lz4', 'none', 'xz', 'zstd']);
    expect(got.get(lines.module)).toEqual(modules.filter((m) => m.startsWith('k')));
    expect(got.get(lines.module)).toContain('kmod');
    expect(got.get(lines.kernel)).toEqual(['9.9.8-old', '9.9.9-test']);
    expect(got.get(lines.update)).toEqual(['--add', '--add-drivers', '--all']);
    expect(got.get(lines.inspect)).toEqual(['--cat', '--diff', '--extract', '--json', '--verbose']);
    const layer = model.commands.find((c) => c.name === 'layer')!.subcommands.map((c) => c.name);
    expect(layer).toContain('build');
    expect(got.get(lines.layer)).toEqual(layer.sort());
  }, 60_000);
});
