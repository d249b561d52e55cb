// SPDX-License-Identifier: GPL-2.0-or-later
// --hostonly against sysfs/proc facts made here (test/cli/sysfs.ts), the default driver set, and
// the additions (--include, --install, --add-drivers) as flags and config keys.
import { describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding } from '../unit/need.ts';
import { expectUserError, freshDir, KARG, KVER, run, useScratch } from './helpers.ts';
import { makeSysfs, type Iface } from './sysfs.ts';

useScratch();

const kos = (image: string, cwd: string): string[] => {
  const r = run(['inspect', '--json', image], { cwd });
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { kernelModules: string[] }).kernelModules.map((p) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ko.*$/, ''));
};

function hostonly(iface: Iface): { cwd: string; r: ReturnType<typeof run> } {
  const cwd = freshDir(`hostonly-${iface}`);
  makeSysfs(join(cwd, 'sys-root'), iface);
  const r = run(['--kernel', KARG, '--hostonly', '--no-ucode', 'out.img'], { cwd, env: { MKRUCKUS_HOSTONLY_ROOT: join(cwd, 'sys-root') } });
  return { cwd, r };
}

describeNeeding(KVER ? [] : ['an installed kernel'], '--hostonly', () => {
  test('a SATA root: ahci, libahci, sd_mod and ext4, no virtio or nvme; the record shown by inspect', () => {
    const { cwd, r } = hostonly('ahci');
    expect(r.stderr).toBe('');
    const mods = kos('out.img', cwd);
    expect(mods).toEqual(expect.arrayContaining(['ahci', 'libahci', 'sd_mod', 'ext4', 'jbd2']));
    for (const m of ['virtio_blk', 'nvme', 'snd_hda_intel', 'xhci_pci']) expect(mods).not.toContain(m);
    const head = run(['inspect', 'out.img'], { cwd }).stdout.split('\n').filter((l) => l.startsWith('hostonly: '));
    expect(head[0]).toBe('hostonly: root=/dev/sda fstype=ext4 dev=8:0');
    expect(head.some((l) => l.includes('modalias=pci:v00008086d00002922'))).toBe(true);
    expect(head).toContain('hostonly: loaded=ahci libahci');
  });

  test('a virtio root: virtio_blk and virtio_pci, no ahci', () => {
    const { cwd, r } = hostonly('virtio');
    expect(r.code).toBe(0);
    const mods = kos('out.img', cwd);
    // virtio_pci is a module in Debian's 6.1, built in from 6.12 (modules.builtin names it then).
    const builtin = readFileSync(`/lib/modules/${KVER}/modules.builtin`, 'utf8').includes('/virtio_pci.ko');
    expect(mods).toEqual(expect.arrayContaining(['virtio_blk', ...(builtin ? [] : ['virtio_pci']), 'ext4']));
    expect(mods).not.toContain('ahci');
  });

  test('--hostonly with another --base is one line', () => {
    expectUserError(run(['--kernel', KARG, '--hostonly', '--base', freshDir('b'), 'out.img'], { cwd: freshDir('hb') }), /hostonly|not installed/);
  });
});

describeNeeding(KVER ? [] : ['an installed kernel'], 'drivers and additions', () => {
  test('the default set carries the virtual and server storage drivers, dm-crypt and md raid', () => {
    const r = run(['--kernel', KARG, '--dry-run', 'out.img'], { cwd: freshDir('defaults') });
    const mods = (/^kernel modules \(\d+\): (.*)$/m.exec(r.stdout)?.[1] ?? '').split(' ');
    for (const m of ['hv_storvsc', 'xen_blkfront', 'vmw_pvscsi', 'mpt3sas', 'megaraid_sas', 'dm_crypt', 'md_mod', 'raid1', 'raid456']) expect(mods).toContain(m);
    // NVMe over PCIe, not over fabrics (their network set-up is not in the image; storage-all has them).
    expect(mods).toContain('nvme');
    for (const m of ['nvme_rdma', 'nvme_tcp', 'nvme_fc', 'ib_core']) expect(mods).not.toContain(m);
  });

  test('--include (a file and a directory, links kept, set-id bits dropped), --install with its libraries', () => {
    const cwd = freshDir('add');
    mkdirSync(join(cwd, 'conf/sub'), { recursive: true });
    writeFileSync(join(cwd, 'conf/a.conf'), 'a\n');
    writeFileSync(join(cwd, 'conf/sub/b'), 'b\n');
    chmodSync(join(cwd, 'conf/sub/b'), 0o4755);
    symlinkSync('a.conf', join(cwd, 'conf/link'));
    writeFileSync(join(cwd, 'motd'), 'hello\n');
    const r = run(['--kernel', KARG, '--modules', 'base', '--include', 'conf:/etc/extra', '--include', `${join(cwd, 'motd')}:/etc/motd`, '--install', 'blkid', 'out.img'], { cwd });
    expect(r.stderr).toBe('');
    const e = (JSON.parse(run(['inspect', '--json', 'out.img'], { cwd }).stdout) as { segments: { entries: { path: string; mode: number; type: string; target?: string }[] }[] }).segments.flatMap((s) => s.entries);
    const at = (p: string) => e.find((x) => x.path === p);
    expect(at('/etc/extra/a.conf')?.type).toBe('file');
    expect(at('/etc/extra/sub/b')?.mode).toBe(0o755);
    expect(at('/etc/extra/link')?.target).toBe('a.conf');
    expect(at('/etc/motd')?.type).toBe('file');
    expect(at('/usr/sbin/blkid')?.type).toBe('file');
    expect(e.some((x) => /\/libblkid\.so\.1$/.test(x.path))).toBe(true);
    expectUserError(run(['--kernel', KARG, '--modules', 'base', '--include', 'nothing-here:/x', 'o.img'], { cwd }), /--include: nothing-here not found/);
  });
});
