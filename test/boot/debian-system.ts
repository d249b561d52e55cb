// SPDX-License-Identifier: GPL-2.0-or-later
// A Debian 12 system as a packager makes it, shared by the boot tests that boot one
// (debian.boot.test.ts, hostonly-guest.boot.test.ts): the cached mmdebstrap tree unpacked, our
// .deb installed with dpkg -i, then the kernel packages with `apt-get install` (the cached .debs;
// apt resolves linux-initramfs-tool to us), whose postinst hook makes /boot/initrd.img-KVER.
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDeb, debianTarball, inTree, KERNEL_DEBS } from '../distro/debian-tree.ts';
import { run } from './disks.ts';

/** Seconds per named step, printed by the tests (boots under TCG vary 2-3x with the machine's load). */
export class Timings {
  readonly seconds: Record<string, number> = {};

  time<T>(name: string, fn: () => T): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      this.seconds[name] = Math.round((performance.now() - start) / 100) / 10;
    }
  }

  async timeAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.seconds[name] = Math.round((performance.now() - start) / 100) / 10;
    }
  }
}

export interface DebianSystem {
  tree: string;
  kver: string;
  /** what apt-get install printed: the postinst hook's line names the image it made */
  hookOutput: string;
}

/**
 * The tree under DIR/tree with mkruckus and a kernel installed. `confD` files go into
 * /etc/mkruckus.conf.d before the kernel, so the hook's image follows them.
 */
export function installDebianSystem(dir: string, t: Timings, confD: Record<string, string> = {}): DebianSystem {
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  const tarball = t.time('mmdebstrap (0 when cached)', () => debianTarball());
  t.time('unpack tree', () => run(['tar', '-C', tree, '--numeric-owner', '-xpf', tarball.path]));
  const deb = t.time('build .deb', () => buildDeb(join(dir, 'mkruckus.deb')));
  run(['cp', deb, join(tree, 'root/mkruckus.deb')]);
  t.time('dpkg -i mkruckus.deb', () => inTree(tree, 'chroot "$T" dpkg -i /root/mkruckus.deb'));
  mkdirSync(join(tree, 'etc/mkruckus.conf.d'));
  for (const [name, text] of Object.entries(confD)) writeFileSync(join(tree, 'etc/mkruckus.conf.d', name), text);
  const hookOutput = t.time('apt-get install kernel (postinst hook)', () =>
    inTree(tree, `chroot "$T" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y ${KERNEL_DEBS}/*.deb 2>&1'`));
  const kver = readdirSync(join(tree, 'lib/modules'))[0] ?? '';
  rmSync(join(tree, KERNEL_DEBS.slice(1)), { recursive: true });
  return { tree, kver, hookOutput };
}

/** A oneshot unit run once multi-user.target is reached, printing on the console, then powering off. */
export function addMarkerUnit(tree: string, name: string, execStart: string): void {
  const unit = `[Unit]
Description=mkruckus test marker
After=multi-user.target

[Service]
Type=oneshot
StandardOutput=tty
TTYPath=/dev/console
ExecStart=${execStart}
ExecStartPost=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
`;
  writeFileSync(join(tree, `etc/systemd/system/${name}.service`), unit);
  mkdirSync(join(tree, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync(`../${name}.service`, join(tree, `etc/systemd/system/multi-user.target.wants/${name}.service`));
}
