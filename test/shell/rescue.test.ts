// SPDX-License-Identifier: GPL-2.0-or-later
// templates/lib/log.sh's console shell policy under busybox sh and dash: the build's policy
// (/etc/ruckusrd/rescue), made only stricter by rescue= and by an unattended unlock; what fatal and
// interactive_shell start under each (a shell, sulogin, or a reboot after a delay).
import { describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHELLS } from './shells.ts';
import { tempDir } from '../temp-dirs.ts';

const LIB = join(import.meta.dir, '../../templates/lib');

/**
 * Sources log.sh with the build's policy line `build` (none: no file), runs `body`; setsid (the
 * shell or sulogin it starts), reboot and sleep are fakes that print what they were asked.
 */
function run(shell: string[], build: string | undefined, body: string): string {
  const dir = tempDir('rescue');
  if (build !== undefined) writeFileSync(join(dir, 'rescue'), `${build}\n`);
  const script = `set -u
exec 2>&1 3>&1
. ${LIB}/log.sh
. ${LIB}/hooks.sh
RD_RUN=${dir}; RD_KMSG=${dir}/kmsg; RD_HOOKS=${dir}/hooks; RD_RESCUE_CONF=${dir}/rescue; RD_SULOGIN_DIRS="${dir}/sbin ${dir}/bin"
mkdir -p ${dir}/sbin ${dir}/bin
n=0
# fd 3: the real call sends fds 1 and 2 to /dev/console.
setsid() { n=$((n + 1)); echo "START $2" >&3; [ "$n" -ge 2 ] && exit 7; return 0; }
reboot() { echo "REBOOT $*"; exit 8; }
sleep() { echo "SLEEP $*"; }
read_build_shell_policy
${body}`;
  const p = Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe' });
  return `${p.stdout.toString()}${p.stderr.toString()}exit ${p.exitCode}\n`;
}

const FATAL_LINE = 'ruckusrd: fatal: no root\n';
const REBOOTS = `${FATAL_LINE}ruckusrd: no rescue shell (policy off): rebooting in 10 seconds\nSLEEP 10\nREBOOT -f\nexit 8\n`;
const SHELL_LOOP = (what: string) => `${FATAL_LINE}ruckusrd: starting rescue shell\nSTART ${what}\nruckusrd: starting rescue shell\nSTART ${what}\nexit 7\n`;

for (const [name, shell] of SHELLS) {
  describe(`rescue policy under ${name}`, () => {
    test.each([
      ['no policy file (an older image): open', undefined, '', SHELL_LOOP('sh')],
      ['shell=open', 'shell=open', '', SHELL_LOOP('sh')],
      ['shell=auto, nothing unlocked: open', 'shell=auto', '', SHELL_LOOP('sh')],
      ['shell=password: sulogin', 'shell=password', '', SHELL_LOOP('sulogin')],
      ['shell=off: a reboot after the delay', 'shell=off', '', REBOOTS],
      ['shell=off, rescue=open: still off', 'shell=off', 'tighten_shell open', REBOOTS],
      ['shell=password, rescue=open: still password', 'shell=password', 'tighten_shell open', SHELL_LOOP('sulogin')],
      ['shell=open, rescue=password', 'shell=open', 'tighten_shell password', SHELL_LOOP('sulogin')],
      ['shell=open, rescue=off', 'shell=open', 'tighten_shell off', REBOOTS],
      ['shell=open, an unknown rescue= value counts as off', 'shell=open', 'tighten_shell maybe', REBOOTS],
      ['a damaged policy file counts as off', 'shell=opn', '', REBOOTS],
      ['shell=auto, then an unattended unlock: off', 'shell=auto', 'lock_consoles "crypt: root unlocked by a key file"', `ruckusrd: crypt: root unlocked by a key file: console shells are off\n${REBOOTS}`],
      ['shell=open: an unattended unlock changes nothing', 'shell=open', 'lock_consoles "crypt: key file"', SHELL_LOOP('sh')],
    ])('%s', (_, build, before, want) => {
      expect(run(shell, build, `${before}\nfatal "no root"`)).toBe(want);
    });

    test('password: a sulogin file in the image (util-linux, for yescrypt) is run by its path, a link (busybox) by name', () => {
      const fatal = 'fatal no root';
      expect(run(shell, 'shell=password', `ln -s busybox "$RD_RUN/sbin/sulogin"\n${fatal}`)).toBe(SHELL_LOOP('sulogin'));
      const out = run(shell, 'shell=password', `: > "$RD_RUN/bin/sulogin"\nln -s busybox "$RD_RUN/sbin/sulogin"\n${fatal}`);
      expect(out).toMatch(/^ruckusrd: fatal: no root\nruckusrd: starting rescue shell\nSTART \/[^\n]*\/bin\/sulogin\n/);
    });

    test('shell and maint: off prints why and continues the boot; password asks sulogin', () => {
      expect(run(shell, 'shell=off', 'interactive_shell "maint: x"; echo continued')).toBe(
        'ruckusrd: maint: x\nruckusrd: no console shell (rescue policy: off)\ncontinued\nexit 0\n',
      );
      expect(run(shell, 'shell=password', 'interactive_shell "maint: x"; echo continued')).toBe(
        "ruckusrd: maint: x\nruckusrd: starting shell after root's password\nSTART sulogin\ncontinued\nexit 0\n",
      );
    });

    test('initramsys with the policy off is fatal (it is nothing but a shell), not a busy loop', () => {
      expect(run(shell, 'shell=off', 'stay_in_initramfs')).toBe(
        'ruckusrd: fatal: initramsys needs a console shell; the rescue policy is off\n' +
          'ruckusrd: no rescue shell (policy off): rebooting in 10 seconds\nSLEEP 10\nREBOOT -f\nexit 8\n',
      );
    });
  });
}
