// SPDX-License-Identifier: GPL-2.0-or-later
// The Debian package made by scripts/build-deb.sh, read back with dpkg-deb and judged by lintian.
// Installing it into a real Debian tree, and booting that, is test/boot/debian.boot.test.ts.
import { beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { freshDir, useScratch } from '../cli/helpers.ts';
import { describeNeeding, missing, testNeeding } from '../unit/need.ts';
import { buildDeb } from './debian-tree.ts';

useScratch();

function sh(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout.toString();
}

describeNeeding(missing('dpkg-deb', 'dpkg'), 'the .deb', () => {
  let deb = '';
  beforeAll(() => {
    deb = buildDeb(join(freshDir('deb'), 'mkruckus.deb'));
  });

  test('control: a linux-initramfs-tool that conflicts with the others, as Debian\'s dracut', () => {
    const field = (name: string) => sh(['dpkg-deb', '--field', deb, name]).trim();
    expect(field('Package')).toBe('mkruckus');
    expect(field('Architecture')).toBe(sh(['dpkg', '--print-architecture']).trim());
    expect(field('Provides')).toBe('linux-initramfs-tool');
    expect(field('Conflicts').split(/,\s*/)).toEqual(['linux-initramfs-tool', 'initramfs-tools', 'dracut']);
    expect(field('Depends')).toContain('busybox-static | busybox');
    const info = sh(['dpkg-deb', '--info', deb]);
    expect(info).toMatch(/ conffiles\s/);
    expect(info).toMatch(/ triggers\s/);
    const ctl = freshDir('ctl');
    sh(['dpkg-deb', '--control', deb, ctl]);
    expect(sh(['cat', join(ctl, 'conffiles')]).split('\n').filter(Boolean)).toEqual([
      '/etc/kernel/postinst.d/zz-mkruckus', '/etc/kernel/postrm.d/zz-mkruckus', '/etc/mkruckus.conf',
    ]);
    expect(sh(['cat', join(ctl, 'triggers')])).toBe('interest-noawait update-initramfs\n');
  });

  test('contents: the binary and its ruckusrd name, the hooks, man page, completion; all root-owned', () => {
    const lines = sh(['dpkg-deb', '--contents', deb]).split('\n').filter(Boolean);
    const entries = new Map(lines.map((l) => {
      const f = l.split(/\s+/);
      return [f[5]!.replace(/^\./, ''), { mode: f[0]!, owner: f[1]!, link: f[7] }] as const;
    }));
    for (const path of ['/usr/bin/mkruckus', '/etc/kernel/postinst.d/zz-mkruckus', '/etc/kernel/postrm.d/zz-mkruckus', '/usr/lib/kernel/install.d/50-mkruckus.install']) {
      expect(entries.get(path)?.mode).toBe('-rwxr-xr-x');
    }
    for (const path of ['/etc/mkruckus.conf', '/usr/share/man/man8/mkruckus.8.gz', '/usr/share/man/man5/ruckusrd.conf.5.gz', '/usr/share/bash-completion/completions/mkruckus', '/usr/share/zsh/vendor-completions/_mkruckus', '/usr/share/doc/mkruckus/copyright']) {
      expect(entries.get(path)?.mode).toBe('-rw-r--r--');
    }
    expect(entries.get('/usr/bin/ruckusrd')?.link).toBe('mkruckus');
    expect([...entries.values()].every((e) => e.owner === 'root/root')).toBe(true);
  });

  test('the packaged binary runs, under both names', () => {
    const root = freshDir('x');
    sh(['dpkg-deb', '-x', deb, root]);
    expect(sh([join(root, 'usr/bin/mkruckus'), '--version']).trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(sh([join(root, 'usr/bin/ruckusrd'), '--help'])).toContain('update');
  });

  testNeeding(missing('man'), 'the man pages render', () => {
    const root = freshDir('man');
    sh(['dpkg-deb', '-x', deb, root]);
    const text = sh(['man', '-l', join(root, 'usr/share/man/man8/mkruckus.8.gz')]);
    expect(text).toContain('mkruckus');
    expect(text).toContain('--second-stage-boot-path');
    const conf = sh(['man', '-l', join(root, 'usr/share/man/man5/ruckusrd.conf.5.gz')]);
    expect(conf).toContain('sqsh_layers=NAMES');
  });

  testNeeding(missing('lintian'), 'lintian finds no error or warning', () => {
    const r = Bun.spawnSync(['lintian', '--fail-on', 'error,warning', deb], { stdout: 'pipe', stderr: 'pipe' });
    expect(r.stdout.toString()).toBe('');
    expect(r.exitCode).toBe(0);
  }, 300_000);
});
