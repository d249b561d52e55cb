// SPDX-License-Identifier: GPL-2.0-or-later
// Power cuts, simulated after every step of the real executors: /init's commit
// (modules/overlay/layerops.sh under busybox sh, a cut = the shell exits at a step marker) and
// mkruckus's merge (src/host/layer-ops.ts runMerge, a cut = a throw at a step marker). After each
// cut the stack named by ruckusrd.conf must exist and show every file of the upper; the next run
// must finish the operation.
import { describe, expect, test } from 'bun:test';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayers } from '../../src/host/layer-build.ts';
import { readJournalAt, runMerge, startJournal } from '../../src/host/layer-ops.ts';
import { DEFAULT_LIMITS } from '../../src/layers/entries.ts';
import { describeJournal, parseJournal, planCommit, planLayerMerge, renderJournal } from '../../src/layers/journal.ts';
import { layersOf, parseConf } from '../../src/layers/stack.ts';
import { makeTar, type Member, readSquashfs } from './layers-fixtures.ts';
import { describeNeeding, missing, testNeeding } from './need.ts';
import { tempDir } from '../temp-dirs.ts';

const tmp = tempDir('layers-journal');
const LIB = join(import.meta.dir, '../../templates/lib');
const OPS = join(import.meta.dir, '../../modules/overlay/layerops.sh');
const LAYERS = join(import.meta.dir, '../../modules/overlay/layers.sh');

async function layer(dir: string, name: string, members: Member[]): Promise<void> {
  const from = join(tmp, `${name}-${Math.random()}.tar`);
  writeFileSync(from, await makeTar(members));
  await buildLayers({ name, from, outDir: dir, format: 'squashfs', squash: false, force: true, limits: DEFAULT_LIMITS, epoch: 0 });
}

/** What the stack on a root device shows at PATH: the upper first, then the conf's layers. */
async function visible(top: string, path: string, withUpper = true): Promise<string | null> {
  const up = withUpper ? lstatSync(join(top, 'upper/upper', path), { throwIfNoEntry: false }) : undefined;
  if (up) return up.isCharacterDevice() ? null : readFileSync(join(top, 'upper/upper', path), 'utf8');
  for (const name of layersOf(parseConf(readFileSync(join(top, 'ruckusrd.conf'), 'utf8')))) {
    const seen = (await readSquashfs(join(top, `${name}.sqsh`))).get(path);
    if (seen) return seen.type === 'character-device' ? null : seen.body;
  }
  return null;
}

describe('journal format', () => {
  test('round trip; a torn last line is ignored; unknown steps are not counted', () => {
    const { journal } = planCommit(new Map([['sqsh_layers', 'b:a']]), 'c', 0, '', false);
    const text = renderJournal({ ...journal, done: ['squash'] });
    expect(parseJournal(text)).toEqual({ ...journal, done: ['squash'] });
    expect(parseJournal(text + 'done=co')!.done).toEqual(['squash']);
    expect(parseJournal('op=rm -rf\nname=x\n')).toBeUndefined();
    expect(describeJournal({ ...journal, done: ['squash', 'conf'] }, false)).toContain('boots c:b:a');
  });
  test('plans: commit on top, merge replaces the top N; bad requests refused', () => {
    const conf = new Map([['sqsh_layers', 'c:b:a'], ['ram_layer', '50%']]);
    expect(planCommit(conf, 'n', 0, '', false).nextConf).toContain('sqsh_layers=n:c:b:a\nram_layer=50%\n');
    expect(planLayerMerge(conf, 2, 'm', '').journal).toMatchObject({ sources: ['c', 'b'], after: ['m', 'a'] });
    expect(() => planLayerMerge(conf, 4, 'm', '')).toThrow('only 3 layers');
    expect(() => planLayerMerge(conf, 2, 'a', '')).toThrow('below the merged');
    expect(() => planCommit(conf, 'b', 0, '', false)).toThrow('already a layer');
    expect(() => planCommit(new Map([['sqsh_layers', 'bad/name']]), 'n', 0, '', false)).toThrow('invalid value');
  });
});

describeNeeding(missing('/bin/busybox', 'mksquashfs', 'tar2sqfs', 'sqfs2tar'), 'power cuts', () => {
  /** A root device: base.sqsh (etc/gone, etc/kept), an upper that adds, changes and deletes. */
  async function commitSetup(): Promise<string> {
    const top = mkdtempSync(join(tmp, 'root-'));
    await layer(top, 'base', [{ name: 'etc/gone', body: 'old' }, { name: 'etc/kept', body: 'base' }]);
    writeFileSync(join(top, 'ruckusrd.conf'), 'sqsh_layers=base\n');
    mkdirSync(join(top, 'upper/upper/etc'), { recursive: true });
    mkdirSync(join(top, 'upper/work'));
    writeFileSync(join(top, 'upper/upper/etc/new'), 'from the upper');
    writeFileSync(join(top, 'upper/upper/etc/kept'), 'changed');
    Bun.spawnSync(['mknod', join(top, 'upper/upper/etc/gone'), 'c', '0', '0']);
    const p = planCommit(parseConf('sqsh_layers=base\n'), 'c1', 0, '', false);
    await startJournal(top, p.journal, p.nextConf);
    return top;
  }

  function initRun(top: string, cut: string): { code: number; out: string } {
    const run = join(top, '.run');
    mkdirSync(run, { recursive: true });
    rmSync(join(run, 'layerop-cut'), { force: true });
    if (cut) writeFileSync(join(run, 'layerop-cut'), `${cut}\n`);
    const script = `set -u\n. ${LIB}/log.sh\n. ${LIB}/params.sh\n. ${LAYERS}\n. ${OPS}\nRD_RUN=${run}\nfinish_layer_op "$1"\necho rc=$?`;
    const p = Bun.spawnSync(['/bin/busybox', 'sh', '-c', script, 'sh', top], { stdout: 'pipe', stderr: 'pipe' });
    return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
  }

  async function checkView(top: string): Promise<void> {
    expect(await visible(top, 'etc/new')).toBe('from the upper');
    expect(await visible(top, 'etc/kept')).toBe('changed');
    expect(await visible(top, 'etc/gone')).toBeNull();
  }
  const upperOf = (top: string) => readdirSync(join(top, 'upper/upper'));
  const fix = (p: string) => p.replace(/^etc\//, 'etc/');

  test('/init commit: a cut at every step boots with the upper\'s data, and the next boot finishes', async () => {
    const whole = await commitSetup();
    const first = initRun(whole, '');
    const markers = [...first.out.matchAll(/ruckusrd: layer-op: (\S+)/g)].map((m) => m[1]!);
    expect(markers).toEqual(['commit-squash-written', 'commit-squash', 'commit-conf-written', 'commit-conf', 'commit-clean-renamed', 'commit-clean', 'commit-sweep', 'commit-finished']);
    for (const cut of markers.slice(0, -1)) {
      const top = await commitSetup();
      const r = initRun(top, cut);
      expect(r.code, `cut at ${cut}`).toBe(137);
      await checkView(top);
      const again = initRun(top, '');
      expect(again.out, `after a cut at ${cut}`).toContain('layer-op: commit-finished');
      expect(existsSync(join(top, 'ruckusrd.journal'))).toBe(false);
      expect(readFileSync(join(top, 'ruckusrd.last'), 'utf8')).toContain('result=done');
      expect(readFileSync(join(top, 'ruckusrd.conf'), 'utf8')).toContain('sqsh_layers=c1:base\n');
      expect(upperOf(top)).toEqual([]);
      await checkView(top);
      expect((await readSquashfs(join(top, 'c1.sqsh'))).get(fix('etc/gone'))).toMatchObject({ type: 'character-device', dev: '0,0' });
    }
  }, 120_000);

  test('/init commit without mksquashfs rolls back: old stack, upper untouched', async () => {
    const top = await commitSetup();
    const run = join(top, '.run');
    mkdirSync(run);
    const script = `set -u\n. ${LIB}/log.sh\n. ${LIB}/params.sh\n. ${OPS}\nRD_RUN=${run}\nPATH=/nonexistent\nfinish_layer_op "$1"`;
    const p = Bun.spawnSync(['/bin/busybox', 'sh', '-c', script, 'sh', top], { stdout: 'pipe', stderr: 'pipe' });
    expect(p.stderr.toString()).toContain('rolled back: this initramfs has no mksquashfs');
    expect(readFileSync(join(top, 'ruckusrd.conf'), 'utf8')).toBe('sqsh_layers=base\n');
    expect(readFileSync(join(top, 'ruckusrd.last'), 'utf8')).toContain('result=rolled back');
    await checkView(top);
  });

  /** c (top) deletes base's etc/gone; b adds etc/b; the merge of c:b must keep the deletion. */
  async function mergeSetup(): Promise<string> {
    const top = mkdtempSync(join(tmp, 'merge-'));
    await layer(top, 'base', [{ name: 'etc/gone', body: 'old' }, { name: 'etc/kept', body: 'base' }]);
    await layer(top, 'b', [{ name: 'etc/b', body: 'b' }, { name: 'etc/kept', body: 'b' }]);
    await layer(top, 'c', [{ name: 'etc/gone', type: 'character-device', devmajor: 0, devminor: 0 }, { name: 'etc/c', body: 'c' }]);
    writeFileSync(join(top, 'ruckusrd.conf'), 'sqsh_layers=c:b:base\n');
    mkdirSync(join(top, 'upper/upper'), { recursive: true });
    const p = planLayerMerge(parseConf('sqsh_layers=c:b:base\n'), 2, 'cb', '');
    await startJournal(top, p.journal, p.nextConf);
    return top;
  }
  const paths = (top: string) => [join(top, 'c.sqsh'), join(top, 'b.sqsh')];

  test('mkruckus merge: a cut at every step leaves a booting stack with the same view; a rerun finishes', async () => {
    const markers: string[] = [];
    const whole = await mergeSetup();
    await runMerge(whole, readJournalAt(whole)!, paths(whole), (m) => markers.push(m));
    expect(markers).toEqual(['merge-build-written', 'merge-build', 'merge-conf', 'merge-sweep-removed', 'merge-sweep', 'merge-finished']);
    expect(readFileSync(join(whole, 'ruckusrd.conf'), 'utf8')).toContain('sqsh_layers=cb:base\n');
    for (const cut of markers.slice(0, -1)) {
      const top = await mergeSetup();
      const p = runMerge(top, readJournalAt(top)!, paths(top), (m) => {
        if (m === cut) throw new Error('power cut');
      });
      await expect(p).rejects.toThrow('power cut');
      for (const [path, want] of [['etc/gone', null], ['etc/kept', 'b'], ['etc/b', 'b'], ['etc/c', 'c']] as const) {
        expect(await visible(top, path, false), `${path} after a cut at ${cut}`).toBe(want);
      }
      await runMerge(top, readJournalAt(top)!, paths(top));
      expect(layersOf(parseConf(readFileSync(join(top, 'ruckusrd.conf'), 'utf8')))).toEqual(['cb', 'base']);
      expect(await visible(top, 'etc/gone', false)).toBeNull();
      expect(await visible(top, 'etc/c', false)).toBe('c');
      expect(readdirSync(top).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect(readdirSync(top).filter((n) => n.endsWith('.sqsh')).sort()).toEqual(['base.sqsh', 'cb.sqsh']);
    }
  }, 120_000);

  /**
   * sqsh-commit --merge=1 with a persistent upper, finished by /init: base (below the merged ones),
   * b (merged: a whiteout and an opaque directory hiding base's files), an upper that adds, changes
   * and deletes one of b's files.
   */
  async function commitMergeSetup(): Promise<string> {
    const top = mkdtempSync(join(tmp, 'cmerge-'));
    await layer(top, 'base', [
      { name: 'etc/gone', body: 'old' }, { name: 'etc/kept', body: 'base' }, { name: 'etc/base', body: 'base' },
      { name: 'opt/a/x', body: 'x' },
    ]);
    await layer(top, 'b', [
      { name: 'etc/gone', type: 'character-device', devmajor: 0, devminor: 0 }, { name: 'etc/b', body: 'b' },
      { name: 'etc/kept', body: 'b' }, { name: 'opt/a/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
      { name: 'opt/a/y', body: 'y' },
    ]);
    writeFileSync(join(top, 'ruckusrd.conf'), 'sqsh_layers=b:base\n');
    mkdirSync(join(top, 'upper/upper/etc'), { recursive: true });
    mkdirSync(join(top, 'upper/work'));
    writeFileSync(join(top, 'upper/upper/etc/new'), 'from the upper');
    writeFileSync(join(top, 'upper/upper/etc/kept'), 'changed');
    Bun.spawnSync(['mknod', join(top, 'upper/upper/etc/b'), 'c', '0', '0']);
    const p = planCommit(parseConf('sqsh_layers=b:base\n'), 'c1', 1, '', false);
    await startJournal(top, p.journal, p.nextConf);
    return top;
  }

  /** The stack's view, whiteouts and opaque directories applied (upper first, then the conf's layers). */
  async function stackView(top: string): Promise<Record<string, string>> {
    const names = layersOf(parseConf(readFileSync(join(top, 'ruckusrd.conf'), 'utf8')));
    const out: Record<string, string> = {};
    const closed = new Set<string>();
    const hidden = (p: string) => [...closed].some((c) => p === c || p.startsWith(`${c}/`));
    const upper = Bun.spawnSync(['tar', '-C', join(top, 'upper/upper'), '--xattrs', '--xattrs-include=*', '-cf', '-', '.']).stdout;
    const upperFile = join(tmp, `upper-${Math.random()}.sqsh`);
    Bun.spawnSync(['tar2sqfs', '--quiet', '--no-skip', '--force', upperFile], { stdin: upper });
    for (const file of [upperFile, ...names.map((n) => join(top, `${n}.sqsh`))]) {
      const seen = await readSquashfs(file);
      const now: string[] = [];
      for (const [path, e] of seen) {
        if (path === '' || hidden(path)) continue;
        if (e.type === 'character-device' && e.dev === '0,0') now.push(path);
        else if (e.type === 'directory' && e.xattrs['trusted.overlay.opaque'] === 'y') now.push(path);
        if (e.type === 'file' && !(path in out)) out[path] = e.body;
      }
      for (const p of now) closed.add(p);
    }
    return out;
  }
  const WANT = { 'etc/new': 'from the upper', 'etc/kept': 'changed', 'etc/base': 'base', 'opt/a/y': 'y' };

  testNeeding(process.getuid?.() === 0 ? [] : ['root (loop and overlay mounts)'], '/init commit --merge=1: one layer of the upper and b, deletions over base kept; a cut at every step boots the same view, the next boot finishes', async () => {
    const whole = await commitMergeSetup();
    const first = initRun(whole, '');
    expect(first.out).not.toContain('rolled back');
    const markers = [...first.out.matchAll(/ruckusrd: layer-op: (\S+)/g)].map((m) => m[1]!);
    expect(markers).toEqual(['commit-squash-written', 'commit-squash', 'commit-conf-written', 'commit-conf', 'commit-clean-renamed', 'commit-clean', 'commit-sweep', 'commit-finished']);
    expect(readFileSync(join(whole, 'ruckusrd.conf'), 'utf8')).toContain('sqsh_layers=c1:base\n');
    expect(readdirSync(whole).filter((n) => !n.startsWith('.')).sort()).toEqual(['base.sqsh', 'c1.sqsh', 'ruckusrd.conf', 'ruckusrd.last', 'upper']);
    const c1 = await readSquashfs(join(whole, 'c1.sqsh'));
    expect(c1.get('etc/gone')).toMatchObject({ type: 'character-device', dev: '0,0' });
    expect(c1.get('opt/a')!.xattrs['trusted.overlay.opaque']).toBe('y');
    expect(c1.has('etc/b')).toBe(false);
    expect(await stackView(whole)).toEqual(WANT);
    for (const cut of markers.slice(0, -1)) {
      const top = await commitMergeSetup();
      expect(initRun(top, cut).code, `cut at ${cut}`).toBe(137);
      expect(await stackView(top), `after a cut at ${cut}`).toEqual(WANT);
      expect(initRun(top, '').out, `after a cut at ${cut}`).toContain('layer-op: commit-finished');
      expect(await stackView(top)).toEqual(WANT);
      expect(readdirSync(top).sort(), `after a cut at ${cut}`).toEqual(['.run', 'base.sqsh', 'c1.sqsh', 'ruckusrd.conf', 'ruckusrd.last', 'upper']);
    }
  }, 300_000);

  test('/init finishes the sweep of a merge whose conf is durable: replaced files and a committed upper go, a file the stack names stays', async () => {
    const top = await mergeSetup();
    await runMerge(top, readJournalAt(top)!, paths(top), (m) => {
      if (m === 'merge-conf') throw new Error('power cut');
    }).catch(() => {});
    mkdirSync(join(top, 'upper/.committed/etc'), { recursive: true });
    writeFileSync(join(top, 'c.sqsh.verity'), '');
    const r = initRun(top, '');
    expect(r.out).toContain('finishing layer operation: merge cb (sweep)');
    expect(r.out).toContain('layer-op: merge-finished');
    expect(readdirSync(top).sort()).toEqual(['.run', 'base.sqsh', 'cb.sqsh', 'ruckusrd.conf', 'ruckusrd.last', 'upper']);
    expect(readdirSync(join(top, 'upper'))).toEqual(['upper']);
    expect(readFileSync(join(top, 'ruckusrd.last'), 'utf8')).toContain('done=sweep\nresult=done\n');
  }, 60_000);
});
