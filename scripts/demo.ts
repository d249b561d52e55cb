// SPDX-License-Identifier: GPL-2.0-or-later
// The main job, end to end: build an initramfs for the installed kernel with dist/mkruckus, make a
// root disk holding three squashfs layers (base, server, extra), and boot it in QEMU with
// `sqsh_layers=extra:server:base`, printing the guest's console.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../test/boot/build.ts';
import { makeExt4, randomToken, tempDir } from '../test/boot/disks.ts';
import { makeLayerTrees, makeSquashfs } from '../test/boot/layers.ts';
import { boot, kernel } from '../test/boot/qemu.ts';

if (!kernel) throw new Error('no kernel with modules in /lib/modules and /boot/vmlinuz-*: install linux-image-amd64');
const dir = tempDir('demo');
const trees = makeLayerTrees(dir, randomToken());
const top = join(dir, 'rootdev');
mkdirSync(top);
for (const name of ['base', 'server', 'extra'] as const) makeSquashfs(trees[name], join(top, `${name}.sqsh`));
makeExt4(top, join(dir, 'root.img'), { label: 'ruckus-root' });
const started = performance.now();
const img = buildImage(join(dir, 'initrd.img'));
console.log(`built ${img} for ${kernel.version} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
const append = 'root=LABEL=ruckus-root sqsh_layers=extra:server:base rw test.action=probe';
console.log(`booting in QEMU (TCG, no KVM: ~15 s): ${append}\n`);
const r = await boot({ initrd: img, append, disks: [{ file: join(dir, 'root.img') }], until: /=== end\n/ });
process.stdout.write(r.console.split('\n').filter((l) => !l.startsWith('[')).join('\n'));
const ok = r.console.includes('WHO=extra') && r.console.includes('mode=layered');
console.log(ok ? '\ndemo: OK — the layered root booted (extra over server over base).' : '\ndemo: FAILED');
process.exit(ok ? 0 : 1);
