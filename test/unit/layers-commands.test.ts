// SPDX-License-Identifier: GPL-2.0-or-later
// The layer commands' flows against a fake booted system (RUCKUSRD_RUN: a state file;
// RUCKUSRD_TOP: the root device's top): which need --reboot and which refuse it, --dry-run writes
// nothing, a live commit with ram_layer, a persistent commit left for /init, `layers`.
import { beforeEach, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayers } from '../../src/host/layer-build.ts';
import { sqshCommit, sqshMerge } from '../../src/host/layer-commands.ts';
import { layersStatus } from '../../src/host/layer-init.ts';
import { DEFAULT_LIMITS } from '../../src/layers/entries.ts';
import { makeTar, readSquashfs } from './layers-fixtures.ts';
import { describeNeeding, missing } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const tmp = tempDir('layers-cmd');
const F = { force: false, dryRun: false, reboot: false };
// --reboot must never reach the machine running the tests.
process.env.RUCKUSRD_REBOOT = 'true';

let top = '';
let run = '';
async function fakeSystem(ram: boolean, diskUpper = false): Promise<void> {
  const dir = mkdtempSync(join(tmp, 'sys-'));
  top = join(dir, 'top');
  run = join(dir, 'run');
  mkdirSync(join(run, 'params'), { recursive: true });
  mkdirSync(join(top, 'upper/upper/etc'), { recursive: true });
  for (const [name, body] of [['base', 'base'], ['mid', 'mid']] as const) {
    writeFileSync(join(dir, `${name}.tar`), await makeTar([{ name: 'etc/who', body }, { name: `etc/${name}`, body }]));
    await buildLayers({ name, from: join(dir, `${name}.tar`), outDir: top, format: 'squashfs', squash: false, force: false, limits: DEFAULT_LIMITS, epoch: 0 });
  }
  writeFileSync(join(top, 'ruckusrd.conf'), `sqsh_layers=mid:base\n${ram ? 'ram_layer=50%\n' : ''}`);
  const upper = ram ? join(dir, 'ram/upper') : join(top, 'upper/upper');
  mkdirSync(join(upper, 'etc'), { recursive: true });
  writeFileSync(join(upper, 'etc/new'), 'new');
  Bun.spawnSync(['mknod', join(upper, 'etc/mid'), 'c', '0', '0']);
  writeFileSync(join(run, 'state'), [
    'root=/dev/vda', 'rootdev=/dev/vda', `layer=mid squashfs ${top}/mid.sqsh /mnt/sqsh_layer-mid`,
    ...(diskUpper ? [`layer=upper dir /upper/upper ${top}/upper/upper`] : []),
    `layer=base squashfs ${top}/base.sqsh /mnt/sqsh_layer-base`, 'layers=mid:base', `upper=${upper}`,
    ...(ram ? ['ram_layer=50%'] : []), 'mode=layered', '',
  ].join('\n'));
  process.env.RUCKUSRD_RUN = run;
  process.env.RUCKUSRD_TOP = top;
}

async function stdoutOf(fn: () => Promise<void>): Promise<string> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}
const conf = () => readFileSync(join(top, 'ruckusrd.conf'), 'utf8');

describeNeeding(missing('tar2sqfs', 'sqfs2tar', 'tar', 'mknod'), 'layer commands on a fake booted system', () => {
  describe('persistent upper', () => {
    beforeEach(() => fakeSystem(false));
    test('sqsh-commit needs --reboot; --dry-run prints the steps and writes nothing', async () => {
      await expect(sqshCommit('c1', 0, F)).rejects.toThrow('needs a reboot: run again with --reboot');
      const out = await stdoutOf(() => sqshCommit('c1', 0, { ...F, dryRun: true }));
      expect(out).toBe('would commit c1: mid:base → c1:mid:base\n  step squash\n  step conf\n  step clean\n  step sweep\n');
      expect(readdirSync(top).sort()).toEqual(['base.sqsh', 'mid.sqsh', 'ruckusrd.conf', 'upper']);
    });
    test('sqsh-commit records the operation for /init; `layers` reports it; another operation waits', async () => {
      expect(await stdoutOf(() => sqshCommit('c1', 0, { ...F, reboot: true }))).toContain('rebooting');
      expect(readFileSync(join(top, 'ruckusrd.journal'), 'utf8')).toBe('op=commit\nname=c1\nlayerdir=\nbefore=mid:base\nafter=c1:mid:base\n');
      expect(readFileSync(join(top, 'ruckusrd.conf.next'), 'utf8')).toContain('sqsh_layers=c1:mid:base\n');
      expect(conf()).toBe('sqsh_layers=mid:base\n');
      const status = await stdoutOf(() => layersStatus());
      expect(status).toContain('pending operation: commit c1 (mid:base → c1:mid:base): done nothing; to do squash, conf, clean, sweep; boots mid:base (by /init at the next boot)');
      expect(status).toMatch(/mid +squashfs +0\.0 MiB/);
      await expect(sqshMerge(2, 'm', F)).rejects.toThrow('finished at the next boot first');
    }, 30_000);
    test('--merge with a persistent upper is recorded for /init (squashfs only); sqsh_layers on the command line needs --force', async () => {
      await expect(sqshCommit('c1', 1, { ...F, reboot: true, format: 'erofs' })).rejects.toThrow('/init writes the commit of a persistent upper as squashfs');
      expect(await stdoutOf(() => sqshCommit('c1', 1, { ...F, reboot: true }))).toContain('commit of the upper merged with mid as c1 recorded');
      expect(readFileSync(join(top, 'ruckusrd.journal'), 'utf8')).toBe('op=commit\nname=c1\nlayerdir=\nbefore=mid:base\nafter=c1:base\nsources=upper:mid\n');
      rmSync(join(top, 'ruckusrd.journal'));
      writeFileSync(join(run, 'params/sqsh_layers.cmdline'), '');
      await expect(sqshCommit('c1', 0, { ...F, reboot: true })).rejects.toThrow('sqsh_layers is on the kernel command line');
    });
    test('sqsh-merge is live: --reboot refused; the merged layer keeps the whiteout-free view', async () => {
      await expect(sqshMerge(2, 'all', { ...F, reboot: true })).rejects.toThrow('needs no reboot');
      const out = await stdoutOf(() => sqshMerge(2, 'all', F));
      expect(out).toContain('merged mid:base into all (squashfs): the next boot assembles all');
      expect(out).toContain('removed mid.sqsh base.sqsh');
      expect(conf()).toContain('sqsh_layers=all\n');
      expect(readdirSync(top).sort()).toEqual(['all.sqsh', 'ruckusrd.conf', 'ruckusrd.last', 'upper']);
      // what a cut before the sweep (or a hand) leaves is reported by `layers`
      writeFileSync(join(top, 'old.sqsh'), '');
      writeFileSync(join(top, '.x.sqsh.tmp'), '');
      const status = await stdoutOf(() => layersStatus());
      expect(status).toContain(`leftover: ${top}/.x.sqsh.tmp (an interrupted write; remove it)\n`);
      expect(status).toContain(`leftover: ${top}/old.sqsh (in no stack; remove it when no longer wanted)\n`);
      expect(status).not.toContain('all.sqsh (');
      const s = await readSquashfs(join(top, 'all.sqsh'));
      expect(s.get('etc/who')!.body).toBe('mid');
      expect([...s.keys()].sort()).toEqual(['etc', 'etc/base', 'etc/mid', 'etc/who']);
      expect(readFileSync(join(top, 'ruckusrd.last'), 'utf8')).toContain('result=done');
      expect(existsSync(join(top, 'ruckusrd.journal'))).toBe(false);
    }, 30_000);
  });

  describe('ram_layer', () => {
    beforeEach(() => fakeSystem(true));
    test('sqsh-commit is written live (--reboot refused); the upper and its whiteout become the top layer', async () => {
      await expect(sqshCommit('c1', 0, { ...F, reboot: true })).rejects.toThrow('needs no reboot');
      const out = await stdoutOf(() => sqshCommit('c1', 0, F));
      expect(out).toContain('committed c1: the next boot assembles c1:mid:base');
      expect(conf()).toContain('sqsh_layers=c1:mid:base\nram_layer=50%\n');
      const s = await readSquashfs(join(top, 'c1.sqsh'));
      expect(s.get('etc/new')!.body).toBe('new');
      expect(s.get('etc/mid')).toMatchObject({ type: 'character-device', dev: '0,0' });
    }, 30_000);
    test('sqsh-commit --merge=1: one layer of the upper and mid, the deletion of mid\'s file kept over base', async () => {
      await stdoutOf(() => sqshCommit('c1', 1, F));
      expect(conf()).toContain('sqsh_layers=c1:base\n');
      const s = await readSquashfs(join(top, 'c1.sqsh'));
      expect(s.get('etc/who')!.body).toBe('mid');
      expect(s.get('etc/new')!.body).toBe('new');
      expect(s.get('etc/mid')).toMatchObject({ type: 'character-device' });
    }, 30_000);
    test('a live commit that merged the persistent upper/upper (a read-only layer here) moves it aside: no stale upper at the next boot', async () => {
      await fakeSystem(true, true);
      writeFileSync(join(top, 'upper/upper/etc/disk'), 'disk');
      await stdoutOf(() => sqshCommit('c1', 0, F));
      expect((await readSquashfs(join(top, 'c1.sqsh'))).get('etc/disk')!.body).toBe('disk');
      expect(readdirSync(join(top, 'upper')).sort()).toEqual(['.committed']);
      expect(readFileSync(join(top, 'ruckusrd.last'), 'utf8')).toContain('disk_upper=merged\n');
    }, 30_000);
  });
});
