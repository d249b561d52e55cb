// SPDX-License-Identifier: GPL-2.0-or-later
// The compiled binary as a user meets it (SPEC §1): run from a directory outside the checkout, with
// the host's installed kernel. Errors are one `mkruckus: error:` line; output is atomic; builds are
// reproducible. Mount-based cases (read-only and full filesystems) need root and skip without it,
// except under CI=true. Config files in a --base: test/cli/config.test.ts; shared helpers: test/cli/helpers.ts.
import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import {
  BIN,
  buildOk,
  CAN_MOUNT,
  CI,
  ensureBinary,
  expectUserError,
  freshDir,
  haveKernel,
  inspect,
  KARG,
  KERNELS,
  KVER,
  leftovers,
  mountTmpfs,
  PREFIX,
  run,
  sh,
  sha256,
  useScratch,
} from './cli/helpers.ts';

useScratch();

describe('help, version, flags', () => {
  test('--help', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const flag of ['OUT.img', 'inspect', '--kernel', '--base', '--force', '--dry-run', '--compress', '--add', '--ucode', '--no-ucode']) {
      expect(r.stdout).toContain(flag);
    }
  });

  test('--version is package.json version', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test.each([
    [['out.img', '--bogus'], /bogus/],
    [['--bogus'], undefined],
    [['--compress', 'rar', 'out.img'], /rar/],
    [['--second-stage', 'zip', 'out.img'], /zip/],
    [['out.img', 'extra.img'], /extra\.img/],
    [['out.img', '--add'], /add/],
    [['--no-ucode', '--ucode', 'u.cpio', 'out.img'], /ucode/],
    [[], undefined],
    [['inspect'], undefined],
    [['inspect', 'missing.img'], /missing\.img/],
  ] as [string[], RegExp | undefined][])('%j is one error line', (args, what) => {
    const cwd = freshDir('flags');
    expectUserError(run(args, { cwd }), what);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('SOURCE_DATE_EPOCH must be a number', () => {
    expectUserError(run(['--kernel', KARG, 'out.img'], { env: { SOURCE_DATE_EPOCH: 'yesterday' } }), /SOURCE_DATE_EPOCH/);
  });
});

describe('kernel selection and config files (a fake --base)', () => {
  /** A --base with only kernel module directories: enough for kernel selection and config files. */
  function fakeBase(kernels: string[], conf: Record<string, string> = {}): string {
    const base = freshDir('base');
    for (const v of kernels) {
      mkdirSync(join(base, 'lib/modules', v), { recursive: true });
      writeFileSync(join(base, 'lib/modules', v, 'modules.dep'), '');
    }
    for (const [path, text] of Object.entries(conf)) {
      mkdirSync(join(base, path, '..'), { recursive: true });
      writeFileSync(join(base, path), text);
    }
    return base;
  }
  const TWO = ['6.1.0-1-amd64', '6.1.0-2-amd64'];

  test.skipIf(!haveKernel)('a missing kernel lists the installed ones', () => {
    const r = run(['--kernel', '9.9', 'out.img']);
    expectUserError(r, /9\.9/);
    for (const v of KERNELS) expect(r.stderr).toContain(v);
  });

  test('an ambiguous prefix lists the matches', () => {
    const r = run(['--base', fakeBase(TWO), '--kernel', '6.1', 'out.img']);
    expectUserError(r, /ambiguous/);
    for (const v of TWO) expect(r.stderr).toContain(v);
  });

  // Debian 12 with its 6.1 kernels and the 6.12 backport (issue 10): `-k 6.1` matches the two 6.1
  // kernels, named as the matches, and never 6.12; `-k 6.12` selects 6.12 (the build goes on to the base).
  test('-k 6.1 beside 6.12: the two 6.1 kernels are named as the matches, 6.12 is not one', () => {
    const base = fakeBase(['6.12.113+deb12-amd64', '6.1.0-56-amd64', '6.1.0-50-amd64']);
    for (const args of [['--kernel', '6.1', 'out.img'], ['-k', '6.1', 'out.img'], ['update', '--base', base, '-k', '6.1', '--dry-run']]) {
      const r = run(args[0] === 'update' ? args : ['--base', base, ...args]);
      expectUserError(r, /kernel '6\.1' is ambiguous: 6\.1\.0-50-amd64, 6\.1\.0-56-amd64 match it; give one of them with --kernel/);
      expect(r.stderr).toContain('installed: 6.1.0-50-amd64, 6.1.0-56-amd64, 6.12.113+deb12-amd64');
    }
    const picked = run(['--base', base, '--kernel', '6.12', '--dry-run', 'out.img']);
    expect(picked.code).toBe(1);
    expect(picked.stderr).toContain('mkruckus: error: binary not found in base');
    expect(picked.stderr).not.toContain("kernel '6.12'");
  });

  test('without --kernel, a running kernel that is not installed is an error naming both', () => {
    const r = run(['--base', fakeBase(TWO), 'out.img']);
    expectUserError(r, new RegExp(release().replace(/[.+]/g, '\\$&')));
    for (const v of TWO) expect(r.stderr).toContain(v);
    expect(r.stderr).toContain('--kernel');
  });

  test.skipIf(!haveKernel)('a unique prefix selects the full version', () => {
    const cwd = freshDir('prefix');
    const r = run(['--kernel', PREFIX, '--dry-run', 'out.img'], { cwd });
    if (KERNELS.filter((v) => v.startsWith(PREFIX)).length === 1) {
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`kernel: ${KVER}\n`);
    } else expectUserError(r, /ambiguous/);
  });

  test.skipIf(!haveKernel)('--verbose names the kernel a build was for, in full', () => {
    const cwd = freshDir('verbose-kernel');
    const r = run(['--kernel', KVER, '--verbose', 'out.img'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^mkruckus: wrote out\\.img for kernel ${KVER.replace(/[.+]/g, '\\$&')}: \\d+ entries`, 'm'));
  });

  test('a bad value in /etc/mkruckus.conf names the file and line', () => {
    const base = fakeBase(TWO, { 'etc/mkruckus.conf': '# defaults\ncompress = "bogus"\n' });
    expectUserError(run(['--base', base, '--kernel', TWO[0]!, 'out.img']), /etc\/mkruckus\.conf:2: .*bogus/);
  });

  test('an unknown key in mkruckus.conf.d names that file', () => {
    const base = fakeBase(TWO, { 'etc/mkruckus.conf': 'compress = gzip\n', 'etc/mkruckus.conf.d/10-x.conf': 'colour = blue\n' });
    expectUserError(run(['--base', base, '--kernel', TWO[0]!, 'out.img']), /mkruckus\.conf\.d\/10-x\.conf:1: .*colour/);
  });
});

describe.skipIf(!haveKernel)('building on the host', () => {
  test('unknown module: named, with the available ones', () => {
    const cwd = freshDir('mod');
    const r = run(['--kernel', KARG, '--add', 'nope', 'out.img'], { cwd });
    expectUserError(r, /unknown module 'nope'.*available: .*base/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('--dry-run writes nothing and prints kernel, modules, kernel modules', () => {
    const cwd = freshDir('dry');
    const r = run(['--kernel', KARG, '--dry-run', 'out.img'], { cwd });
    expect(r.code).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
    expect(r.stdout).toContain(`kernel: ${KVER}\n`);
    expect(r.stdout).toMatch(/^modules: .*\bbase\b.*\bkmod\b/m);
    const kmods = /^kernel modules \((\d+)\): (.*)$/m.exec(r.stdout);
    expect(Number(kmods?.[1])).toBeGreaterThan(0);
    expect(kmods?.[2]?.split(' ')).toContain('ext4');
    expect(r.stdout).toMatch(/^ +bytes +\/init \d+ \[base\]$/m);
  });

  test('an existing OUT is untouched without --force, replaced with it', () => {
    const cwd = freshDir('force');
    const out = join(cwd, 'out.img');
    writeFileSync(out, 'precious previous image\n');
    utimesSync(out, 1_000_000, 1_000_000);
    expectUserError(run(['--kernel', KARG, '--modules', 'base', 'out.img'], { cwd }), /exists.*--force/);
    expect(readFileSync(out, 'utf8')).toBe('precious previous image\n');
    expect(statSync(out).mtimeMs).toBe(1_000_000_000);
    buildOk(cwd, 'out.img', '--modules', 'base', '--force');
    expect(inspect(out).flatMap((s) => s.entries.map((e) => e.path))).toContain('/init');
    expect(readdirSync(cwd)).toEqual(['out.img']);
  });

  test('OUT in a missing directory, or on a directory', () => {
    const cwd = freshDir('nodir');
    expectUserError(run(['--kernel', KARG, '--modules', 'base', 'no/such/dir/out.img'], { cwd }), /directory does not exist/);
    mkdirSync(join(cwd, 'adir'));
    expectUserError(run(['--kernel', KARG, '--modules', 'base', '--force', 'adir'], { cwd }), /is a directory/);
    expect(readdirSync(cwd)).toEqual(['adir']);
    expect(readdirSync(join(cwd, 'adir'))).toEqual([]);
  });

  test('two builds with one SOURCE_DATE_EPOCH are identical; another epoch differs', () => {
    const cwd = freshDir('repro');
    const env = (e: string) => ({ env: { SOURCE_DATE_EPOCH: e }, cwd });
    for (const [out, epoch] of [['a.img', '1700000000'], ['b.img', '1700000000'], ['c.img', '1700000001']] as const) {
      const r = run(['--kernel', KARG, out], env(epoch));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(sha256(join(cwd, 'a.img'))).toBe(sha256(join(cwd, 'b.img')));
    expect(sha256(join(cwd, 'c.img'))).not.toBe(sha256(join(cwd, 'a.img')));
  });

  const tools: Record<string, (img: string) => void> = {
    zstd: (img) => expect(sh(['zstd', '-t', '-q', img]).ok).toBe(true),
    gzip: (img) => expect(sh(['gzip', '-t', img]).ok).toBe(true),
    // The kernel's xz decoder verifies CRC32 or nothing: xz's default CRC64 would not boot.
    xz: (img) => {
      expect(sh(['xz', '-t', img]).ok).toBe(true);
      const file = sh(['xz', '--robot', '--list', img]).out.split('\n').find((l) => l.startsWith('file\t'));
      expect(file?.split('\t')[6]).toBe('CRC32');
    },
    // The kernel only reads lz4's legacy frame (magic 0x184c2102).
    lz4: (img) => expect([...readFileSync(img).subarray(0, 4)]).toEqual([0x02, 0x21, 0x4c, 0x18]),
    none: (img) => expect(readFileSync(img).subarray(0, 6).toString()).toBe('070701'),
  };
  test.each(Object.keys(tools))('--compress %s reads back with /init', (alg) => {
    const cwd = freshDir(`c-${alg}`);
    buildOk(cwd, 'out.img', '--modules', 'base', '--no-ucode', '--compress', alg);
    const segments = inspect(join(cwd, 'out.img'));
    expect(segments.map((s) => s.compression)).toEqual([alg]);
    expect(segments[0]!.entries.find((e) => e.path === '/init')?.type).toBe('file');
    if (alg === 'none' || Bun.which(alg)) tools[alg]!(join(cwd, 'out.img'));
    else if (CI) throw new Error(`${alg} is required when CI=true`);
  });

  test('--ucode: a non-cpio file or a missing one is a clear error', () => {
    const cwd = freshDir('ucode-bad');
    writeFileSync(join(cwd, 'ucode.bin'), 'not a cpio archive\n');
    expectUserError(run(['--kernel', KARG, '--ucode', 'ucode.bin', 'out.img'], { cwd }), /ucode\.bin is not an uncompressed newc cpio/);
    expectUserError(run(['--kernel', KARG, '--ucode', 'nope.cpio', 'out.img'], { cwd }), /cannot read nope\.cpio/);
    expect(readdirSync(cwd)).toEqual(['ucode.bin']);
  });

  test.skipIf(!Bun.which('cpio') && !CI)('--ucode FILE is prepended as is, uncompressed', () => {
    const cwd = freshDir('ucode');
    mkdirSync(join(cwd, 'early/kernel/x86/microcode'), { recursive: true });
    writeFileSync(join(cwd, 'early/kernel/x86/microcode/GenuineIntel.bin'), 'fake microcode');
    const cpio = Bun.spawnSync(['sh', '-c', 'cd early && find kernel | LC_ALL=C sort | cpio --quiet -o -H newc > ../ucode.cpio'], { cwd });
    expect(cpio.exitCode).toBe(0);
    buildOk(cwd, 'out.img', '--modules', 'base', '--ucode', 'ucode.cpio');
    const early = readFileSync(join(cwd, 'ucode.cpio'));
    expect(readFileSync(join(cwd, 'out.img')).subarray(0, early.length).equals(early)).toBe(true);
    const segments = inspect(join(cwd, 'out.img'));
    expect(segments.map((s) => s.compression)).toEqual(['none', 'zstd']);
    expect(segments[0]!.entries.map((e) => e.path)).toContain('/kernel/x86/microcode/GenuineIntel.bin');
  });

  test('shell metacharacters in OUT are a file name, never run', () => {
    const cwd = freshDir('meta');
    const name = "out $(touch canary1);`touch canary2` 'x\" | touch canary3 &.img";
    buildOk(cwd, name, '--modules', 'base');
    expect(readdirSync(cwd)).toEqual([name]);
    expect(inspect(join(cwd, name)).length).toBeGreaterThan(0);
  });
});

/** Reads the child's stderr until `pattern` shows up; false when it ended first. */
async function waitFor(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<boolean> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!pattern.test(text)) {
    const { value, done } = await reader.read();
    if (done) return false;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return true;
}

describe.skipIf(!haveKernel)('interrupted build', () => {
  // The --verbose step lines say where the build is: a signal after "resolve modules" lands while it
  // plans, after "write cpio" while xz (the slowest compressor, a child process) runs. A signal while
  // the temp file is being written is test/host/output.test.ts's: only there can it be placed exactly.
  test.each([
    ['SIGINT', /resolve modules: /],
    ['SIGTERM', /read files: /],
    ['SIGTERM', /write cpio: /],
    ['SIGHUP', /write cpio: /],
  ] as const)('%s after the step %p leaves the previous OUT intact and no temp file', async (signal, when) => {
    const cwd = freshDir('intr');
    const out = join(cwd, 'out.img');
    writeFileSync(out, 'previous image\n');
    const proc = Bun.spawn([BIN, '--verbose', '--kernel', KARG, '--force', '--compress', 'xz', 'out.img'], {
      cwd,
      stdout: 'ignore',
      stderr: 'pipe',
    });
    expect(await waitFor(proc.stderr, when)).toBe(true);
    proc.kill(signal);
    await proc.exited;
    expect(proc.signalCode ?? proc.exitCode).not.toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('previous image\n');
    expect(readdirSync(cwd)).toEqual(['out.img']);
  });
});

describe.skipIf((!CAN_MOUNT || !haveKernel) && !CI)('unwritable and full filesystems (tmpfs)', () => {
  test('a read-only filesystem: clear error, previous OUT intact', () => {
    const dir = freshDir('ro');
    mountTmpfs(dir, 'size=1M,mode=0755');
    writeFileSync(join(dir, 'out.img'), 'previous image\n');
    expect(sh(['mount', '-o', 'remount,ro', dir]).ok).toBe(true);
    expectUserError(run(['--kernel', KARG, '--modules', 'base', '--force', join(dir, 'out.img')]), /read-only file ?system/);
    expectUserError(run(['--kernel', KARG, '--modules', 'base', join(dir, 'new.img')]), /read-only file ?system/);
    expect(readFileSync(join(dir, 'out.img'), 'utf8')).toBe('previous image\n');
    expect(readdirSync(dir)).toEqual(['out.img']);
  });

  test('a full filesystem: "no space left on device", previous OUT intact, no temp file', () => {
    const dir = freshDir('full');
    mountTmpfs(dir, 'size=2M,mode=0755');
    const previous = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 0xff);
    writeFileSync(join(dir, 'out.img'), previous);
    const before = sha256(join(dir, 'out.img'));
    // The default image (kernel modules included) is several MB: it cannot fit in the 1 MB left.
    const r = run(['--kernel', KARG, '--force', join(dir, 'out.img')]);
    expectUserError(r, /no space left on device/);
    expect(sha256(join(dir, 'out.img'))).toBe(before);
    expect(readdirSync(dir)).toEqual(['out.img']);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe.if(haveKernel)('two-stage images', () => {
  beforeAll(ensureBinary);

  test.each([
    ['erofs', 'embedded'],
    ['squashfs', 'embedded'],
    ['erofs', 'boot'],
    ['squashfs', 'boot'],
  ])('%s %s: reproducible, and inspect shows both stages', (type, placement) => {
    const cwd = freshDir(`stage2-${type}-${placement}`);
    // The same OUT twice: a /boot placement records the second stage's path, so OUT's name matters.
    const args = ['--second-stage', type, '--second-stage-placement', placement, '--force'];
    const hashes = ['first', 'second'].map(() => {
      const r = run(['--kernel', KARG, ...args, 'a.img'], { env: { SOURCE_DATE_EPOCH: '1700000000' }, cwd });
      expect(r.code).toBe(0);
      // The /boot second stage is named by its content: a.img.stage2-HASH.
      const s2 = readdirSync(cwd).filter((n) => n.startsWith('a.img.stage2'));
      return [sha256(join(cwd, 'a.img')), ...s2.map((n) => `${n} ${sha256(join(cwd, n))}`)];
    });
    expect(hashes[0]).toEqual(hashes[1]!);
    expect(hashes[0]!.length).toBe(placement === 'boot' ? 2 : 1);
    const r = run(['inspect', '--json', 'a.img'], { cwd });
    const report = JSON.parse(r.stdout) as { secondStage: { summary: string; entries: { path: string }[] }; kernelModules: string[] };
    expect(report.secondStage.summary).toContain(`second stage: ${type}, ${placement} placement`);
    expect(report.secondStage.summary).toContain('; matches;');
    expect(report.secondStage.entries.map((e) => e.path)).toContain('/usr/lib/ruckusrd/hooks/mount/50-rootfs-mount-root.sh');
    expect(report.kernelModules.some((m) => m.endsWith('/ext4.ko'))).toBe(true);
  });

  test('--second-stage-out, and an existing second stage is never touched without --force', () => {
    const cwd = freshDir('stage2-out');
    writeFileSync(join(cwd, 'keep.stage2'), 'previous\n');
    const args = ['--second-stage', 'erofs', '--second-stage-placement', 'boot', '--second-stage-out', 'keep.stage2'];
    expectUserError(run(['--kernel', KARG, ...args, 'out.img'], { cwd }), /keep.stage2 exists; use --force/);
    expect(readFileSync(join(cwd, 'keep.stage2'), 'utf8')).toBe('previous\n');
    expect(existsSync(join(cwd, 'out.img'))).toBe(false);
    expect(run(['--kernel', KARG, ...args, '--force', 'out.img'], { cwd }).code).toBe(0);
    const written = readdirSync(cwd).filter((n) => n.startsWith('keep.stage2'));
    expect(written).toEqual([expect.stringMatching(/^keep\.stage2-[0-9a-f]{16}$/)]);
    expect(readFileSync(join(cwd, written[0]!)).subarray(1024, 1028)).toEqual(Buffer.from([0xe2, 0xe1, 0xf5, 0xe0]));
  });
});

describe.if(haveKernel)('leftovers of a killed build', () => {
  beforeAll(ensureBinary);
  test('a temp file whose build died (SIGKILL) is removed by the next build; a live one is kept', () => {
    const cwd = freshDir('stale');
    writeFileSync(join(cwd, '.out.img.mkruckus-999999999.tmp'), 'half an image');
    writeFileSync(join(cwd, `.out.img.mkruckus-${process.pid}.tmp`), 'another build, still running');
    buildOk(cwd, 'out.img', '--modules', 'base');
    expect(readdirSync(cwd).sort()).toEqual([`.out.img.mkruckus-${process.pid}.tmp`, 'out.img']);
  });
});
