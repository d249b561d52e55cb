// SPDX-License-Identifier: GPL-2.0-or-later
// Guest disks built without mounting anything: a directory tree → mkfs.ext4 -d / mksquashfs /
// mkfs.erofs. Labels and UUIDs come from one table so tests and cmdlines agree.
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const IDS = {
  root: { label: 'ruckus-root', uuid: '5f1f9a3e-7c1b-4f5e-9c2a-1d2e3f4a5b6c' },
  layers: { label: 'ruckus-layers', uuid: '0b7d3c1a-2e4f-4a6b-8c9d-0e1f2a3b4c5d' },
  part: { partuuid: '8a3c6e1f-4b2d-4c7e-9f1a-2b3c4d5e6f70', partlabel: 'ruckus-part' },
} as const;

export function run(argv: string[]): string {
  const p = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' });
  if (p.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

export { tempDir } from '../temp-dirs.ts';

/** A minimal root: static busybox with its applets, the guest init, a token, optional actions. */
export function makeGuestRoot(dir: string, token: string, actions: Record<string, string> = {}): void {
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'mnt', 'var', 'actions']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const applet of run(['/bin/busybox', '--list']).split('\n').filter(Boolean)) {
    if (applet !== 'busybox' && applet !== 'init') symlinkSync('busybox', join(dir, 'bin', applet));
  }
  copyFileSync(join(import.meta.dir, 'guest/init.sh'), join(dir, 'sbin/init'));
  chmodSync(join(dir, 'sbin/init'), 0o755);
  writeFileSync(join(dir, 'token'), `${token}\n`);
  for (const [name, script] of Object.entries(actions)) {
    writeFileSync(join(dir, 'actions', name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }
}

export function makeExt4(
  dir: string,
  image: string,
  opts: { label?: string; uuid?: string; sizeMB?: number; type?: 'ext2' | 'ext4' } = {},
): void {
  run([
    'mke2fs', '-t', opts.type ?? 'ext4', '-q', '-F', '-d', dir, '-E', 'root_owner=0:0',
    ...(opts.label ? ['-L', opts.label] : []), ...(opts.uuid ? ['-U', opts.uuid] : []),
    image, `${opts.sizeMB ?? 64}M`,
  ]);
}

/** A GPT disk with one partition (fixed PARTUUID and name) holding the filesystem image `fs`. */
export function makeGptDisk(fs: string, disk: string): void {
  const sizeMB = Math.ceil(Bun.file(fs).size / 2 ** 20) + 2;
  run(['truncate', '-s', `${sizeMB}M`, disk]);
  const table = `label: gpt\nstart=2048, type=linux, uuid=${IDS.part.partuuid}, name=${IDS.part.partlabel}\n`;
  const p = Bun.spawnSync(['sfdisk', '-q', disk], { stdin: new TextEncoder().encode(table) });
  if (p.exitCode !== 0) throw new Error(`sfdisk: ${p.stderr.toString()}`);
  run(['dd', `if=${fs}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
}

export function randomToken(): string {
  return `tok-${crypto.randomUUID()}`;
}
