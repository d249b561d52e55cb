// SPDX-License-Identifier: GPL-2.0-or-later
// sqsh-init, sqsh-commit, sqsh-merge and `layers` as flows over the journal (src/layers/journal.ts)
// and the steps in layer-ops.ts. Messages go to stdout; errors are UserErrors (one line).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkEntries } from '../layers/entries.ts';
import { bootingStack, describeJournal, type Journal, type LayerFormat, JOURNAL, LAST, pendingSteps, planCommit, planLayerMerge, renderJournal, STEPS } from '../layers/journal.ts';
import { planMerge } from '../layers/merge.ts';
import { type Conf, layersOf, parseConf, renderConf, withLayers } from '../layers/stack.ts';
import { UserError } from '../log.ts';
import { layerFormat } from './layer-sources.ts';
import { layerFile, readJournalAt, readSys, readText, runMerge, startJournal, type Sys, syncPath, writeConfAtomic } from './layer-ops.ts';
import { testHook } from './layer-testhooks.ts';
import { dirSource, readEntries, tarToSquashfs, writePlan } from './layer-tar.ts';

export interface OpFlags { force: boolean; dryRun: boolean; reboot: boolean; format?: LayerFormat }

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The stack the next boot assembles: ruckusrd.conf, or (layers on the command line) this boot's. */
function currentConf(sys: Sys): Conf {
  const conf = parseConf(readText(join(sys.top, 'ruckusrd.conf')) ?? '');
  if (!conf.has('sqsh_layers')) {
    const booted = sys.state.layers.map((l) => l.name).filter((n) => n !== 'upper');
    if (booted.length && sys.state.mode === 'layered') conf.set('sqsh_layers', booted.join(':'));
  }
  return conf;
}

/** Refuses when the kernel command line names the stack: ruckusrd.conf would not be read for it. */
function checkStackInConf(sys: Sys, f: OpFlags, after: string[]): void {
  if (!existsSync(join(sys.run, 'params/sqsh_layers.cmdline'))) return;
  const line = `sqsh_layers=${after.join(':')}`;
  if (!f.force) throw new UserError(`sqsh_layers is on the kernel command line, which wins over ruckusrd.conf: put ${line} there (or use --force and change it yourself)`);
  say(`change the kernel command line to: ${line}`);
}

function checkRebootFlag(needed: boolean, f: OpFlags, what: string): void {
  if (f.dryRun) return;
  if (needed && !f.reboot) throw new UserError(`${what} needs a reboot: run again with --reboot`);
  if (!needed && f.reboot) throw new UserError(`--reboot: ${what} needs no reboot`);
}

/** `reboot`, or (test builds only) the command in RUCKUSRD_REBOOT: never the machine running the tests. */
export function rebootNow(): void {
  const argv = (testHook('RUCKUSRD_REBOOT') ?? 'reboot').split(' ');
  say('rebooting');
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  if (r.status !== 0) say('reboot failed: reboot by hand');
}

function printPlan(j: Journal): void {
  say(`would ${j.op} ${j.name}: ${j.before.join(':') || '-'} → ${j.after.join(':')}`);
  for (const s of STEPS[j.op]) say(`  step ${s}`);
}

/** A merge journal left by an interrupted run is finished; a live commit whose RAM upper is gone is rolled back. */
export async function finishPending(sys: Sys): Promise<Journal | undefined> {
  const j = readJournalAt(sys.top);
  if (!j || j.op !== 'merge') return j;
  if (j.sources.includes('upper') && pendingSteps(j).includes('build') && !existsSync(sys.state.upper)) {
    writeFileSync(join(sys.top, JOURNAL), renderJournal({ ...j, result: 'rolled back: the RAM upper it read is gone' }));
    renameSync(join(sys.top, JOURNAL), join(sys.top, LAST));
    return undefined;
  }
  say(`finishing: ${describeJournal(j, false)}`);
  await runMerge(sys.top, j, sourcePaths(sys, j));
  return undefined;
}

function sourcePaths(sys: Sys, j: Journal): string[] {
  return j.sources.flatMap((name) => {
    if (name === 'upper') {
      const persistent = sys.state.layers.find((l) => l.name === 'upper')?.mountpoint;
      return [sys.state.upper, ...(persistent ? [persistent] : [])];
    }
    return [sys.state.layers.find((l) => l.name === name)?.file || layerFile(sys.top, j.layerdir, name)];
  });
}

/**
 * The format of a merged layer: --format, else the merged layer files' own (erofs when all of them
 * are erofs). /init writes a persistent upper's commit with mksquashfs: squashfs only.
 */
function setFormat(sys: Sys, j: Journal, f: OpFlags): void {
  if (j.op === 'commit') {
    if (f.format === 'erofs') throw new UserError('--format erofs: /init writes the commit of a persistent upper as squashfs');
    return;
  }
  const files = sourcePaths(sys, { ...j, sources: j.sources.filter((s) => s !== 'upper') });
  const formats = files.map((p) => (existsSync(p) ? layerFormat(p) : undefined));
  j.format = f.format ?? (formats.length > 0 && formats.every((x) => x === 'erofs') ? 'erofs' : 'squashfs');
}

function refusePending(j: Journal | undefined): void {
  if (j) throw new UserError(`${describeJournal(j, false)}: it is finished at the next boot first`);
}

function checkTarget(sys: Sys, j: Journal, f: OpFlags): void {
  if (existsSync(layerFile(sys.top, j.layerdir, j.name)) && !f.force && !j.before.slice(0, j.sources.length).includes(j.name)) {
    throw new UserError(`${layerFile(sys.top, j.layerdir, j.name)} exists; use --force to replace it`);
  }
}

export async function sqshCommit(name: string, mergeN: number, f: OpFlags): Promise<void> {
  const sys = readSys();
  if (sys.state.mode !== 'layered') throw new UserError(`this root is ${sys.state.mode || 'unknown'}, not layered: sqsh-init first`);
  refusePending(await finishPending(sys));
  const live = sys.state.ramLayer !== '';
  checkRebootFlag(!live, f, live ? 'a commit with ram_layer (written live)' : 'a commit of a persistent upper (finished by /init)');
  const p = await startPlanned(sys, f, (conf) => planCommit(conf, name, mergeN, conf.get('sqsh_layerdir') ?? '', live));
  if (!p) return;
  if (live) {
    await runMerge(sys.top, p.journal, sourcePaths(sys, p.journal));
    say(`committed ${name}: the next boot assembles ${p.journal.after.join(':')}`);
    return;
  }
  const merged = p.journal.sources.filter((s) => s !== 'upper');
  say(`commit of the upper${merged.length ? ` merged with ${merged.join(':')}` : ''} as ${name} recorded; /init finishes it at the next boot: ${p.journal.after.join(':')}`);
  if (f.reboot) rebootNow();
}

/**
 * Plans an operation on the current conf (a planning error is the user's), checks its target and
 * the stack in use, then records the journal; on --dry-run prints the steps instead and returns null.
 */
async function startPlanned<P extends { journal: Journal; nextConf: string }>(
  sys: Sys,
  f: OpFlags,
  plan: (conf: Conf) => P,
): Promise<P | null> {
  let p: P;
  try {
    p = plan(currentConf(sys));
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  checkTarget(sys, p.journal, f);
  checkStackInConf(sys, f, p.journal.after);
  setFormat(sys, p.journal, f);
  p.journal.diskUpper = p.journal.op === 'merge' && p.journal.sources.includes('upper') && sys.state.layers.some((l) => l.name === 'upper');
  if (f.dryRun) {
    printPlan(p.journal);
    return null;
  }
  await startJournal(sys.top, p.journal, p.nextConf);
  return p;
}

export async function sqshMerge(n: number, name: string, f: OpFlags): Promise<void> {
  const sys = readSys();
  if (sys.state.mode !== 'layered') throw new UserError('this root is not layered');
  refusePending(await finishPending(sys));
  checkRebootFlag(false, f, 'a merge (written live, used from the next boot)');
  const p = await startPlanned(sys, f, (conf) => planLayerMerge(conf, n, name, conf.get('sqsh_layerdir') ?? ''));
  if (!p) return;
  await runMerge(sys.top, p.journal, sourcePaths(sys, p.journal));
  const old = p.journal.sources.filter((s) => !p.journal.after.includes(s)).map((s) => `${s}.sqsh`);
  say(`merged ${p.journal.sources.join(':')} into ${name} (${p.journal.format}): the next boot assembles ${p.journal.after.join(':')}`);
  if (old.length) say(`removed ${old.join(' ')} (this boot still reads them until it ends)`);
}
