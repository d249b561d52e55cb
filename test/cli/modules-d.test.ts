// SPDX-License-Identifier: GPL-2.0-or-later
// Modules from the filesystem: /usr/lib/mkruckus/modules.d/NAME/ and /etc/mkruckus/modules.d/NAME/
// under --base, a module.json manifest plus hooks, validated like the built-in modules.
import { describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectUserError, freshDir, run, useScratch } from './helpers.ts';

useScratch();

const KV = '9.9.9-test';

/** A base with busybox, an empty module tree, and the given files (paths relative to the base). */
function base(files: Record<string, string>): string {
  const b = freshDir('mbase');
  mkdirSync(join(b, 'usr/bin'), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(b, d));
  copyFileSync('/usr/bin/busybox', join(b, 'usr/bin/busybox'));
  mkdirSync(join(b, 'usr/lib/modules', KV), { recursive: true });
  writeFileSync(join(b, 'usr/lib/modules', KV, 'modules.dep'), '');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(b, path, '..'), { recursive: true });
    writeFileSync(join(b, path), text);
  }
  return b;
}

const MANIFEST = { name: 'greet', description: 'a third-party module', depends: ['base'], hooks: { 'pre-pivot': ['50-leave-marker.sh'] }, files: [{ from: 'greet.conf', to: '/etc/greet.conf' }] };
const HOOK = '# SPDX-License-Identifier: MIT\necho greet > /run/greet\n';

function build(b: string, ...args: string[]) {
  return run(['--base', b, '--kernel', KV, '--modules', 'base', '--no-ucode', ...args, 'out.img'], { cwd: freshDir('mout') });
}

describe('modules.d', () => {
  test('a module in /usr/lib/mkruckus/modules.d is found, its hook and file installed when added', () => {
    const dir = 'usr/lib/mkruckus/modules.d/greet';
    const b = base({ [`${dir}/module.json`]: JSON.stringify(MANIFEST), [`${dir}/hooks/50-leave-marker.sh`]: HOOK, [`${dir}/greet.conf`]: 'hi\n' });
    const cwd = freshDir('mout');
    const r = run(['--base', b, '--kernel', KV, '--modules', 'base', '--add', 'greet', '--no-ucode', 'out.img'], { cwd });
    expect(r.stderr).toBe('');
    expect(run(['inspect', join(cwd, 'out.img'), '--cat', '/lib/ruckusrd/hooks/pre-pivot/50-greet-leave-marker.sh']).stdout).toBe(HOOK);
    expect(run(['inspect', join(cwd, 'out.img'), '--cat', '/etc/greet.conf']).stdout).toBe('hi\n');
    // Not added: not in the image.
    expect(build(b).code).toBe(0);
  });

  test('/etc/mkruckus/modules.d wins over /usr/lib for the same name', () => {
    const b = base({
      'usr/lib/mkruckus/modules.d/greet/module.json': JSON.stringify({ ...MANIFEST, hooks: { early: ['10-nope.sh'] } }),
      'etc/mkruckus/modules.d/greet/module.json': JSON.stringify({ ...MANIFEST, files: [] }),
      'etc/mkruckus/modules.d/greet/hooks/50-leave-marker.sh': HOOK,
    });
    expect(build(b, '--add', 'greet').stderr).toBe('');
  });

  test.each([
    [{ ...MANIFEST, hooks: { boot: ['50-leave-marker.sh'] } }, /module 'greet' has hooks for unknown phase 'boot'/],
    [{ ...MANIFEST, hooks: { early: ['marker.sh'] } }, /module 'greet': hook 'marker.sh' must be named NN-verb-noun\.sh/],
    [{ ...MANIFEST, hooks: { early: ['60-missing.sh'] } }, /module 'greet': hook file hooks\/60-missing\.sh is missing/],
    [{ ...MANIFEST, params: ['no_such_param'] }, /reads boot parameter 'no_such_param'/],
    [{ ...MANIFEST, name: 'other' }, /'name' must be the directory's name, 'greet'/],
    [{ ...MANIFEST, plan: 'x' }, /unknown key 'plan'/],
    [{ ...MANIFEST, name: 'base' }, /'name' must be the directory's name/],
  ])('a bad manifest is one line: %j', (manifest, message) => {
    const dir = 'usr/lib/mkruckus/modules.d/greet';
    const b = base({ [`${dir}/module.json`]: JSON.stringify(manifest), [`${dir}/hooks/50-leave-marker.sh`]: HOOK, [`${dir}/greet.conf`]: 'hi\n' });
    expectUserError(build(b, '--add', 'greet'), message);
  });

  test('a directory named like a built-in module is refused', () => {
    const b = base({ 'etc/mkruckus/modules.d/kmod/module.json': '{}' });
    expectUserError(build(b), /modules\.d\/kmod in base .*'kmod' is a built-in module/);
  });
});
