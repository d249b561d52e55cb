// SPDX-License-Identifier: GPL-2.0-or-later
// templates/lib/params.sh under busybox sh and dash, with a fake /proc/cmdline and ruckusrd.conf.
// Parsing and validation only: anything that mounts is a QEMU test.
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderParamsAllowlist } from '../../src/core/params.ts';
import { SHELLS } from './shells.ts';
import { tempDir } from '../temp-dirs.ts';

const LIB = join(import.meta.dir, '../../templates/lib/params.sh');

interface Parsed {
  params: Record<string, string>;
  fatal?: string;
  /** warnings the parser printed */
  warnings: string[];
  /** whether a hostile value managed to create `canary` in the script's working directory */
  canary: boolean;
  /** CPU time of the shell in ms (wall time is noisy on a shared machine) */
  cpuMs?: number;
}

function parse(shell: string[], cmdline: string, conf?: string): Parsed {
  const dir = tempDir('params');
  writeFileSync(join(dir, 'cmdline'), cmdline + '\n');
  writeFileSync(join(dir, 'allow'), renderParamsAllowlist());
  if (conf !== undefined) writeFileSync(join(dir, 'ruckusrd.conf'), conf);
  const script = `
set -u
RD_RUN=${dir}
mkdir -p "$RD_RUN/params"
fatal() { echo "FATAL: $*"; exit 3; }
vmsg() { :; }
warn() { echo "WARN: $*"; }
. ${LIB}
# params.sh sets these itself (never from the environment); a test points them at its files after.
RD_CMDLINE=${dir}/cmdline; RD_PARAM_LIST=${dir}/allow
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
  const parsed: Parsed = { params, fatal, warnings, canary: existsSync(join(dir, 'canary')) };
  // Not enumerable: the many toEqual checks of whole results stay as they are.
  Object.defineProperty(parsed, 'cpuMs', { value: Number(p.resourceUsage.cpuTime.total) / 1000, enumerable: false });
  return parsed;
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
      const dir = tempDir('canary');
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

    test.each(['rootdelay=08', 'rootdelay=010', 'rootdelay=00', 'rootdelay=1000000', 'ram_layer=010M', 'rootdelay=1١'])(
      '%s (octal or an arithmetic error in ash, or past the bound) is refused',
      (cmdline) => expect(parse(shell, cmdline).fatal).toStartWith(`invalid value for ${cmdline.split('=')[0]} from cmdline`),
    );

    test('the list files come from the image, never from the environment the kernel fills', () => {
      const p = Bun.spawnSync([...shell, '-c', `. ${LIB}; echo "$RD_PARAM_LIST $RD_CMDLINE $RD_MAX_VALUE"`], {
        env: { ...process.env, RD_PARAM_LIST: '/dev/null', RD_CMDLINE: '/tmp/x', RD_MAX_VALUE: '99999999' },
      });
      expect(p.stdout.toString()).toBe('/etc/ruckusrd/params /proc/cmdline 4096\n');
    });

    test('ruckusrd.conf with CRLF line ends reads as LF', () => {
      const conf = 'sqsh_layers=a:b\r\nram_layer=1G\r\n# c\r\n\r\nto_ram\r\n';
      expect(parse(shell, 'root=/dev/vda', conf)).toEqual({
        params: { root: '/dev/vda', sqsh_layers: 'a:b', ram_layer: '1G', to_ram: '' }, fatal: undefined, warnings: [], canary: false,
      });
    });

    test('a ruckusrd.conf that is a symlink, not a file, or over 64 KiB is refused before a line is read', () => {
      const dir = tempDir('conf');
      writeFileSync(join(dir, 'target'), 'sqsh_layers=a\n');
      symlinkSync(join(dir, 'target'), join(dir, 'link'));
      mkdirSync(join(dir, 'dir'));
      writeFileSync(join(dir, 'big'), 'sqsh_layers=a\n' + '#'.repeat(65536));
      writeFileSync(join(dir, 'edge'), 'sqsh_layers=a\n' + '#'.repeat(65536 - 14));
      const run = (file: string) => Bun.spawnSync([...shell, '-c', `
set -u
fatal() { echo "FATAL: $*"; exit 3; }
vmsg() { :; }
. ${LIB}
RD_RUN=${dir}/run-${file}; mkdir -p "$RD_RUN/params"; RD_PARAM_LIST=${dir}/allow
parse_conf ${dir}/${file}
cat "$RD_RUN/params/sqsh_layers" 2>/dev/null || echo none`]).stdout.toString();
      writeFileSync(join(dir, 'allow'), renderParamsAllowlist());
      expect(run('link')).toBe(`FATAL: ${dir}/link is a symlink; ruckusrd.conf must be a regular file\n`);
      expect(run('dir')).toBe(`FATAL: ${dir}/dir is not a regular file\n`);
      expect(run('big')).toBe(`FATAL: ${dir}/big has 65550 bytes, more than 65536\n`);
      expect(run('edge')).toBe('a\n');
      expect(run('absent')).toBe('none\n');
    });

    test('list checking is linear: a 64 KB layer list is refused and a 4 KB one accepted, each at once', () => {
      // 64 KB on the command line (the harness reads it as /proc/cmdline), 50 KB in ruckusrd.conf.
      const names = (n: number) => Array.from({ length: n }, (_, i) => `l${i}`).join(':');
      const long = names(9000);
      const limit = names(900).slice(0, 4096).replace(/:$/, 'x');
      // CPU time of the shell: before the fix the 64 KB list took ~5 s here, ~12 s on a slow machine.
      const a = parse(shell, `sqsh_layers=${names(12000)}`);
      expect(a.fatal).toStartWith('invalid value for sqsh_layers from cmdline');
      const b = parse(shell, 'root=/dev/vda', `sqsh_layers=${long}\n`);
      expect(b.fatal).toStartWith('invalid value for sqsh_layers from conf');
      const c = parse(shell, 'root=/dev/vda', `sqsh_layers=${limit}\n`);
      expect(c.params.sqsh_layers).toBe(limit);
      expect([a.cpuMs!, b.cpuMs!, c.cpuMs!].every((ms) => ms < 1000)).toBe(true);
    });

    test('a hostile ruckusrd.conf is refused', () => {
      expect(parse(shell, 'root=/dev/vda', 'sqsh_layers=$(reboot)\n').fatal).toMatch(/invalid value for sqsh_layers from conf/);
    });
  });
}

