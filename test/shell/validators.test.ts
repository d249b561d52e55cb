// SPDX-License-Identifier: GPL-2.0-or-later
// The two validators (src/core/params.ts for ruckusrd.conf writers and the build, templates/lib/params.sh
// for /init) must agree on every value: a generated corpus (every ASCII byte and some non-ASCII
// characters around each kind's prefixes, the numeric and length edges) and a bounded fuzz (fixed
// seed) of values and of whole command lines and ruckusrd.conf files, under busybox sh and dash.
import { describe, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isValidParam, MAX_VALUE, PARAMS, renderParamsAllowlist, type ParamKind } from '../../src/core/params.ts';
import { SHELLS } from './shells.ts';
import { tempDir } from '../temp-dirs.ts';

const LIB = join(import.meta.dir, '../../templates/lib/params.sh');

const KINDS = [...new Set(PARAMS.map((p) => p.kind))];
const PARAM_OF = (k: ParamKind) => PARAMS.find((p) => p.kind === k)!.name;

/** Seeded PRNG (mulberry32): the same cases on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Every character a value can hold (a line of /proc/cmdline or ruckusrd.conf: no NUL, no newline). */
const CHARS = [
  ...Array.from({ length: 127 }, (_, i) => String.fromCharCode(i + 1)).filter((c) => c !== '\n'),
  '\u00a0', '\u0085', '\u2028', '\u3000', '\ufeff', 'é', '١', '𝟘',
];
const PREFIXES = ['', 'a', 'a.b', '/', '/dev/', '/dev/vda', 'LABEL=', 'UUID=1', 'PARTUUID=', 'PARTLABEL=x', '0', '1', '12', '5M',
  'a:', 'a,', 'x=y', 'sbin/'];
/** The prefixes that reach deep into each kind's rules (every kind also gets '' and 'a'). */
const KIND_PREFIXES: Record<ParamKind, string[]> = {
  flag: [],
  device: ['/dev/', '/dev/vda', 'LABEL=', 'UUID=1', 'PARTUUID=', 'PARTLABEL=x'],
  name: ['a.b'],
  names: ['a:', 'a.b'],
  list: ['a,', 'a.b'],
  size: ['0', '1', '12', '5M'],
  number: ['0', '1', '12'],
  abspath: ['/', 'sbin/'],
  relpath: ['/', 'sbin/'],
  fstype: ['a.b'],
  options: ['x=y', 'a,'],
  sizeordevice: ['1', '5M', '/dev/vda', 'LABEL='],
  devices: ['/dev/vda', 'a,', 'LABEL='],
};

/** [kind, value] cases: every character after each of the kind's prefixes, alone and followed by a letter. */
function corpus(): [ParamKind, string][] {
  const cases: [ParamKind, string][] = [];
  const edges = ['0', '00', '01', '08', '010', '9', '99999', '999999', '1000000', '0M', '00M', '08G', '010%', '1k',
    '999999999999', '999999999999k', '1000000000000', '1kk', 'k', '%', '/dev/..', '/dev//../x', '/dev/a/..', 'LABEL==',
    'a::b', ':a', 'a:', ',', 'a,,b', '/a/../b', '..', 'a..b', '.'];
  // The length bound, on a value each kind accepts.
  for (const n of [MAX_VALUE - 1, MAX_VALUE, MAX_VALUE + 1]) {
    edges.push('a'.repeat(n), '/' + 'a'.repeat(n - 1), '/dev/' + 'a'.repeat(n - 5), 'LABEL=' + 'a'.repeat(n - 6), '1' + '0'.repeat(n - 2) + 'M');
  }
  for (const k of KINDS) {
    const values = new Set(edges);
    for (const p of ['', 'a', ...KIND_PREFIXES[k]]) {
      for (const c of CHARS) {
        values.add(p + c);
        values.add(p + c + 'a');
        if (p) values.add(c + p);
      }
    }
    for (const v of values) cases.push([k, v]);
  }
  return cases;
}

/** Random values: short strings over a weighted alphabet, often after a kind's prefix. */
function fuzzValues(n: number, seed: number): string[] {
  const r = rng(seed);
  const common = 'aZ09._-:,/=%+@~ M';
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let v = r() < 0.6 ? PREFIXES[Math.floor(r() * PREFIXES.length)]! : '';
    const len = Math.floor(r() * 12);
    for (let j = 0; j < len; j++) v += r() < 0.75 ? common[Math.floor(r() * common.length)] : CHARS[Math.floor(r() * CHARS.length)];
    out.push(v);
  }
  return out;
}

/** param_valid KIND VALUE for every case, in one shell process. */
function shellSays(shell: string[], cases: (readonly [ParamKind, string])[]): string[] {
  const dir = tempDir('validators');
  writeFileSync(join(dir, 'cases'), cases.map(([k, v]) => `${k} ${v}`).join('\n') + '\n');
  const script = `. ${LIB}
while IFS= read -r line; do
	if param_valid "\${line%% *}" "\${line#* }"; then echo 1; else echo 0; fi
done < ${dir}/cases`;
  const p = Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  return p.stdout.toString().trim().split('\n');
}

function disagreements(shell: string[], cases: (readonly [ParamKind, string])[]): string[] {
  const said = shellSays(shell, cases);
  expect(said).toHaveLength(cases.length);
  return cases
    .map(([k, v], i) => [k, v, said[i]] as const)
    .filter(([k, v, sh]) => sh !== (isValidParam(PARAM_OF(k), v) ? '1' : '0'))
    .map(([k, v, sh]) => `${k} ${JSON.stringify(v.length > 40 ? `${v.slice(0, 20)}…(${v.length})` : v)} sh=${sh}`);
}

for (const [name, shell] of SHELLS) {
  describe(`TS and ${name} validators`, () => {
    test('agree on the generated corpus', () => {
      const cases = corpus();
      expect(cases.length).toBeGreaterThan(10_000);
      expect(disagreements(shell, cases)).toEqual([]);
    }, 60_000);

    test('agree on 3000 random values (seed 12)', () => {
      const r = rng(5);
      const cases = fuzzValues(3000, 12).map((v) => [KINDS[Math.floor(r() * KINDS.length)]!, v] as const);
      expect(disagreements(shell, cases)).toEqual([]);
    }, 60_000);

    test('150 random command lines and ruckusrd.conf files (seed 7): no hang, no crash, only valid values kept', () => {
      const dir = tempDir('parsefuzz');
      writeFileSync(join(dir, 'allow'), renderParamsAllowlist());
      const r = rng(7);
      // A fixed list (not the table, which grows): the same cases whatever parameters are added later.
      const keys = ['root', 'rootdelay', 'rootflags', 'init', 'quiet', 'sqsh_layers', 'sqsh_layerdir', 'ram_layer', 'overlayflags',
        'var_layer', 'fwdev', 'modules-early', 'stage2_path', 'foo', 'RD_PARAM_LIST', 'init.x', ''];
      const word = () => {
        const k = keys[Math.floor(r() * keys.length)]!;
        const vals = fuzzValues(1, Math.floor(r() * 2 ** 31));
        return r() < 0.15 ? k : r() < 0.1 ? `${k}="${vals[0]} ${vals[0]}"` : `${k}=${vals[0]}`;
      };
      const N = 150;
      for (let i = 0; i < N; i++) {
        const words = Array.from({ length: 1 + Math.floor(r() * 6) }, word);
        mkdirSync(join(dir, `c${i}/params`), { recursive: true });
        writeFileSync(join(dir, `c${i}/cmdline`), words.slice(0, 3).join(' ') + '\n');
        writeFileSync(join(dir, `c${i}/conf`), words.slice(3).join(r() < 0.3 ? '\r\n' : '\n'));
      }
      const script = `
fatal() { echo "$i FATAL"; exit 3; }
vmsg() { :; }
warn() { :; }
. ${LIB}
RD_PARAM_LIST=${dir}/allow
i=0
while [ "$i" -lt ${N} ]; do
	( RD_RUN=${dir}/c$i; RD_CMDLINE=$RD_RUN/cmdline; parse_cmdline; parse_conf "$RD_RUN/conf"; echo "$i OK" )
	i=$((i + 1))
done`;
      const p = Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe', timeout: 60_000 });
      const lines = p.stdout.toString().trim().split('\n');
      expect(p.signalCode ?? null).toBeNull();
      expect(lines).toHaveLength(N);
      expect(lines.every((l, i) => l === `${i} OK` || l === `${i} FATAL`)).toBe(true);
      // Some cases get through whole (most carry an invalid value): the valid path is exercised too.
      expect(lines.filter((l) => l.endsWith('OK')).length).toBeGreaterThanOrEqual(10);
      const bad: string[] = [];
      for (let i = 0; i < N; i++) {
        for (const f of readdirSync(join(dir, `c${i}/params`)).filter((f) => !f.endsWith('.cmdline'))) {
          const v = readFileSync(join(dir, `c${i}/params`, f), 'utf8').replace(/\n$/, '');
          if (!isValidParam(f, v)) bad.push(`c${i}: ${f}=${JSON.stringify(v)}`);
        }
      }
      expect(bad).toEqual([]);
    }, 60_000);
  });
}
