// SPDX-License-Identifier: GPL-2.0-or-later
// The fault matrix of issue 12 item 9, run against the compiled binary with a /boot second stage (the
// pair OUT + second stage): a tmpfs full at each write in turn (the scratch tree and the mkfs image in
// TMPDIR, the second stage and OUT beside it), SIGTERM and SIGKILL after each step the --verbose lines
// mark, and 8 builds at once. Every run must end with the old pair or the new one (OUT and the second
// stage it records, byte for byte), a one-line error when it failed, and nothing of its own left over
// (no temp file beside OUT, no scratch directory in TMPDIR); a SIGKILLed run cannot clean up, so its
// leftovers must be named with its (dead) pid and be gone after the next complete build.
import { beforeAll, expect, test } from 'bun:test';
import { copyFileSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describeNeeding } from '../unit/need.ts';
import { BIN, CAN_MOUNT, expectUserError, freshDir, KARG, KVER, mountTmpfs, run, sh, sha256, useScratch, type Run } from './helpers.ts';

useScratch();

const INCLUDE = 256 << 10;
const EPOCHS = { old: '1600000000', new: '1700000000' } as const;
type Which = keyof typeof EPOCHS;
/** A build's outputs: OUT's sha256, and the name and sha256 of the second stage it records. */
interface Pair {
  /** where the reference build wrote it */
  dir: string;
  out: string;
  stage2: string;
  stage2Sha: string;
}

let big = '';
const refs = {} as Record<Which, Pair>;
let steps: string[] = [];

function args(extra: string[] = []): string[] {
  return ['--kernel', KARG, '--modules', 'base', '--no-ucode', '--second-stage', 'erofs', '--second-stage-placement', 'boot',
    '--second-stage-boot-path', '/boot/out.img.stage2', '--second-stage-boot-dev', 'LABEL=boot', '--include', `${big}:/opt/big`, ...extra];
}

function spawnBuild(cwd: string, which: Which, tmp: string, extra: string[] = []) {
  return Bun.spawn([BIN, ...args(extra), 'out.img'], {
    cwd,
    env: { ...process.env, SOURCE_DATE_EPOCH: EPOCHS[which], TMPDIR: tmp },
    stdout: 'ignore',
    stderr: 'pipe',
  });
}

/** Builds `which` in a fresh directory: the reference pair (and, with --verbose, the step names). */
function reference(which: Which): Pair {
  const cwd = freshDir(`ref-${which}`);
  const r = run([...args(['--verbose']), 'out.img'], { cwd, env: { SOURCE_DATE_EPOCH: EPOCHS[which] } });
  if (r.code !== 0) throw new Error(r.stderr);
  steps = [...r.stderr.matchAll(/^mkruckus: ([^:\n]+): [\d.]+ ms$/gm)].map((m) => m[1]!);
  const stage2 = readdirSync(cwd).find((n) => n !== 'out.img');
  if (!stage2 || readdirSync(cwd).length !== 2) throw new Error(`reference ${which}: ${readdirSync(cwd).join(' ')}`);
  return { dir: cwd, out: sha256(join(cwd, 'out.img')), stage2, stage2Sha: sha256(join(cwd, stage2)) };
}

/** Puts the old pair (the reference build's files) into `dir`. */
function oldPairIn(dir: string): void {
  for (const name of ['out.img', refs.old.stage2]) copyFileSync(join(refs.old.dir, name), join(dir, name));
}

const snapshot = (dir: string) => new Map(readdirSync(dir).map((n) => [n, sha256(join(dir, n))]));

/** Which pair is in `dir` (OUT and the second stage it records, byte for byte), or what is wrong. */
function pairIn(dir: string): Which | string {
  const now = snapshot(dir);
  const which = (Object.keys(refs) as Which[]).find((w) => now.get('out.img') === refs[w].out);
  if (!which) return `OUT is neither the old nor the new image (${readdirSync(dir).join(' ')})`;
  if (now.get(refs[which].stage2) !== refs[which].stage2Sha) return `the ${which} OUT without its second stage ${refs[which].stage2}`;
  return which;
}

/**
 * After a run with pid `pid`: the old or the new pair; names that were not there before are the pair's
 * own or (`killed`: SIGKILL) the dead run's leftovers, named with its pid. Returns the pair, or what
 * is wrong.
 */
function settled(dir: string, tmp: string, before: { dir: string[]; tmp: string[] }, pid: number, killed: boolean): Which | string {
  const which = pairIn(dir);
  if (which !== 'old' && which !== 'new') return which;
  const pair = ['out.img', refs[which].stage2];
  const added = readdirSync(dir).filter((n) => !before.dir.includes(n) && !pair.includes(n));
  const addedTmp = readdirSync(tmp).filter((n) => !before.tmp.includes(n));
  const allowed = killed ? new RegExp(`(\\.mkruckus-${pid}\\.tmp|\\.stage2.*)$`) : /^$/;
  const allowedTmp = killed ? `mkruckus-stage2-${pid}-` : '\0';
  const left = [...added.filter((n) => !allowed.test(n)), ...addedTmp.filter((n) => !n.startsWith(allowedTmp)).map((n) => `TMPDIR/${n}`)];
  return left.length ? `left over: ${left.join(' ')}` : which;
}

/** '' when `dir` holds exactly a pair and `tmp` nothing (after a complete build, whatever came before). */
function unclean(dir: string, tmp: string): string {
  const which = pairIn(dir);
  if (which !== 'old' && which !== 'new') return which;
  const extra = readdirSync(dir).filter((n) => n !== 'out.img' && n !== refs[which].stage2);
  const left = [...extra, ...readdirSync(tmp).map((n) => `TMPDIR/${n}`)];
  return left.length ? `left over: ${left.join(' ')}` : '';
}

function expectClean(dir: string, tmp: string): Which {
  expect(unclean(dir, tmp)).toBe('');
  return pairIn(dir) as Which;
}

/** The run's exit and stderr, without warnings and the line a build waiting for another one's lock prints. */
async function finish(proc: ReturnType<typeof spawnBuild>): Promise<Run> {
  const stderr = (await new Response(proc.stderr).text()).replace(/^mkruckus: (waiting for|warning:) .*\n/gm, '');
  await proc.exited;
  return { code: proc.exitCode, stdout: '', stderr };
}

const needs = [...(KVER ? [] : ['an installed kernel']), ...(CAN_MOUNT ? [] : ['root (tmpfs mounts)'])];

describeNeeding(needs, 'fault matrix: old pair or new pair, one error line, nothing left over', () => {
  beforeAll(() => {
    big = join(freshDir('include'), 'big');
    // Random: it compresses to its own size, so each write's size is known.
    writeFileSync(big, randomBytes(INCLUDE));
    for (const w of ['old', 'new'] as const) refs[w] = reference(w);
  });

  /** A tmpfs holding the old pair, with `free` bytes left; the run's TMPDIR, a tmpfs of `tmpSize` bytes. */
  function fullCase(name: string, free: number, tmpSize: number): { dir: string; tmp: string } {
    const dir = freshDir(name);
    mountTmpfs(dir, 'size=64m,mode=0755');
    oldPairIn(dir);
    const st = statfsSync(dir);
    const used = (st.blocks - st.bfree) * st.bsize;
    expect(sh(['mount', '-o', `remount,size=${used + free}`, dir]).ok).toBe(true);
    const tmp = freshDir(`${name}-tmp`);
    mountTmpfs(tmp, `size=${tmpSize},mode=1777`);
    return { dir, tmp };
  }

  const MB = 1 << 20;
  test.each([
    ['the scratch tree in TMPDIR', 64 * MB, INCLUDE / 2, /making the erofs second stage in .* \(TMPDIR\): no space left on device$/],
    ['the mkfs image in TMPDIR', 64 * MB, INCLUDE * 1.5, /making the erofs second stage in .* \(TMPDIR\) with mkfs\.erofs .*failed: no space left on device/],
    ['the second stage beside OUT', INCLUDE / 2, 64 * MB, /cannot write \S*stage2\S*: no space left on device$/],
    ['OUT', INCLUDE + 512 * 1024, 64 * MB, /cannot write \S*out\.img: no space left on device$/],
    ['nothing (room for all)', 8 * MB, 64 * MB, undefined],
  ] as const)('a full filesystem at %s', async (_, free, tmpSize, error) => {
    const { dir, tmp } = fullCase('full', free, tmpSize);
    const r = await finish(spawnBuild(dir, 'new', tmp, ['--force']));
    if (error) expectUserError(r, error);
    else expect([r.code, r.stderr]).toEqual([0, '']);
    expect(expectClean(dir, tmp)).toBe(error ? 'old' : 'new');
  });

  test('SIGTERM and SIGKILL after every step of --verbose', async () => {
    expect(steps.length).toBeGreaterThan(10);
    const dir = freshDir('signals');
    const tmp = freshDir('signals-tmp');
    oldPairIn(dir);
    let state: Which = 'old';
    const seen = { old: 0, new: 0 };
    const problems: string[] = [];
    for (const [i, signal] of steps.flatMap((_, i) => [[i, 'SIGTERM'], [i, 'SIGKILL']] as const)) {
      const before = { dir: readdirSync(dir), tmp: readdirSync(tmp) };
      // Each run builds the pair that is not there: a finished run shows as a change.
      const proc = spawnBuild(dir, state === 'old' ? 'new' : 'old', tmp, ['--force', '--verbose']);
      const stderr = await readUntilStep(proc.stderr, i);
      proc.kill(signal);
      await proc.exited;
      const where = `${signal} after '${steps[i]}'`;
      // 143: our handler cleaned up; killed by the signal itself: before anything needed cleaning.
      if (signal === 'SIGTERM' && ![0, 143].includes(proc.exitCode ?? -1) && proc.signalCode !== 'SIGTERM') problems.push(`${where}: exit ${proc.exitCode}`);
      if (stderr.includes('mkruckus: error:')) problems.push(`${where}: ${stderr}`);
      const result = settled(dir, tmp, before, proc.pid, signal === 'SIGKILL');
      if (result === 'old' || result === 'new') {
        state = result;
        seen[state]++;
      } else problems.push(`${where}: ${result}`);
    }
    // A complete build then sweeps what the killed ones left, and puts the other pair in place.
    const r = await finish(spawnBuild(dir, state === 'old' ? 'new' : 'old', tmp, ['--force']));
    if (r.code !== 0 || r.stderr !== '') problems.push(`the complete build: exit ${r.code} ${r.stderr}`);
    const left = unclean(dir, tmp);
    if (left) problems.push(`after the complete build: ${left}`);
    else if (pairIn(dir) === state) problems.push('the complete build did not replace the pair');
    expect(problems).toEqual([]);
    // Killed runs left the pair both ways at least once (the matrix reached past the last write).
    expect(Math.min(seen.old, seen.new)).toBeGreaterThan(0);
  }, 240_000);

  test('8 builds at once to one new OUT without --force: exactly one writes it, the others say it exists', async () => {
    const dir = freshDir('race-new');
    const tmp = freshDir('race-new-tmp');
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => finish(spawnBuild(dir, i % 2 ? 'old' : 'new', tmp))));
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of runs.filter((r) => r.code !== 0)) expectUserError(r, /out\.img exists; use --force to overwrite it$/);
    expectClean(dir, tmp);
  }, 120_000);

  test('8 builds at once with --force over the old pair: each replaces it whole, the last pair stands', async () => {
    const dir = freshDir('race-force');
    const tmp = freshDir('race-force-tmp');
    oldPairIn(dir);
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => finish(spawnBuild(dir, i % 2 ? 'old' : 'new', tmp, ['--force']))));
    for (const r of runs) expect([r.code, r.stderr]).toEqual([0, '']);

    expectClean(dir, tmp);
  }, 120_000);
});

/** Reads stderr through the `index`-th step line (or to the end, if the build finished first). */
async function readUntilStep(stream: ReadableStream<Uint8Array>, index: number): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while ([...text.matchAll(/^mkruckus: [^:\n]+: [\d.]+ ms$/gm)].length <= index) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}
