// SPDX-License-Identifier: GPL-2.0-or-later
// `update`, `remove` and the command-name rule, from outside the compiled binary. Destinations are
// temp paths (--dest) or paths under a temp --base: never the real /boot.
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../../src/archive/read.ts';
import { describeNeeding, missing, testNeeding } from '../unit/need.ts';
import { BIN, CAN_MOUNT, CAN_OVERLAY, expectUserError, freshDir, KERNELS, KVER, mountTmpfs, reEscape, run, runInBase, sh, useScratch } from './helpers.ts';

useScratch();

const NEED_KERNEL = KVER ? [] : ['an installed kernel'];
const S2 = ['--second-stage', 'erofs', '--second-stage-placement', 'boot'];

/** The text of a file inside an image (any segment). */
async function fileIn(image: string, path: string): Promise<string> {
  const segments = await readImageFile(image, { data: true });
  const e = segments.flatMap((s) => s.entries).find((x) => x.path === path);
  return e?.data ? new TextDecoder().decode(e.data) : '';
}

describe('command names are never OUT', () => {
  test.each([['updte'], ['upadte'], ['Update'], ['remve'], ['inspec']])('%s is an error, and no file is written', (word) => {
    const cwd = freshDir('typo');
    expectUserError(run([word], { cwd }), new RegExp(`'${word}'.*\\./${word}`));
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('create update: a command name as OUT is an error', () => {
    const cwd = freshDir('create-update');
    expectUserError(run(['create', 'update'], { cwd }), /'update' is the update command.*\.\/update/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  testNeeding(NEED_KERNEL, './update is a file name on purpose', () => {
    const r = run(['--kernel', KVER, '--dry-run', './update'], { cwd: freshDir('dot-update') });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`kernel: ${KVER}\n`);
  });
});

describeNeeding(NEED_KERNEL, 'update and remove with --dest', () => {
  test('update -k: one line, the image at --dest with {kver}, a second stage beside it; remove deletes both', async () => {
    const dir = freshDir('upd');
    const dest = join(dir, 'initrd.img-{kver}');
    const img = join(dir, `initrd.img-${KVER}`);
    const r = run(['update', '-k', KVER, '--dest', dest, ...S2]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${reEscape(KVER)}: ${reEscape(img)} \\([0-9.]+ MiB; second stage [0-9.]+ MiB\\)\\n$`));
    // The second stage is named by its content: IMAGE.stage2-HASH.
    const [, s2] = readdirSync(dir).sort();
    expect(readdirSync(dir).sort()).toEqual([`initrd.img-${KVER}`, s2!]);
    expect(s2).toMatch(new RegExp(`^initrd\\.img-${reEscape(KVER)}\\.stage2-[0-9a-f]{16}$`));
    expect(await fileIn(img, '/etc/ruckusrd/stage2.conf')).toContain(`\npath=${join(dir, s2!)}\n`);
    // Rebuilt without a second stage: the old one must not outlive its image's use.
    expect(run(['update', '-k', KVER, '--dest', dest]).code).toBe(0);
    expect(readdirSync(dir)).toEqual([`initrd.img-${KVER}`]);
    expect(run(['update', '-k', KVER, '--dest', dest, ...S2]).code).toBe(0);
    const rm = run(['remove', '-k', KVER, '--dest', dest]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe(`${KVER}: removed ${img} ${join(dir, s2!)}\n`);
    expect(readdirSync(dir)).toEqual([]);
    expect(run(['remove', '-k', KVER, '--dest', dest]).stdout).toBe(`${KVER}: no image at ${img}\n`);
  });

  test('--second-stage-boot-path and -dev are what the first stage records', async () => {
    const dir = freshDir('bootpath');
    const args = ['-k', KVER, '--dest', join(dir, 'i-{kver}'), ...S2, '--second-stage-boot-path', `/i-${KVER}.stage2`, '--second-stage-boot-dev', 'LABEL=boot'];
    expect(run(['update', ...args]).code).toBe(0);
    const conf = await fileIn(join(dir, `i-${KVER}`), '/etc/ruckusrd/stage2.conf');
    expect(conf).toContain('\ndev=LABEL=boot\n');
    expect(conf).toMatch(new RegExp(`\npath=/i-${reEscape(KVER)}\\.stage2-[0-9a-f]{16}\n`));
    expectUserError(run(['update', ...args.slice(0, -4), '--second-stage-boot-path', 'rel/x']), /boot path 'rel\/x'/);
    expectUserError(run(['update', ...args.slice(0, -2), '--second-stage-boot-dev', 'sda1']), /boot device 'sda1'/);
  });

  test('a --dest without {kver} and several kernels is an error; an unknown kernel is one line', () => {
    if (KERNELS.length > 1) expectUserError(run(['update', '--all', '--dest', join(freshDir('nokver'), 'one.img')]), /has no \{kver\}/);
    expectUserError(run(['update', '-k', '0.0.0-none', '--dest', join(freshDir('nok'), 'i-{kver}')]), /'0.0.0-none' is not installed/);
    expectUserError(run(['remove', '-k', '../x']), /invalid kernel version/);
  });

  testNeeding(missing('flock'), 'a second update waits for the first one\'s lock, then runs', async () => {
    const dir = freshDir('lock');
    const update = (name: string) => Bun.spawn([BIN, 'update', '-k', KVER, '--dest', join(dir, `${name}-{kver}`)], { stdout: 'pipe', stderr: 'pipe' });
    const first = update('first');
    // The first update holds the system's lock (base /) once `flock -n` cannot take it.
    while (Bun.spawnSync(['flock', '-n', '/run/mkruckus.lock', 'true']).exitCode === 0) {
      if (first.exitCode !== null) throw new Error('the first update ended before it was seen holding the lock');
      await Bun.sleep(20);
    }
    const second = update('second');
    const [firstCode, secondCode] = await Promise.all([first.exited, second.exited]);
    const firstDone = (await Bun.file(join(dir, `first-${KVER}`)).stat()).mtimeMs;
    expect([firstCode, secondCode]).toEqual([0, 0]);
    expect(await new Response(second.stderr).text()).toContain('mkruckus: waiting for /run/mkruckus.lock: another mkruckus update or remove is running\n');
    // The second image was written after the first: the builds did not interleave.
    expect((await Bun.file(join(dir, `second-${KVER}`)).stat()).mtimeMs).toBeGreaterThan(firstDone);
  });
});

describeNeeding([...NEED_KERNEL, ...(CAN_MOUNT ? [] : ['root and tmpfs mounts'])], 'a second stage written where nothing is at boot', () => {
  test('on a tmpfs: refused, unless --second-stage-boot-path says where it will be', async () => {
    const dir = freshDir('tmpfs');
    mountTmpfs(dir, 'size=64m');
    const args = ['--kernel', KVER, ...S2, join(dir, 'out.img')];
    expectUserError(run(args), /on a tmpfs, which does not exist at boot; give --second-stage-boot-path/);
    expect(readdirSync(dir)).toEqual([]);
    expect(run([...args.slice(0, -1), '--second-stage-boot-path', '/boot/x.stage2', args.at(-1)!]).code).toBe(0);
    expect(await fileIn(join(dir, 'out.img'), '/etc/ruckusrd/stage2.conf')).toMatch(/\npath=\/boot\/x\.stage2-[0-9a-f]{16}\n/);
  });
});

describeNeeding([...NEED_KERNEL, ...(CAN_OVERLAY ? [] : ['root and overlay mounts (unshare -m)'])], 'update --all under a --base', () => {
  test('every kernel of the base, one line each, images under the base; the boot path is the base\'s', async () => {
    const base = freshDir('base');
    for (const d of ['usr', 'etc', 'out']) mkdirSync(join(base, d));
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(base, d));
    sh(['cp', '-a', '/etc/ld.so.conf', '/etc/ld.so.conf.d', join(base, 'etc/')]);
    writeFileSync(join(base, 'etc/mkruckus.conf'), 'second-stage = erofs\nsecond-stage-placement = boot\n');
    // A second kernel version: the host's module tree under another name (a symlink in the overlay).
    const extra = freshDir('base-usr');
    mkdirSync(join(extra, 'lib/modules'), { recursive: true });
    symlinkSync(KVER, join(extra, 'lib/modules/9.9.9-test'));
    const r = runInBase(base, extra, ['update', '--all', '--dest', '/out/initrd.img-{kver}'], base);
    expect(r.code).toBe(0);
    const kernels = [...KERNELS, '9.9.9-test'].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0])).toEqual(kernels);
    expect(readdirSync(join(base, 'out')).map((n) => n.replace(/-[0-9a-f]{16}$/, '-HASH')).sort()).toEqual(kernels.flatMap((k) => [`initrd.img-${k}`, `initrd.img-${k}.stage2-HASH`]).sort());
    // The base is a directory, not a filesystem of its own: the path is the base's, no device.
    const conf = await fileIn(join(base, 'out/initrd.img-9.9.9-test'), '/etc/ruckusrd/stage2.conf');
    expect(conf).toMatch(/\npath=\/out\/initrd\.img-9\.9\.9-test\.stage2-[0-9a-f]{16}\n/);
    expect(conf).not.toContain('\ndev=');
  });
});

describeNeeding(missing('man'), 'the man page', () => {
  test('renders with man -l and lists every flag that create, update and remove accept', () => {
    const page = Bun.spawnSync(['man', '-l', join(BIN, '../mkruckus.8')], { stdout: 'pipe', env: { ...process.env, MANWIDTH: '200' } });
    expect(page.exitCode).toBe(0);
    const text = page.stdout.toString();
    // The option headings of OPTIONS (`       --kernel, -k VER`), not mentions in running text.
    const headings = text.split('\n').filter((l) => /^ {7}--?[a-z]/.test(l)).join('\n');
    expect(text).toContain('mkruckus update [-k VER|--all]');
    expect(text).toContain('mkruckus remove -k VER');
    for (const cmd of ['create', 'update', 'remove']) {
      const help = run([cmd, '--help']).stdout;
      const flags = [...new Set(help.match(/--[a-z][a-z-]+/g) ?? [])];
      expect(flags.length).toBeGreaterThan(cmd === 'remove' ? 3 : 10);
      for (const f of flags) expect(headings, `${cmd} ${f}`).toMatch(new RegExp(`(^|[ ,])${f}([ ,]|$)`, 'm'));
    }
  });
});
