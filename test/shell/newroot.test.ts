// SPDX-License-Identifier: GPL-2.0-or-later
// templates/lib/newroot.sh under busybox sh and dash: paths of the new root resolved inside it (its
// absolute symlinks, `..` at its top, loops), and the init= check that keeps PID 1 alive.
import { describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHELLS } from './shells.ts';
import { tempDir } from '../temp-dirs.ts';

const LIB = join(import.meta.dir, '../../templates/lib');

/** A new root whose links point at absolute paths that also exist, differently, on the host. */
function makeRoot(): string {
  const root = tempDir('newroot');
  for (const d of ['usr/lib/systemd', 'usr/bin', 'etc', 'sbin', 'mnt']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'usr/lib/systemd/systemd'), '\x7fELF not a script\n');
  chmodSync(join(root, 'usr/lib/systemd/systemd'), 0o755);
  writeFileSync(join(root, 'etc/plain'), 'x\n');
  symlinkSync('/usr/lib', join(root, 'lib'));
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync('/lib/systemd/systemd', join(root, 'sbin/init'));
  symlinkSync('../../../../../../etc/plain', join(root, 'sbin/up'));
  symlinkSync('/nowhere/init', join(root, 'sbin/dangling'));
  symlinkSync('loop2', join(root, 'sbin/loop1'));
  symlinkSync('loop1', join(root, 'sbin/loop2'));
  symlinkSync('/etc', join(root, 'sbin/etcdir'));
  for (const [name, line] of [['script-ok', '#!/lib/systemd/systemd -x'], ['script-space', '#!  /usr/lib/systemd/systemd'], ['script-gone', '#!/bin/nothere'], ['script-dir', '#! /etc']]) {
    writeFileSync(join(root, 'sbin', name!), `${line}\necho\n`);
    chmodSync(join(root, 'sbin', name!), 0o755);
  }
  return root;
}

function sh(shell: string[], body: string): string {
  const script = `set -u
fatal() { echo "FATAL: $*"; exit 3; }
vmsg() { :; }
. ${LIB}/newroot.sh
${body}`;
  return Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe' }).stdout.toString();
}

for (const [name, shell] of SHELLS) {
  describe(`newroot.sh under ${name}`, () => {
    const root = makeRoot();
    test.each([
      ['/sbin/init', '/usr/lib/systemd/systemd'],
      ['/lib/modules/6.1.0', '/usr/lib/modules/6.1.0'],
      ['/bin/x', '/usr/bin/x'],
      ['/sbin/up', '/etc/plain'],
      ['/../../etc/./plain', '/etc/plain'],
      ['//mnt//sqsh_layer-a/', '/mnt/sqsh_layer-a'],
      ['/sbin/etcdir/plain', '/etc/plain'],
      ['/', '/'],
    ])('root_path %s is %s inside the root', (path, want) => {
      expect(sh(shell, `root_path ${root} '${path}' && echo "$REPLY"`)).toBe(`${want}\n`);
    });

    test('a symlink loop fails instead of hanging', () => {
      expect(sh(shell, `root_path ${root} /sbin/loop1 && echo "$REPLY" || echo failed`)).toBe('failed\n');
    });

    test.each([
      ['/sbin/init', ''],
      ['/etc', 'FATAL: init /etc is not an executable file on the root filesystem\n'],
      ['/sbin/etcdir', 'FATAL: init /sbin/etcdir is not an executable file on the root filesystem\n'],
      ['/etc/plain', 'FATAL: init /etc/plain is not an executable file on the root filesystem\n'],
      ['/sbin/dangling', 'FATAL: init /sbin/dangling not found on the root filesystem\n'],
      ['/sbin/loop1', 'FATAL: init /sbin/loop1 not found on the root filesystem\n'],
      ['/sbin/nope', 'FATAL: init /sbin/nope not found on the root filesystem\n'],
      ['/sbin/script-ok', ''],
      ['/sbin/script-space', ''],
      ['/sbin/script-gone', 'FATAL: init /sbin/script-gone is a script for /bin/nothere, which is not an executable file on the root filesystem\n'],
      ['/sbin/script-dir', 'FATAL: init /sbin/script-dir is a script for /etc, which is not an executable file on the root filesystem\n'],
    ])('check_init %s', (path, want) => {
      expect(sh(shell, `check_init ${root} '${path}'`)).toBe(want);
    });
  });
}
