// SPDX-License-Identifier: GPL-2.0-or-later
// /etc/mkruckus.conf and /etc/mkruckus.conf.d/*.conf under --base, through the compiled binary run
// from outside the checkout: errors name the file and line (no root needed: the files are read
// before anything else); the keys take effect, conf.d files apply in name order after mkruckus.conf,
// and flags win (real builds in a --base whose /usr is an overlay of the host's: root and overlay
// mounts, a named skip without them, a failure under CI=true).
import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding } from '../unit/need.ts';
import {
  CAN_OVERLAY,
  expectUserError,
  freshDir,
  inspect,
  KARG,
  KVER,
  run,
  runInBase,
  sh,
  useScratch,
  type Run,
  type Segment,
} from './helpers.ts';

useScratch();

/** Writes `files` (paths under BASE/etc) into `base`, after removing every config file there. */
function writeConf(base: string, files: Record<string, string>): void {
  rmSync(join(base, 'etc/mkruckus.conf'), { force: true });
  rmSync(join(base, 'etc/mkruckus.conf.d'), { recursive: true, force: true });
  mkdirSync(join(base, 'etc/mkruckus.conf.d'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(base, 'etc', name), text);
}

/**
 * `count` empty .conf files in `dir` whose names sort differently from the order the directory lists
 * them in (the file system's, e.g. ext4's hash order): reading them unsorted would then be seen.
 * Returns the names in name order.
 */
function namesOutOfDirectoryOrder(dir: string, count: number): string[] {
  for (let attempt = 0; attempt < 100; attempt++) {
    const names = Array.from({ length: count }, (_, i) => `${i + 1}0-${attempt}-${Math.random().toString(36).slice(2, 8)}.conf`);
    for (const n of [...names].reverse()) writeFileSync(join(dir, n), '');
    const listed = readdirSync(dir).filter((n) => names.includes(n));
    if (listed.join() !== names.join()) return names;
    for (const n of names) rmSync(join(dir, n));
  }
  throw new Error(`${dir} lists files in name order every time: cannot test the sort`);
}

describe('bad config files: one error line naming the file and line', () => {
  /** Runs a build whose --base holds only `files`: the config is read before the kernel is looked for. */
  function withConf(files: Record<string, string>, ...args: string[]): Run {
    const base = freshDir('confbase');
    writeConf(base, files);
    const cwd = freshDir('confcwd');
    const r = run(['--base', base, '--kernel', '1.2.3', ...args, 'out.img'], { cwd });
    expect(readdirSync(cwd)).toEqual([]);
    return r;
  }

  test.each([
    [{ 'mkruckus.conf': '# two-stage\n\nsecond-stage = zip\n' }, /etc\/mkruckus\.conf:3: invalid second-stage 'zip'; expected one of: none, erofs, squashfs$/],
    [{ 'mkruckus.conf': 'second-stage-placement = usb\n' }, /etc\/mkruckus\.conf:1: invalid second-stage-placement 'usb'/],
    [{ 'mkruckus.conf': 'ucode = /x.cpio\nno-ucode = maybe\n' }, /etc\/mkruckus\.conf:2: invalid no-ucode 'maybe'; expected one of: yes/],
    [{ 'mkruckus.conf': 'ucode =\n' }, /etc\/mkruckus\.conf:1: ucode needs a value/],
    [{ 'mkruckus.conf': 'compress += gzip\n' }, /etc\/mkruckus\.conf:1: '\+=' needs a list key/],
    [{ 'mkruckus.conf.d/10-a.conf': 'modules = base\nsecond-stage-out = /boot/s2\n' }, /mkruckus\.conf\.d\/10-a\.conf:2: unknown key 'second-stage-out'/],
    [{ 'mkruckus.conf.d/10-a.conf': 'ucode /x.cpio\n' }, /mkruckus\.conf\.d\/10-a\.conf:1: expected key = value/],
    // mkruckus.conf first, then conf.d in name order: the first bad file read is the one named.
    [{ 'mkruckus.conf': 'colour = red\n', 'mkruckus.conf.d/00-a.conf': 'colour = blue\n' }, /etc\/mkruckus\.conf:1: unknown key 'colour'/],
    [{ 'mkruckus.conf.d/20-b.conf': 'colour = red\n', 'mkruckus.conf.d/10-a.conf': 'compress = rar\n' }, /10-a\.conf:1: invalid compress 'rar'/],
  ] as [Record<string, string>, RegExp][])('%j', (files, what) => expectUserError(withConf(files), what));

  test('a flag does not excuse a bad file', () => {
    expectUserError(withConf({ 'mkruckus.conf': 'second-stage = zip\n' }, '--second-stage', 'none'), /mkruckus\.conf:1: .*zip/);
  });

  test('only *.conf in conf.d is read', () => {
    const r = withConf({ 'mkruckus.conf': 'compress = gzip\n', 'mkruckus.conf.d/10-a.conf.orig': 'colour = red\n', 'mkruckus.conf.d/README': 'x' });
    // Past the config files: it fails on the kernel, which this base does not have.
    expectUserError(r, /kernel/);
    expect(r.stderr).not.toContain('colour');
  });
});

const needs = [...(CAN_OVERLAY ? [] : ['root and overlay mounts (unshare -m)']), ...(KVER ? [] : ['an installed kernel in /lib/modules'])];

describeNeeding(needs, 'config keys in a --base take effect; conf.d after mkruckus.conf; flags win', () => {
  let base = '';
  let extra = '';
  const blob = 'fake intel microcode blob';

  beforeAll(() => {
    base = freshDir('realbase');
    extra = freshDir('extra-usr');
    mkdirSync(join(base, 'usr'));
    mkdirSync(join(base, 'etc'), { recursive: true });
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(base, d));
    for (const f of ['ld.so.conf', 'ld.so.conf.d']) if (existsSync(`/etc/${f}`)) sh(['cp', '-a', `/etc/${f}`, join(base, 'etc/')]);
    mkdirSync(join(extra, 'lib/firmware/intel-ucode'), { recursive: true });
    writeFileSync(join(extra, 'lib/firmware/intel-ucode/06-55-04'), blob);
  });

  /** Runs mkruckus in the base with `conf` as its config files (undefined: as they are); expects success. */
  function inBase(conf: Record<string, string> | undefined, ...args: string[]): { cwd: string; r: Run } {
    if (conf) writeConf(base, conf);
    const cwd = freshDir('confbuild');
    const r = runInBase(base, extra, ['--kernel', KARG, ...args, 'out.img'], cwd);
    if (r.code !== 0) throw new Error(`mkruckus in --base failed (${r.code}): ${r.stderr}`);
    return { cwd, r };
  }
  function build(conf: Record<string, string> | undefined, ...args: string[]): Segment[] {
    return inspect(join(inBase(conf, ...args).cwd, 'out.img'));
  }
  /** The `modules:` line and whether a second stage is planned, from --dry-run. */
  function plan(conf: Record<string, string> | undefined, ...args: string[]): { modules: string; twoStage: boolean } {
    const { r } = inBase(conf, '--dry-run', ...args);
    return { modules: /^modules: (.*)$/m.exec(r.stdout)?.[1] ?? '', twoStage: /^second stage entries: \d+$/m.test(r.stdout) };
  }
  const kernelModules = (segments: Segment[]) => segments.flatMap((s) => s.entries).filter((e) => e.path.endsWith('.ko') || e.path.includes('.ko.'));

  test('config files set defaults, conf.d after mkruckus.conf, flags win', () => {
    const conf = { 'mkruckus.conf': 'compress = gzip\nmodules = base\n', 'mkruckus.conf.d/10-local.conf': "compress = 'lz4'\n" };
    const fromFiles = build(conf);
    expect(fromFiles.map((s) => s.compression)).toEqual(['none', 'lz4']);
    expect(kernelModules(fromFiles)).toEqual([]);
    expect(build(conf, '--compress', 'none').at(-1)!.compression).toBe('none');
  });

  // Module sets are read from --dry-run's `modules:` line, dependencies included: squash,
  // storage-init and kmod need base alone; rootfs and storage-all need kmod; storage-init wants
  // stage2-verity, which comes along where the base has dmsetup (this host: lvm2 brings it).
  const set = (conf: Record<string, string> | undefined, ...args: string[]) => plan(conf, ...args).modules.split(' ').sort();

  test('conf.d files apply in name order after mkruckus.conf: a later scalar or `modules =` wins, `+=` extends', () => {
    const texts = ['compress = lz4\nmodules = storage-init\n', 'compress = gzip\nmodules += squash\n', 'compress = xz\n'];
    const conf = { 'mkruckus.conf': 'compress = none\nmodules = rootfs\n' };
    writeConf(base, conf);
    const names = namesOutOfDirectoryOrder(join(base, 'etc/mkruckus.conf.d'), texts.length);
    names.forEach((n, i) => writeFileSync(join(base, 'etc/mkruckus.conf.d', n), texts[i]!));
    // In name order the last file sets xz; in any other order the last is another one, or `modules =`
    // comes after `+=` and drops squash.
    expect(build(undefined, '--modules', 'base').at(-1)!.compression).toBe('xz');
    expect(set(undefined)).toEqual(['base', 'squash', 'stage2-verity', 'storage-init']);
    // Flags win: --modules replaces the files' list, --compress their value.
    expect(set(undefined, '--modules', 'kmod')).toEqual(['base', 'kmod']);
    expect(build(undefined, '--modules', 'base', '--compress', 'gzip').at(-1)!.compression).toBe('gzip');
  });

  test('add accumulates over mkruckus.conf and conf.d, and --add adds to it', () => {
    const conf = {
      'mkruckus.conf': 'modules = base\nadd = kmod\n',
      'mkruckus.conf.d/10-a.conf': 'add = squash\n',
      'mkruckus.conf.d/20-b.conf': 'add = storage-init\n',
    };
    expect(set(conf)).toEqual(['base', 'kmod', 'squash', 'stage2-verity', 'storage-init']);
    expect(set(conf, '--add', 'resume')).toEqual(['base', 'kmod', 'resume', 'squash', 'stage2-verity', 'storage-init']);
  });

  test('second-stage and second-stage-placement keys; the flag wins', () => {
    const conf = { 'mkruckus.conf': 'second-stage = erofs\n', 'mkruckus.conf.d/50-boot.conf': 'second-stage-placement = boot\n' };
    expect(plan({ 'mkruckus.conf': 'second-stage = erofs\n' })).toMatchObject({ twoStage: true, modules: expect.stringMatching(/\bsquash\b/) });
    const boot = plan(conf);
    expect(boot.twoStage).toBe(true);
    expect(boot.modules).toMatch(/\bstorage-init\b/);
    expect(boot.modules).not.toMatch(/\bsquash\b/);
    const { cwd } = inBase(conf, '--modules', 'base,storage-init');
    expect(readdirSync(cwd).sort()).toEqual(['out.img', expect.stringMatching(/^out\.img\.stage2-[0-9a-f]{16}$/)]);
    expect(plan(conf, '--second-stage', 'none')).toEqual({ twoStage: false, modules: 'base kmod rootfs overlay' });
    expect(plan(conf, '--second-stage-placement', 'embedded').modules).toMatch(/\bsquash\b/);
  });

  test("the base's microcode is prepended; --no-ucode leaves it out", () => {
    const withUcode = build({ 'mkruckus.conf': 'modules = base\n' });
    expect(withUcode.map((s) => s.compression)).toEqual(['none', 'zstd']);
    const ucode = withUcode[0]!.entries.find((e) => e.path === '/kernel/x86/microcode/GenuineIntel.bin');
    expect(ucode?.size).toBe(blob.length);
    expect(build({ 'mkruckus.conf': 'modules = base\n' }, '--no-ucode').map((s) => s.compression)).toEqual(['zstd']);
  });

  test('ucode and no-ucode keys: the later file wins as a pair; either flag beats the files', () => {
    const dir = freshDir('early');
    const made = Bun.spawnSync(['sh', '-c', 'mkdir -p kernel/x86/microcode && echo x > kernel/x86/microcode/AuthenticAMD.bin && find kernel | LC_ALL=C sort | cpio --quiet -o -H newc > early.cpio'], { cwd: dir });
    expect(made.exitCode).toBe(0);
    const early = join(dir, 'early.cpio');
    // A conf's file names a file of the base (issue 12): the same cpio, at /etc/early.cpio in the base.
    writeFileSync(join(base, 'etc/early.cpio'), readFileSync(early));
    const inBaseEarly = '/etc/early.cpio';
    const paths = (segments: Segment[]) => segments.length === 1 ? [] : segments[0]!.entries.map((e) => e.path).filter((p) => p.endsWith('.bin'));
    const noUcode = { 'mkruckus.conf': 'modules = base\nno-ucode = yes\n' };
    expect(build(noUcode).map((s) => s.compression)).toEqual(['zstd']);
    expect(paths(build(noUcode, '--ucode', early))).toEqual(['/kernel/x86/microcode/AuthenticAMD.bin']);
    const laterUcode = { ...noUcode, 'mkruckus.conf.d/10-ucode.conf': `ucode = ${inBaseEarly}\n` };
    expect(paths(build(laterUcode))).toEqual(['/kernel/x86/microcode/AuthenticAMD.bin']);
    expect(build(laterUcode, '--no-ucode').map((s) => s.compression)).toEqual(['zstd']);
    const laterNo = { 'mkruckus.conf': `modules = base\nucode = ${inBaseEarly}\n`, 'mkruckus.conf.d/10-no.conf': 'no-ucode = true\n' };
    expect(build(laterNo).map((s) => s.compression)).toEqual(['zstd']);
    expect(paths(build({ 'mkruckus.conf': 'modules = base\nno-ucode = no\n' }))).toEqual(['/kernel/x86/microcode/GenuineIntel.bin']);
  });
});
