// SPDX-License-Identifier: GPL-2.0-or-later
// Build-side faults one by one (issue 12, items 8 and 9): a temp file in the way, an append-only
// directory, a missing or full TMPDIR, signals while the second stage is made, standard output with a
// /boot second stage, and config files that are unreadable or hold control characters and huge lines.
// Each ends in one `mkruckus: error:` line naming what is wrong, the previous outputs untouched and
// nothing of ours left behind. The whole matrix (every write, every step, parallel builds) is
// test/cli/fault-matrix.test.ts.
import { describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeNeeding, testNeeding } from '../unit/need.ts';
import { BIN, CAN_MOUNT, expectUserError, freshDir, KARG, KVER, leftovers, mountTmpfs, run, sh, useScratch } from './helpers.ts';

useScratch();

const ARGS = ['--kernel', KARG, '--modules', 'base', '--no-ucode'];
const TWO_STAGE = [...ARGS, '--second-stage', 'erofs', '--second-stage-placement', 'boot', '--second-stage-boot-path', '/out.img.stage2'];
const needKernel = KVER ? [] : ['an installed kernel'];
const needMount = [...needKernel, ...(CAN_MOUNT ? [] : ['root (tmpfs mounts)'])];

/** `args` run by a shell that first runs `prep` with $$ = the pid mkruckus will have (exec keeps it). */
function runAsPid(prep: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = Bun.spawnSync(['sh', '-c', `${prep} && exec "$@"`, 'sh', BIN, ...args], { cwd, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe('OUT and its temp file', () => {
  testNeeding(needKernel, "a temp file with the build's own pid that cannot be removed: one line naming it", () => {
    const cwd = freshDir('inway');
    const r = runAsPid('mkdir -p ".out.img.mkruckus-$$.tmp/x"', [...ARGS, 'out.img'], cwd);
    expectUserError(r, /cannot write out\.img: a stale temporary file \.out\.img\.mkruckus-\d+\.tmp is in the way and cannot be removed/);
    expect(existsSync(join(cwd, 'out.img'))).toBe(false);
  });

  testNeeding(needKernel, 'standard output with a /boot second stage is refused (the pair cannot be replaced together)', () => {
    const cwd = freshDir('stdout-boot');
    const r = Bun.spawnSync([BIN, ...TWO_STAGE, '-'], { cwd, stdout: 'pipe', stderr: 'pipe' });
    expectUserError({ code: r.exitCode, stdout: '', stderr: r.stderr.toString() }, /standard output.*second stage/);
    expect(r.stdout.length).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describeNeeding(needMount, 'directories that refuse part of the write (tmpfs)', () => {
  test('an append-only OUT directory (chattr +a): one line naming it, nothing written, nothing left', () => {
    const dir = freshDir('append');
    mountTmpfs(dir, 'size=16M,mode=0755');
    writeFileSync(join(dir, 'old.img'), 'previous image\n');
    expect(sh(['chattr', '+a', dir]).ok).toBe(true);
    try {
      expectUserError(run([...ARGS, join(dir, 'new.img')]), new RegExp(`${dir}.*append-only`));
      expectUserError(run([...ARGS, '--force', join(dir, 'old.img')]), new RegExp(`${dir}.*append-only`));
      expect(readdirSync(dir).sort()).toEqual(['old.img']);
      expect(readFileSync(join(dir, 'old.img'), 'utf8')).toBe('previous image\n');
    } finally {
      sh(['chattr', '-a', dir]);
    }
  });

  test('a missing TMPDIR: one line naming it (not an internal error)', () => {
    const cwd = freshDir('notmp');
    const r = run([...TWO_STAGE, 'out.img'], { cwd, env: { TMPDIR: join(cwd, 'no/such/tmp') } });
    expectUserError(r, /no\/such\/tmp.*does not exist/);
    expect(r.code).toBe(1);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('a full TMPDIR: one line naming it, no scratch directory left in it', () => {
    const cwd = freshDir('fulltmp');
    const tmp = join(cwd, 'tmp');
    mkdirSync(tmp);
    mountTmpfs(tmp, 'size=256k,mode=1777');
    writeFileSync(join(cwd, 'big'), new Uint8Array(2 << 20).map((_, i) => (i * 2654435761) >>> 24));
    const r = run([...TWO_STAGE, '--include', `${join(cwd, 'big')}:/opt/big`, 'out.img'], { cwd, env: { TMPDIR: tmp } });
    expectUserError(r, new RegExp(`${tmp}.*no space left on device`));
    expect(r.code).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(cwd).sort()).toEqual(['big', 'tmp']);
  });
});

/** Starts a two-stage build with a 4 MB second stage and resolves once its scratch directory exists. */
async function startStage2Build(cwd: string, tmp: string) {
  const before = readdirSync(tmp);
  writeFileSync(join(cwd, 'big'), new Uint8Array(4 << 20).map((_, i) => (i * 2654435761) >>> 24));
  const proc = Bun.spawn([BIN, ...TWO_STAGE, '--include', `${join(cwd, 'big')}:/opt/big`, 'out.img'], {
    cwd,
    env: { ...process.env, TMPDIR: tmp },
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const made = () => readdirSync(tmp).some((n) => n.startsWith('mkruckus-stage2-') && !before.includes(n));
  for (let i = 0; i < 3000 && !made(); i++) await Bun.sleep(2);
  expect(made()).toBe(true);
  return proc;
}

describeNeeding(needKernel, 'signals while the second stage is made (its scratch directory in TMPDIR)', () => {
  test('SIGTERM: the scratch directory is removed, exit 143, no OUT', async () => {
    const cwd = freshDir('term2');
    const tmp = join(cwd, 'tmp');
    mkdirSync(tmp);
    const proc = await startStage2Build(cwd, tmp);
    proc.kill('SIGTERM');
    expect(await proc.exited).toBe(143);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(cwd).sort()).toEqual(['big', 'tmp']);
  });

  test("SIGKILL: the dead build's scratch directory is removed by the next build; a live pid's is kept", async () => {
    const cwd = freshDir('kill2');
    const tmp = join(cwd, 'tmp');
    mkdirSync(tmp);
    mkdirSync(join(tmp, 'mkruckus-stage2-1-keep'));
    const proc = await startStage2Build(cwd, tmp);
    proc.kill('SIGKILL');
    await proc.exited;
    const left = readdirSync(tmp).filter((n) => n !== 'mkruckus-stage2-1-keep');
    expect(left).toHaveLength(1);
    expect(run([...TWO_STAGE, 'other.img'], { cwd, env: { TMPDIR: tmp } }).code).toBe(0);
    expect(readdirSync(tmp)).toEqual(['mkruckus-stage2-1-keep']);
    expect(leftovers(cwd)).toEqual([]);
  });
});

describe('config files: errors escaped and bounded, nothing skipped silently', () => {
  /** A --base with only `files` under etc/ (the config is read before the kernel is looked for). */
  function confBase(files: Record<string, string | Uint8Array>): string {
    const base = freshDir('confbase');
    mkdirSync(join(base, 'etc/mkruckus.conf.d'), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(base, 'etc', name), text);
    return base;
  }
  const build = (base: string) => run(['--base', base, '--kernel', '1.2.3', 'out.img'], { cwd: freshDir('confcwd') });

  test.each([
    ['a bad line', 'bad \x1b[31mred\x00 line\n', /mkruckus\.conf:1: expected key = value, got: bad \\x1b\[31mred\\x00 line$/],
    ['a bad value', 'compress = \x1b]0;title\x07\r\n', /mkruckus\.conf:1: invalid compress '\\x1b\]0;title\\x07'/],
    ['an unknown key', '\x1bkey = 1\n', /mkruckus\.conf:1: expected key = value, got: \\x1bkey = 1$/],
  ])('%s with control characters: escaped as \\xNN', (_, text, what) => {
    const r = build(confBase({ 'mkruckus.conf': text }));
    expectUserError(r, what);
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  test('a 10 MB line gives a bounded error line', () => {
    const r = build(confBase({ 'mkruckus.conf': `compress = ${'z'.repeat(10 << 20)}\n` }));
    // The length first: a failure must not print 10 MB.
    expect(r.stderr.length).toBeLessThan(400);
    expectUserError(r, /mkruckus\.conf:1: invalid compress 'z+…' \(10485760 bytes\)/);
  });

  test('a conf.d entry that is a dangling symlink is an error naming it', () => {
    const base = confBase({});
    symlinkSync('gone.conf', join(base, 'etc/mkruckus.conf.d/10-x.conf'));
    expectUserError(build(base), /mkruckus\.conf\.d\/10-x\.conf.*(dangling|not found)/);
  });

  test('a dangling /etc/mkruckus.conf symlink is an error naming it', () => {
    const base = confBase({});
    symlinkSync('/nowhere/mkruckus.conf', join(base, 'etc/mkruckus.conf'));
    expectUserError(build(base), /etc\/mkruckus\.conf.*(dangling|not found)/);
  });

  test('/etc/mkruckus.conf.d that is not a directory is an error naming it', () => {
    const base = confBase({});
    sh(['rmdir', join(base, 'etc/mkruckus.conf.d')]);
    writeFileSync(join(base, 'etc/mkruckus.conf.d'), 'compress = rar\n');
    expectUserError(build(base), /mkruckus\.conf\.d.*not a directory/);
  });

  const asNobody = process.getuid?.() === 0 && Bun.which('setpriv') ? [] : ['root and setpriv (to run as nobody)'];
  testNeeding(asNobody, 'an unreadable conf file or conf.d (run as nobody) is one error line naming it', () => {
    const base = confBase({ 'mkruckus.conf': 'compress = gzip\n', 'mkruckus.conf.d/10-x.conf': 'compress = rar\n' });
    const cwd = freshDir('nobody');
    chmodSync(cwd, 0o777);
    chmodSync(dirname(base), 0o711); // the scratch directory (mkdtemp: 0700) on nobody's way
    sh(['chmod', '-R', 'a+rX', base]);
    const nobody = (...args: string[]) => {
      const r = Bun.spawnSync(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', BIN, '--base', base, '--kernel', '1.2.3', ...args, 'out.img'], { cwd, stdout: 'pipe', stderr: 'pipe' });
      return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    chmodSync(join(base, 'etc/mkruckus.conf.d/10-x.conf'), 0);
    expectUserError(nobody(), /cannot read .*mkruckus\.conf\.d\/10-x\.conf: permission denied/);
    chmodSync(join(base, 'etc/mkruckus.conf.d/10-x.conf'), 0o644);
    chmodSync(join(base, 'etc/mkruckus.conf.d'), 0);
    const r = nobody();
    expectUserError(r, /cannot read .*mkruckus\.conf\.d: permission denied/);
    expect(r.code).toBe(1);
  });
});
