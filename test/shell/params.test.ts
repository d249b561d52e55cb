// SPDX-License-Identifier: GPL-2.0-or-later
// templates/lib/params.sh under busybox sh and dash, with a fake /proc/cmdline and ruckusrd.conf.
// Parsing and validation only: anything that mounts is a QEMU test.
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARAMS, isValidParam, renderParamsAllowlist } from '../../src/core/params.ts';

const LIB = join(import.meta.dir, '../../templates/lib/params.sh');
const SHELLS = [
  ['busybox', ['/bin/busybox', 'sh']],
  ['dash', ['/usr/bin/dash']],
].filter(([, argv]) => existsSync((argv as string[])[0]!)) as [string, string[]][];
if (process.env.CI === 'true' && SHELLS.length < 2) throw new Error('CI: shell tests need busybox and dash');

interface Parsed {
  params: Record<string, string>;
  fatal?: string;
  /** warnings the parser printed */
  warnings: string[];
  /** whether a hostile value managed to create `canary` in the script's working directory */
  canary: boolean;
}

function parse(shell: string[], cmdline: string, conf?: string): Parsed {
  const dir = mkdtempSync(join(tmpdir(), 'mkruckus-params-'));
  writeFileSync(join(dir, 'cmdline'), cmdline + '\n');
  writeFileSync(join(dir, 'allow'), renderParamsAllowlist());
  if (conf !== undefined) writeFileSync(join(dir, 'ruckusrd.conf'), conf);
  const script = `
set -u
RD_RUN=${dir}; RD_CMDLINE=${dir}/cmdline; RD_PARAM_LIST=${dir}/allow
mkdir -p "$RD_RUN/params"
fatal() { echo "FATAL: $*"; exit 3; }
vmsg() { :; }
warn() { echo "WARN: $*"; }
. ${LIB}
cd ${dir}
parse_cmdline
parse_conf ${dir}/ruckusrd.conf
`;
  const p = Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe' });
  const params: Record<string, string> = {};
  for (const name of readdirSync(join(dir, 'params'))) {
    if (!name.endsWith('.cmdline')) params[name] = readFileSync(join(dir, 'params', name), 'utf8').replace(/\n$/, '');
  }
  const out = p.stdout.toString();
  const fatal = /FATAL: (.*)/.exec(out)?.[1];
  if (!fatal && p.exitCode !== 0) throw new Error(p.stderr.toString());
  const warnings = [...out.matchAll(/^WARN: (.*)$/gm)].map((m) => m[1]!);
  return { params, fatal, warnings, canary: existsSync(join(dir, 'canary')) };
}

for (const [name, shell] of SHELLS) {
  describe(`params.sh under ${name}`, () => {
    test.each([
      ['root=/dev/vda ro quiet', { root: '/dev/vda', ro: '', quiet: '' }],
      ['BOOT_IMAGE=/vmlinuz root=LABEL=my-root console=ttyS0', { root: 'LABEL=my-root' }],
      ['root=/dev/vda root=/dev/vdb', { root: '/dev/vdb' }],
      ['root=UUID=5f1f9a3e-7c1b rootflags="noatime,data=ordered"', { root: 'UUID=5f1f9a3e-7c1b', rootflags: 'noatime,data=ordered' }],
      ['foo="a b c" root=/dev/vda', { root: '/dev/vda' }],
      ['root=/dev/vda -- root=/dev/vdb single', { root: '/dev/vda' }],
      ['sqsh_layers=extra:server:base ram_layer=50% rootdelay=5', { sqsh_layers: 'extra:server:base', ram_layer: '50%', rootdelay: '5' }],
      ['modules-early=virtio_blk,ext4 init=/bin/sh', { 'modules-early': 'virtio_blk,ext4', init: '/bin/sh' }],
      ['root=/dev/* ro', null],
    ])('%s', (cmdline, want) => {
      const got = parse(shell, cmdline);
      if (want === null) expect(got.fatal).toContain('invalid value for root');
      else expect(got).toEqual({ params: want, fatal: undefined, warnings: [], canary: false });
    });

    test.each([
      'sqsh_layers=a;reboot',
      'sqsh_layers=$(touch${IFS}canary)',
      'sqsh_layers=`touch${IFS}canary`',
      'sqsh_layers=../etc',
      'sqsh_layers=a:..:b',
      'sqsh_layers=a/b',
      'ram_layer=1G;touch${IFS}canary',
      'init=/sbin/../bin/sh',
      'rootflags=a$(touch${IFS}canary)',
      'rootdelay=5s',
    ])('%s is refused and runs nothing', (cmdline) => {
      const got = parse(shell, cmdline);
      expect(got.fatal).toMatch(/^invalid value for /);
      expect(got.canary).toBe(false);
    });

    test('the canary check sees a value that runs', () => {
      // The same harness with a parser that evaluates its input must notice: the check can fail.
      const dir = mkdtempSync(join(tmpdir(), 'mkruckus-canary-'));
      Bun.spawnSync([...shell, '-c', `cd ${dir}; v='$(touch canary)'; eval "x=$v"`]);
      expect(existsSync(join(dir, 'canary'))).toBe(true);
    });

    test('ruckusrd.conf fills what the command line did not give; the command line wins', () => {
      const conf = '# stack\nsqsh_layers=a:b\nram_layer=1G\nto_ram\nunknown_key=1\n';
      expect(parse(shell, 'root=/dev/vda ram_layer=2G', conf).params).toEqual({
        root: '/dev/vda', ram_layer: '2G', sqsh_layers: 'a:b', to_ram: '',
      });
    });

    test('ruckusrd.conf cannot set what /init reads before the root is mounted', () => {
      const conf = 'root=/dev/vdb\nrootdelay=1\nblacklist=virtio_blk\nmodules-early=isofs\nfwdev=/dev/vdc\nquiet\nshell\nstage2_dev=/dev/vdd\nsqsh_layers=a\n';
      const got = parse(shell, 'root=/dev/vda', conf);
      expect(got.params).toEqual({ root: '/dev/vda', sqsh_layers: 'a' });
      expect(got.warnings).toHaveLength(8);
      expect(got.warnings[0]).toBe('ruckusrd.conf: root is read before ruckusrd.conf; give it on the kernel command line');
    });

    test('a hostile ruckusrd.conf is refused', () => {
      expect(parse(shell, 'root=/dev/vda', 'sqsh_layers=$(reboot)\n').fatal).toMatch(/invalid value for sqsh_layers from conf/);
    });
  });
}

// The two validators (TS for ruckusrd.conf writers, shell for /init) must agree.
const SAMPLES = [
  '', 'a', 'a.b-c_d', '..', 'a..b', 'a/b', 'a:b', 'a,b', '/dev/vda', '/dev/disk/by-id/x:1', '/dev/../etc',
  'LABEL=x', 'UUID=', '512M', '50%', '2g', 'G', '10', '/sbin/init', 'sbin/init', 'layers/x', '/a/../b',
  'ext4', 'EXT4', 'noatime,ro', 'a;b', '$(x)', 'a b', 'PARTUUID=abc-1', 'LABEL=a$b',
];
for (const [name, shell] of SHELLS) {
  test(`TS and ${name} validators agree on every kind`, () => {
    const kinds = [...new Set(PARAMS.map((p) => p.kind))];
    const script = `. ${LIB}\n` + kinds.flatMap((k) => SAMPLES.map((v) => `param_valid ${k} '${v.replaceAll("'", `'\\''`)}' && echo 1 || echo 0`)).join('\n');
    const shellSays = Bun.spawnSync([...shell, '-c', script]).stdout.toString().trim().split('\n');
    const tsSays = kinds.flatMap((k) => SAMPLES.map((v) => (isValidParam(PARAMS.find((p) => p.kind === k)!.name, v) ? '1' : '0')));
    const rows = kinds.flatMap((k) => SAMPLES.map((v) => `${k} ${JSON.stringify(v)}`));
    const disagree = rows.filter((_, i) => shellSays[i] !== tsSays[i]).map((r, i) => `${r}`);
    expect(disagree).toEqual([]);
  });
}
