// SPDX-License-Identifier: GPL-2.0-or-later
// The boot benchmarks' floor and peers, built in the same run for the same kernel: tiny-initramfs
// (`mktirfs`, Debian's tiny-initramfs-core: a static C /init that insmods a list and mounts root=),
// a hand-made busybox image (bench/handmade/init.sh plus the modules of a virtio disk with ext4),
// our default and generic images, initramfs-tools and dracut. A peer that is not installed or
// fails to build is a row saying so, never a failed run.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeNewc, sortCpioEntries, validateCpioEntries, type CpioEntry } from '../src/archive/cpio.ts';
import { compress } from '../src/archive/compress.ts';
import { run } from '../test/boot/disks.ts';
import { CLI, locate } from './lib.ts';

/** What the bench guest's root needs: the virtio PCI transport and disk, ext4 and its crc32c. */
export const ROOT_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4'] as const;

export interface Peer {
  name: string;
  /** the image file; absent with `missing` */
  file?: string;
  missing?: string;
  /** bytes on disk */
  size?: number;
  /** builder-specific kernel arguments besides root= */
  append: string;
}

/** Runs `build` and turns its outcome into a row: a throw becomes `missing` with the first line of why. */
function attempt(name: string, file: string, append: string, build: () => void | Promise<void>): Promise<Peer> {
  const started = performance.now();
  return (async () => {
    try {
      await build();
      console.error(`  built ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return { name, file, append, size: statSync(file).size };
    } catch (e) {
      return { name, append, missing: `build failed: ${(e as Error).message.split('\n')[0]}` };
    }
  })();
}

const absent = (name: string, tool: string): Peer => ({ name, append: '', missing: `${tool} not installed` });

export function tinyInitramfs(dir: string, kver: string): Promise<Peer> {
  const name = 'tiny-initramfs (floor)';
  const mktirfs = locate('mktirfs');
  if (!mktirfs) return Promise.resolve(absent(name, 'mktirfs (tiny-initramfs-core)'));
  const out = join(dir, 'tiny.img');
  // -m no: no guessing from the host's own root; -M no: no microcode, like every other row.
  return attempt(name, out, '', () => {
    run([mktirfs, '-o', out, '-m', 'no', '-M', 'no', `--include-modules=${ROOT_MODULES.join(',')}`, kver]);
    decodeXzModules(out, dirname(out));
  });
}

/**
 * tiny-initramfs copies a kernel's modules as they are and hands them to finit_module without
 * asking the kernel to decompress: on a kernel with `.ko.xz` modules (Debian's 6.12) every insmod
 * fails (Invalid ELF header magic) and no root is found. Decodes them in the image (gzip of one
 * newc cpio, as mktirfs -M no writes it), each under its own name so tiny's list still finds it.
 */
function decodeXzModules(img: string, scratch: string): void {
  const tree = join(scratch, 'tiny-tree');
  run(['mkdir', '-p', tree]);
  run(['sh', '-c', 'gzip -dc "$1" | (cd "$2" && cpio -i --quiet --make-directories)', 'sh', img, tree]);
  const xz = readdirSync(tree).filter((f) => f.endsWith('.ko.xz'));
  if (!xz.length) return;
  for (const f of xz) {
    const decoded = Bun.spawnSync(['xz', '-dc', join(tree, f)]);
    if (decoded.exitCode !== 0) throw new Error(`xz -dc ${f}: ${decoded.stderr.toString()}`);
    writeFileSync(join(tree, f), decoded.stdout);
  }
  run(['sh', '-c', 'cd "$1" && find . ! -name . | sort | cpio -o --quiet -R 0:0 -H newc | gzip -9 > "$2"', 'sh', tree, img]);
  rmSync(tree, { recursive: true, force: true });
}

/** The module files of ROOT_MODULES, dependencies first, as modprobe would insmod them. */
export function rootModulePaths(kver: string): string[] {
  const modprobe = locate('modprobe');
  if (!modprobe) throw new Error('modprobe (kmod) not installed');
  const paths: string[] = [];
  for (const m of ROOT_MODULES) {
    for (const line of run([modprobe, '-S', kver, '--show-depends', m]).split('\n')) {
      const path = /^insmod (\S+)/.exec(line)?.[1];
      if (path && !paths.includes(path)) paths.push(path);
    }
  }
  return paths;
}

/** Every directory above `path`, outermost first, e.g. /a and /a/b for /a/b/c. */
function parents(path: string): string[] {
  const out: string[] = [];
  for (let d = dirname(path); d !== '/'; d = dirname(d)) out.unshift(d);
  return out;
}

/** bench/handmade/init.sh, static busybox and the modules in one zstd cpio. */
export async function writeHandMade(out: string, kver: string): Promise<void> {
  const modules = rootModulePaths(kver);
  const files: CpioEntry[] = [
    { path: '/init', type: 'file', mode: 0o755, data: readFileSync(join(import.meta.dir, 'handmade/init.sh')) },
    { path: '/bin/busybox', type: 'file', mode: 0o755, data: readFileSync('/bin/busybox') },
    { path: '/modules', type: 'file', mode: 0o644, data: new TextEncoder().encode(modules.map((m) => `${m}\n`).join('')) },
    // the kernel opens it for /init's stdin/stdout/stderr
    { path: '/dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 },
    ...modules.map((m): CpioEntry => ({ path: m, type: 'file', mode: 0o644, data: readFileSync(m) })),
  ];
  const dirs = new Set(['/dev', '/proc', '/root', ...files.flatMap((f) => parents(f.path))]);
  const entries = sortCpioEntries([...[...dirs].map((path): CpioEntry => ({ path, type: 'dir', mode: 0o755 })), ...files]);
  validateCpioEntries(entries);
  await Bun.write(out, await compress(writeNewc(entries, { mtime: 0 }), 'zstd'));
}

export function handMade(dir: string, kver: string): Promise<Peer> {
  const out = join(dir, 'handmade.img');
  return attempt(`hand-made busybox + ${ROOT_MODULES.join(', ')} (with deps)`, out, '', () => writeHandMade(out, kver));
}

export function mkruckus(dir: string, kver: string, label: string, args: string[]): Promise<Peer> {
  const out = join(dir, `mkruckus-${label.replace(/\W+/g, '-')}.img`);
  return attempt(label, out, '', () => void run([CLI, '--kernel', kver, '--force', ...args, out]));
}

/** The MODULES= of initramfs-tools' configuration (bookworm ships `most`). */
export function initramfsToolsModules(): string {
  try {
    return /^MODULES=(\S+)/m.exec(readFileSync('/etc/initramfs-tools/initramfs.conf', 'utf8'))?.[1] ?? 'most';
  } catch {
    return 'most';
  }
}

export function initramfsTools(dir: string, kver: string): Promise<Peer> {
  const name = `initramfs-tools MODULES=${initramfsToolsModules()}`;
  const mkinitramfs = locate('mkinitramfs');
  if (!mkinitramfs) return Promise.resolve(absent(name, 'mkinitramfs (initramfs-tools)'));
  const out = join(dir, 'initramfs-tools.img');
  return attempt(name, out, '', () => void run([mkinitramfs, '-o', out, kver]));
}

export function dracut(dir: string, kver: string): Promise<Peer> {
  const name = 'dracut --no-hostonly';
  const tool = locate('dracut');
  if (!tool) return Promise.resolve(absent(name, 'dracut (dracut-core)'));
  const out = join(dir, 'dracut.img');
  // rd.emergency=poweroff: a failed boot ends the VM instead of waiting in an emergency shell until
  // the timeout; rd.shell=0 likewise keeps it from offering a shell.
  return attempt(name, out, 'rd.shell=0 rd.emergency=poweroff', () => void run([tool, '--no-hostonly', '--kver', kver, '--force', out]));
}
