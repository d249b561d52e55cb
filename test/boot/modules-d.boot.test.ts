// SPDX-License-Identifier: GPL-2.0-or-later
// A third-party module found at run time (/etc/mkruckus/modules.d/NAME/ in the --base, module.json
// plus a hook): its hook runs at boot and leaves a marker in /run, seen by the root's init after
// switch_root.
import { beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAN_OVERLAY, runInBase, sh } from '../cli/helpers.ts';
import { ensureBinary } from '../binary.ts';
import { describeNeeding } from '../unit/need.ts';
import { IDS, makeExt4, makeGuestRoot, randomToken, tempDir } from './disks.ts';
import { boot, canBoot, kernel, section } from './qemu.ts';

const END = /=== end\n/;
let dir = '';
let token = '';
let image = '';
let rootImg = '';

const needs = [...(canBoot ? [] : ['QEMU and a kernel']), ...(CAN_OVERLAY ? [] : ['root and overlay mounts (unshare -m)'])];

describeNeeding(needs, 'a module from modules.d (QEMU)', () => {
  beforeAll(() => {
    ensureBinary();
    dir = tempDir('modules-d');
    token = randomToken();
    makeGuestRoot(join(dir, 'tree'), token, { marker: 'cat /run/third-party-marker' });
    rootImg = join(dir, 'root.img');
    makeExt4(join(dir, 'tree'), rootImg, IDS.root);
    // The base: the host's /usr (overlaid in a private namespace), our own /etc with the module.
    const base = join(dir, 'base');
    mkdirSync(join(base, 'usr'), { recursive: true });
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(base, d));
    const mod = join(base, 'etc/mkruckus/modules.d/marker');
    mkdirSync(join(mod, 'hooks'), { recursive: true });
    for (const f of ['ld.so.conf', 'ld.so.conf.d']) if (existsSync(`/etc/${f}`)) sh(['cp', '-a', `/etc/${f}`, join(base, 'etc/')]);
    writeFileSync(join(mod, 'module.json'), JSON.stringify({
      name: 'marker', description: 'leaves a marker at boot', depends: ['base'], hooks: { 'pre-pivot': ['50-leave-marker.sh'] },
    }));
    writeFileSync(join(mod, 'hooks/50-leave-marker.sh'), '# SPDX-License-Identifier: MIT\necho "THIRD-PARTY-HOOK-RAN $(cat /proc/sys/kernel/random/boot_id | cut -c1-8)" > /run/third-party-marker\n');
    mkdirSync(join(dir, 'extra'));
    const r = runInBase(base, join(dir, 'extra'), ['--kernel', kernel!.version, '--add', 'marker', 'out.img'], dir);
    if (r.code !== 0) throw new Error(r.stderr);
    image = join(dir, 'out.img');
  });

  test('its pre-pivot hook ran: the marker is in /run after switch_root', async () => {
    const r = await boot({ initrd: image, append: 'root=/dev/vda test.action=marker', disks: [{ file: rootImg }], until: END });
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'action')).toMatch(/THIRD-PARTY-HOOK-RAN [0-9a-f]{8}/);
  });
});
