// SPDX-License-Identifier: GPL-2.0-or-later
// A minimal Debian 12 with systemd, made by mmdebstrap from the machine's apt sources, as a tarball
// cached for the day (making it takes minutes). The kernel packages are downloaded, not installed:
// the test installs them with dpkg after our package, so that its postinst hook builds the image.
// And the project's .deb, built by scripts/build-deb.sh.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinary, ROOT } from '../cli/helpers.ts';

export const CACHE = process.env.MKRUCKUS_CACHE ?? '/var/tmp/mkruckus-cache';
// erofs-utils: the test's mkruckus.conf.d asks for an erofs second stage (the package recommends it).
export const TREE_PACKAGES = ['systemd-sysv', 'udev', 'kmod', 'linux-base', 'busybox-static', 'erofs-utils'];
/** What the tarball's /root/kernel-debs holds: linux-image-amd64 and the kernel it depends on. */
export const KERNEL_DEBS = '/root/kernel-debs';

function sh(argv: string[], what: string): string {
  const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`${what} failed (${r.exitCode}):\n${r.stdout}${r.stderr.toString().slice(-4000)}`);
  return r.stdout.toString();
}

/**
 * The cached tarball of today, made if missing (older ones are removed). A mirror can be given as
 * MKRUCKUS_MIRROR; otherwise Debian's, as this machine's apt sources name it.
 */
export function debianTarball(): { path: string; seconds: number } {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const hook = `chroot "$1" apt-get install -y --download-only linux-image-amd64 && mkdir -p "$1${KERNEL_DEBS}" && cp "$1"/var/cache/apt/archives/linux-image-*.deb "$1${KERNEL_DEBS}/"`;
  // Keyed by what goes in, too: a changed package list or hook never reuses an older tree.
  const key = new Bun.CryptoHasher('sha256').update(`${TREE_PACKAGES.join(',')}\n${hook}`).digest('hex').slice(0, 8);
  const path = join(CACHE, `bookworm-${day}-${key}.tar`);
  if (existsSync(path)) return { path, seconds: 0 };
  mkdirSync(CACHE, { recursive: true });
  removeStale(path);
  // A name of this run's own: two test runs at once (a whole boot suite beside one file) each make theirs.
  const part = `${path}.${process.pid}.part`;
  const start = performance.now();
  sh([
    'mmdebstrap', '--variant=apt', '--format=tar', `--include=${TREE_PACKAGES.join(',')}`, `--customize-hook=${hook}`,
    'bookworm', part, process.env.MKRUCKUS_MIRROR ?? 'http://deb.debian.org/debian',
  ], 'mmdebstrap');
  renameSync(part, path);
  return { path, seconds: Math.round((performance.now() - start) / 1000) };
}

/** Trees of other days or package lists, and parts left by runs that died over an hour ago. */
function removeStale(keep: string): void {
  for (const name of readdirSync(CACHE).filter((n) => n.startsWith('bookworm-'))) {
    const path = join(CACHE, name);
    const stale = name.endsWith('.part') ? Date.now() - statSync(path).mtimeMs > 3_600_000 : path !== keep;
    if (stale) rmSync(path, { recursive: true, force: true });
  }
}

/** dist/mkruckus_*.deb from the current sources. */
export function buildDeb(out: string): string {
  ensureBinary();
  const r = Bun.spawnSync([join(ROOT, 'scripts/build-deb.sh'), out], { cwd: ROOT, env: { ...process.env, NO_BUILD: '1' }, stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`scripts/build-deb.sh failed:\n${r.stderr}`);
  return out;
}

/**
 * Runs a shell script with the tree as $1, in a private mount namespace where the tree has /proc
 * and /dev (a chroot for dpkg and for the Bun binary, which reads /proc/self/exe). Nothing stays
 * mounted: the namespace ends with the script.
 */
export function inTree(tree: string, script: string, ...args: string[]): string {
  const prelude = 'set -eu; T=$1; mount -t proc proc "$T/proc"; mount --rbind /dev "$T/dev"; mount -t tmpfs tmpfs "$T/run";';
  return sh(['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${prelude}\n${script}`, 'sh', tree, ...args], `in ${tree}: ${script.split('\n')[0]}`);
}
