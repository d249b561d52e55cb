// SPDX-License-Identifier: GPL-2.0-or-later
// A --base whose kernel has `.ko.xz` modules, as Debian's 6.12 packages ship them, made from this
// machine's kernel (whose modules are plain `.ko`): a copy of /lib/modules/KVER with every module
// compressed the way the kernel's `make modules_install` does (xz --check=crc32 --lzma2=dict=1MiB)
// and depmod run over it. Compressing ~4000 modules costs minutes of CPU, so the copy is kept under
// $XDG_CACHE_HOME/mkruckus-bench (delete it to redo). The base itself is the host's /usr and /etc,
// bind-mounted in a private mount namespace (`unshare -m`, root only) that ends with the build, with
// the compressed copy mounted over usr/lib/modules/KVER.
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { run } from '../test/boot/disks.ts';
import { locate } from './lib.ts';

const XZ_ARGS = ['--check=crc32', '--lzma2=dict=1MiB'];

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mkruckus-bench');
}

/** CACHE/ko-xz-KVER/lib/modules/KVER, made once: returns that modules directory. */
export function xzModulesTree(kver: string): string {
  const top = join(cacheDir(), `ko-xz-${kver}`);
  const modules = join(top, 'lib/modules', kver);
  if (existsSync(join(top, 'complete'))) return modules;
  const depmod = locate('depmod');
  if (!depmod) throw new Error('depmod (kmod) not installed');
  const part = `${top}.part`;
  rmSync(part, { recursive: true, force: true });
  mkdirSync(join(part, 'lib/modules'), { recursive: true });
  console.error(`making ${top}: /lib/modules/${kver} with every .ko xz-compressed (a few minutes, once)…`);
  run(['cp', '-a', `/lib/modules/${kver}`, join(part, 'lib/modules')]);
  // nice: the other engineers' QEMU boots keep their CPU share.
  run(['sh', '-c', 'd=$1; shift; find "$d" -name "*.ko" -print0 | nice -n 10 xargs -0 -P "$(nproc)" -n 64 xz "$@"', 'sh',
    join(part, 'lib/modules', kver), ...XZ_ARGS]);
  run([depmod, '-b', part, kver]);
  writeFileSync(join(part, 'complete'), `${XZ_ARGS.join(' ')}\n`);
  rmSync(top, { recursive: true, force: true });
  renameSync(part, top);
  return modules;
}

/** Whether the host can make the base: root, unshare, and /lib a link into /usr (merged /usr). */
export function xzBaseUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (bind mounts in a private namespace)';
  if (!locate('unshare')) return 'unshare (util-linux) not installed';
  if (!locate('xz')) return 'xz (xz-utils) not installed';
  try {
    run(['test', '-L', '/lib']);
  } catch {
    return 'the host /lib is not a link into /usr (merged /usr)';
  }
  return undefined;
}

/** An empty base skeleton at `dir`: usr/ and etc/ to mount on, the merged-/usr links. */
export function makeXzBase(dir: string): string {
  for (const d of ['usr', 'etc']) mkdirSync(join(dir, d), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(dir, d));
  return dir;
}

/** `argv` (a mkruckus command line taking `--base BASE`) run with the .ko.xz base mounted. */
export function inXzBase(base: string, modules: string, kver: string, argv: string[]): string[] {
  const script = 'b=$1 x=$2 k=$3; shift 3; mount --bind /usr "$b/usr" && mount --bind /etc "$b/etc" && ' +
    'mount --bind "$x" "$b/usr/lib/modules/$k" && exec "$@"';
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', base, modules, kver, ...argv];
}
