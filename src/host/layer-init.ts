// SPDX-License-Identifier: GPL-2.0-or-later
// sqsh-init (the first layer from a running traditional root) and `layers` (what booted, what the
// next boot assembles, pending and last operations).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkEntries } from '../layers/entries.ts';
import { describeJournal, LAST, renderJournal } from '../layers/journal.ts';
import { planMerge } from '../layers/merge.ts';
import { type Conf, layersOf, parseConf, renderConf, withLayers } from '../layers/stack.ts';
import { UserError } from '../log.ts';
import { finishPending, type OpFlags, rebootNow } from './layer-commands.ts';
import { layerFile, readJournalAt, readSys, readText, type Sys, syncPath, writeConfAtomic } from './layer-ops.ts';
import { dirSource, readEntries, tarToSquashfs, writePlan } from './layer-tar.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The device ROOTNAME names: this root's own (no bootloader change), or another one, mounted. */
function targetTop(rootname: string, root: string, rootdev: string, dryRun: boolean): string {
  if (rootname === root || rootname === rootdev) return '/';
  const mnt = '/run/ruckusrd/sqsh-init-target';
  if (dryRun) return mnt;
  mkdirSync(mnt, { recursive: true });
  const r = spawnSync('mount', [rootname, mnt], { encoding: 'utf8' });
  if (r.status !== 0) throw new UserError(`cannot mount ${rootname}: ${(r.stderr ?? '').trim()}`);
  return mnt;
}

export async function sqshInit(layer: string, rootname: string, f: OpFlags): Promise<void> {
  const sys = readSys();
  if (sys.state.mode !== 'traditional') throw new UserError(`this root is ${sys.state.mode || 'unknown'}: sqsh-init starts from a traditional root`);
  if (!f.dryRun && !f.reboot) throw new UserError('sqsh-init needs a reboot to take effect: run again with --reboot');
  const top = targetTop(rootname, sys.state.root, sys.state.rootdev, f.dryRun);
  const conf = parseConf(readText(join(top, 'ruckusrd.conf')) ?? '');
  const layerdir = conf.get('sqsh_layerdir') ?? '';
  const out = layerFile(top, layerdir, layer);
  if (existsSync(out) && !f.force) throw new UserError(`${out} exists; use --force to replace it`);
  const nextConf = renderConf(withLayers(conf, [layer]));
  const cmdline = `root=${rootname} sqsh_layers=${layer}`;
  if (f.dryRun) {
    say(`would write ${out} from / (other filesystems, upper/, layer files and ruckusrd.* left out)`);
    say(`would create ${join(top, 'upper/upper')} and ${join(top, 'upper/work')}, and write ${join(top, 'ruckusrd.conf')}:`);
    process.stdout.write(nextConf);
    say(`kernel command line (if you keep layers there): ${cmdline}`);
    return;
  }
  // GNU tar on the live root: its own filesystem only (pseudo filesystems and mounts stay empty
  // directories), without the upper, layer files and our own files on it.
  const src = dirSource('/', {
    oneFileSystem: true, live: true,
    exclude: ['./upper', './*.sqsh', './.*.sqsh.tmp', './ruckusrd.*', './.ruckusrd.*', './lost+found', './run/*', './tmp/*'],
  });
  const entries = await readEntries(src);
  checkEntries(entries, { allowDevices: true, maxBytes: Number.MAX_SAFE_INTEGER, trustSymlinks: true });
  const tmp = join(dirname(out), `.${layer}.sqsh.tmp`);
  rmSync(tmp, { force: true });
  await tarToSquashfs(writePlan(planMerge([entries], { bottom: true }), [src], (e) => e), tmp);
  syncPath(tmp);
  renameSync(tmp, out);
  mkdirSync(join(top, 'upper/upper'), { recursive: true });
  mkdirSync(join(top, 'upper/work'), { recursive: true });
  syncPath(dirname(out));
  await writeConfAtomic(join(top, 'ruckusrd.conf'), nextConf);
  await writeConfAtomic(join(top, LAST), renderJournal({ op: 'commit', name: layer, layerdir, before: [], after: [layer], sources: ['/'], done: [], result: 'done (sqsh-init)' }));
  say(`wrote ${out} (${statSync(out).size} bytes) and ruckusrd.conf: the next boot is layered (sqsh_layers=${layer})`);
  say(`kernel command line (if you keep layers there): ${cmdline}`);
  if (top !== '/') spawnSync('umount', [top]);
  rebootNow();
}

const size = (p: string): string => {
  try {
    const st = statSync(p);
    return st.isDirectory() ? 'dir' : `${(st.size / 2 ** 20).toFixed(1)} MiB`;
  } catch {
    return 'missing';
  }
};

/**
 * What no stack names and no operation is writing (an operation cut before its sweep, by hand):
 * layer files, temp files and scratch trees in the layer directory, a committed upper moved aside.
 */
function leftovers(sys: Sys, conf: Conf): string[] {
  const dir = join(sys.top, conf.get('sqsh_layerdir') ?? '');
  const named = new Set([...layersOf(conf), ...sys.state.layers.map((l) => l.name)]);
  const out: string[] = [];
  for (const n of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (/^\..+\.(sqsh\.tmp|sqsh\.verity\.tmp|tree|merge)$/.test(n)) out.push(`${join(dir, n)} (an interrupted write; remove it)`);
    else if (n.endsWith('.sqsh') && !named.has(n.slice(0, -5))) out.push(`${join(dir, n)} (in no stack; remove it when no longer wanted)`);
  }
  if (existsSync(join(sys.top, 'upper/.committed'))) out.push(`${join(sys.top, 'upper/.committed')} (committed; removed at the next boot)`);
  return out;
}

export async function layersStatus(): Promise<void> {
  const sys = readSys();
  const s = sys.state;
  const pending = await finishPending(sys);
  say(`booted: ${s.mode || 'unknown'} root ${s.root} (${s.rootdev})${s.ramLayer ? `, ram_layer=${s.ramLayer}` : ''}${s.upper ? `, upper ${s.upper}` : ''}`);
  for (const l of s.layers) say(`  ${l.name.padEnd(16)} ${l.fstype.padEnd(9)} ${size(l.file).padStart(10)}  ${l.file}`);
  const conf = parseConf(readText(join(sys.top, 'ruckusrd.conf')) ?? '');
  say(`next boot (ruckusrd.conf): ${conf.has('sqsh_layers') ? `sqsh_layers=${conf.get('sqsh_layers')}` : 'no sqsh_layers'}`);
  if (pending) say(describeJournal(pending, false) + (pending.op === 'commit' ? ' (by /init at the next boot)' : ''));
  const last = readJournalAt(sys.top, LAST);
  if (last) say(describeJournal(last, true));
  if (!pending) for (const l of leftovers(sys, conf)) say(`leftover: ${l}`);
  if (s.fatal) say(`this boot had a fatal error: ${s.fatal}`);
}
