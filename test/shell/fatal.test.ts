// SPDX-License-Identifier: GPL-2.0-or-later
// templates/lib/log.sh `fatal` and hooks.sh `run_hooks` under busybox sh and dash: the one failure
// path (console line, kmsg line, state line, emergency hooks in order, a rescue shell started again
// each time it is left). The QEMU tests prove the same on a real PID 1; these prove each piece.
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHELLS } from './shells.ts';
import { tempDir } from '../temp-dirs.ts';

const LIB = join(import.meta.dir, '../../templates/lib');

/** Runs `fatal "$what"` with fake hooks and a rescue shell that is left `leave` times. */
function runFatal(shell: string[], what: string, leave: number) {
  const dir = tempDir('fatal');
  for (const [name, line] of [['20-b-second.sh', 'echo second >> "$T/order"'], ['10-a-first.sh', 'echo "first $RD_MODE" >> "$T/order"']]) {
    mkdirSync(join(dir, 'hooks/emergency'), { recursive: true });
    writeFileSync(join(dir, 'hooks/emergency', name!), `${line}\n`);
  }
  const script = `
set -u
. ${LIB}/log.sh
. ${LIB}/hooks.sh
T=${dir}; RD_RUN=$T; RD_KMSG=$T/kmsg; RD_HOOKS=$T/hooks; RD_MODE=layered
n=0
# The rescue shell: counts its starts; the ${leave + 1}th ends the test (PID 1's would never end).
setsid() { n=$((n + 1)); echo "shell $n" >> "$T/shells"; [ "$n" -gt ${leave} ] && exit 7; return 0; }
fatal "$1"
echo "fatal returned"
`;
  const p = Bun.spawnSync([...shell, '-c', script, 'sh', what], { stdout: 'pipe', stderr: 'pipe' });
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString(), read };
}

for (const [name, shell] of SHELLS) {
  describe(`fatal under ${name}`, () => {
    test('one line on the console and kmsg, fatal= in the state file, emergency hooks in order', () => {
      const r = runFatal(shell, 'device /dev/vdz not found after 2 seconds', 0);
      expect(r.stderr.split('\n')[0]).toBe('ruckusrd: fatal: device /dev/vdz not found after 2 seconds');
      expect(r.read('kmsg')).toBe('ruckusrd: fatal: device /dev/vdz not found after 2 seconds\n');
      expect(r.read('state')).toBe('fatal=device /dev/vdz not found after 2 seconds\n');
      expect(r.read('order')).toBe('first layered\nsecond\n');
      expect(r.stderr).toContain('ruckusrd: starting rescue shell');
    });

    test('leaving the rescue shell starts another one; fatal never returns', () => {
      const r = runFatal(shell, 'x', 3);
      expect(r.code).toBe(7);
      expect(r.read('shells')).toBe('shell 1\nshell 2\nshell 3\nshell 4\n');
      expect(r.stderr.match(/ruckusrd: starting rescue shell/g)).toHaveLength(4);
      expect(r.stdout).not.toContain('fatal returned');
      // The emergency hooks run once, not once per shell.
      expect(r.read('order')).toBe('first layered\nsecond\n');
    });
  });
}
