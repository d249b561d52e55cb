// SPDX-License-Identifier: GPL-2.0-or-later
// Merging erofs layers (real mkfs.erofs images, read back through a read-only loop mount): the
// whiteout and the opaque directory that hide files of the layer below the merged ones survive,
// and so do a hard link and the file contents; the result is erofs when every merged layer is,
// or what --format says.
import { beforeEach, expect } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildLayers } from '../../src/host/layer-build.ts';
import { sqshMerge } from '../../src/host/layer-commands.ts';
import { layerFormat, openLayerSources } from '../../src/host/layer-sources.ts';
import { readEntries } from '../../src/host/layer-tar.ts';
import { DEFAULT_LIMITS, type Entry } from '../../src/layers/entries.ts';
import { makeTar, type Member } from './layers-fixtures.ts';
import { describeNeeding, missing, testNeeding } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const tmp = tempDir('layers-erofs');
const F = { force: false, dryRun: false, reboot: false };
const ROOT = process.getuid?.() === 0 ? [] : ['root (erofs loop mounts, whiteout devices)'];
let top = '';

async function layer(name: string, format: 'squashfs' | 'erofs', members: Member[]): Promise<void> {
  const from = join(tmp, `${name}-${Math.random()}.tar`);
  writeFileSync(from, await makeTar(members));
  await buildLayers({ name, from, outDir: top, format, squash: false, force: false, limits: { ...DEFAULT_LIMITS, allowDevices: true }, epoch: 0 });
}

/** The entries of a layer file, read as a merge reads it. */
async function entriesOf(file: string): Promise<Map<string, Entry>> {
  const opened = openLayerSources([file]);
  try {
    const out = new Map<string, Entry>();
    for (const e of await readEntries(opened.sources[0]!)) if (e) out.set(e.path, e);
    return out;
  } finally {
    opened.release();
  }
}

describeNeeding(missing('mkfs.erofs', 'tar2sqfs', 'sqfs2tar', 'tar'), 'sqsh-merge of erofs layers', () => {
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmp, 'sys-'));
    top = join(dir, 'top');
    const run = join(dir, 'run');
    mkdirSync(join(run, 'params'), { recursive: true });
    mkdirSync(join(top, 'upper/upper'), { recursive: true });
    await layer('base', 'squashfs', [{ name: 'etc/gone', body: 'old' }, { name: 'etc/kept', body: 'base' }, { name: 'opt/a/x', body: 'x' }]);
    await layer('mid', 'erofs', [
      { name: 'etc/gone', type: 'character-device', devmajor: 0, devminor: 0 }, { name: 'etc/kept', body: 'mid' },
      { name: 'opt/a/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } }, { name: 'opt/a/y', body: 'y' },
    ]);
    await layer('t', 'erofs', [{ name: 'etc/t', body: 'top' }, { name: 'etc/t2', type: 'link', linkname: 'etc/t' }]);
    writeFileSync(join(top, 'ruckusrd.conf'), 'sqsh_layers=t:mid:base\n');
    writeFileSync(join(run, 'state'), [
      'mode=layered', 'root=/dev/vda', 'rootdev=/dev/vda', `upper=${top}/upper/upper`, 'layers=t:mid:base',
      ...['t', 'mid', 'base'].map((n) => `layer=${n} x ${top}/${n}.sqsh /mnt/sqsh_layer-${n}`), '',
    ].join('\n'));
    process.env.RUCKUSRD_RUN = run;
    process.env.RUCKUSRD_TOP = top;
  });

  async function checkMerged(file: string): Promise<void> {
    const m = await entriesOf(file);
    expect(m.get('etc/gone')).toMatchObject({ type: 'character-device', devmajor: 0, devminor: 0 });
    expect(m.get('opt/a')!.xattrs['trusted.overlay.opaque']).toBe('y');
    expect(m.has('opt/a/x')).toBe(false);
    expect(m.get('etc/t2')).toMatchObject({ type: 'link', linkname: 'etc/t' });
    expect([...m.keys()].sort()).toEqual(['etc', 'etc/gone', 'etc/kept', 'etc/t', 'etc/t2', 'opt', 'opt/a', 'opt/a/y']);
  }

  testNeeding(ROOT, 'two erofs layers merge into erofs; whiteout, opaque directory and hard link kept over base', async () => {
    expect(layerFormat(join(top, 'mid.sqsh'))).toBe('erofs');
    await sqshMerge(2, 'tm', F);
    expect(layerFormat(join(top, 'tm.sqsh'))).toBe('erofs');
    await checkMerged(join(top, 'tm.sqsh'));
    expect(readdirSync(top).sort()).toEqual(['base.sqsh', 'ruckusrd.conf', 'ruckusrd.last', 'tm.sqsh', 'upper']);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain('mkruckus-erofs-');
  }, 60_000);

  testNeeding(ROOT, '--format squashfs: the same merge as squashfs', async () => {
    await sqshMerge(2, 'tm', { ...F, format: 'squashfs' });
    expect(layerFormat(join(top, 'tm.sqsh'))).toBe('squashfs');
    await checkMerged(join(top, 'tm.sqsh'));
  }, 60_000);

  testNeeding(ROOT, 'an erofs layer over a squashfs one: squashfs, the view of both', async () => {
    await sqshMerge(3, 'all', F);
    expect(layerFormat(join(top, 'all.sqsh'))).toBe('squashfs');
    const m = await entriesOf(join(top, 'all.sqsh'));
    expect([...m.keys()].sort()).toEqual(['etc', 'etc/kept', 'etc/t', 'etc/t2', 'opt', 'opt/a', 'opt/a/y']);
  }, 60_000);

  // A merge killed while it reads erofs layers (a shutdown, ^C) left them loop-mounted in TMPDIR
  // for good. No timing: the child sends itself the signal once the mounts exist, then waits.
  testNeeding(ROOT, 'SIGTERM while erofs layers are mounted to be read: unmounted, nothing left in TMPDIR', () => {
    const tmpdir = mkdtempSync(join(tmp, 'tmpdir-'));
    const script = join(tmp, `signal-${Math.random()}.ts`);
    writeFileSync(script, `
import { openLayerSources } from ${JSON.stringify(join(import.meta.dir, '../../src/host/layer-sources.ts'))};
import { readFileSync } from 'node:fs';
openLayerSources(${JSON.stringify([join(top, 'mid.sqsh'), join(top, 't.sqsh')])});
console.log('mounted', readFileSync('/proc/mounts', 'utf8').split('\\n').filter((l) => l.includes(${JSON.stringify(tmpdir)})).length);
process.kill(process.pid, 'SIGTERM');
setTimeout(() => console.log('the signal was ignored'), 10_000);
`);
    const r = Bun.spawnSync([process.execPath, script], { env: { ...process.env, TMPDIR: tmpdir }, stdout: 'pipe', stderr: 'pipe' });
    expect(r.stdout.toString()).toBe('mounted 2\n');
    expect(r.exitCode).toBe(143);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(tmpdir);
    expect(readdirSync(tmpdir)).toEqual([]);
  }, 60_000);

  testNeeding(ROOT, 'the mounts of a merge that was SIGKILLed are swept by the next one; a live process\'s are kept', () => {
    const tmpdir = mkdtempSync(join(tmp, 'tmpdir-'));
    const dead = Bun.spawnSync(['true']).pid;
    const stale = join(tmpdir, `mkruckus-erofs-${dead}-AbCdEf`);
    const live = join(tmpdir, `mkruckus-erofs-${process.ppid}-AbCdEf`);
    for (const m of [stale, live]) {
      mkdirSync(m);
      expect(Bun.spawnSync(['mount', '-t', 'erofs', '-o', 'loop,ro', join(top, 'mid.sqsh'), m]).exitCode).toBe(0);
    }
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmpdir;
    try {
      // this process's own open sources (not released yet) are not stale either
      const held = openLayerSources([join(top, 'mid.sqsh')]);
      openLayerSources([join(top, 't.sqsh')]).release();
      const own = readdirSync(tmpdir).filter((n) => n.startsWith(`mkruckus-erofs-${process.pid}-`));
      expect(own).toHaveLength(1);
      expect(readFileSync('/proc/mounts', 'utf8')).toContain(join(tmpdir, own[0]!));
      held.release();
      expect(readdirSync(tmpdir)).toEqual([basename(live)]);
      expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(stale);
      expect(readFileSync('/proc/mounts', 'utf8')).toContain(live);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      for (const n of readdirSync(tmpdir)) Bun.spawnSync(['umount', join(tmpdir, n)]);
    }
  }, 60_000);
});
