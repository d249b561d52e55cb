// SPDX-License-Identifier: GPL-2.0-or-later
// inspect as a tool: the build record in the header and the JSON, --cat, --extract (never through a
// link entry out of DIR), --diff OLD NEW, a non-zero exit for a missing or altered second stage, and
// the --report FILE build report.
import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, missing } from '../unit/need.ts';
import { freshDir, KARG, KVER, run, sha256, useScratch } from './helpers.ts';

useScratch();

const needs = [...missing('cpio', 'fsck.erofs'), ...(KVER ? [] : ['an installed kernel'])];

describeNeeding(needs, 'inspect', () => {
  let cwd = '';
  beforeAll(() => {
    cwd = freshDir('inspect');
    for (const [out, extra] of [['a.img', []], ['b.img', ['--add-drivers', 'ext4', '--report', 'b.json']]] as const) {
      const r = run(['--kernel', KARG, '--modules', 'base', ...extra, out], { cwd });
      if (r.code !== 0) throw new Error(r.stderr);
    }
  });

  test('the build record: a header in text, `record` in JSON', () => {
    const text = run(['inspect', 'b.img'], { cwd });
    expect(text.code).toBe(0);
    const head = text.stdout.split('\n').slice(0, 4);
    expect(head[0]).toMatch(new RegExp(`^built by mkruckus \\S+ for kernel ${KVER.replace(/[.+]/g, '\\$&')} \\(SOURCE_DATE_EPOCH 0\\)$`));
    expect(head[1]).toBe('modules: base');
    expect(head[3]).toBe('additions: drivers ext4; include -; install -');
    const json = JSON.parse(run(['inspect', '--json', 'b.img'], { cwd }).stdout) as { record: { kernel: string; options: { addDrivers: string[] } } };
    expect(json.record.kernel).toBe(KVER);
    expect(json.record.options.addDrivers).toEqual(['ext4']);
  });

  test('--cat prints a file (through links inside the image); a missing one is one line', () => {
    const r = run(['inspect', 'a.img', '--cat', '/bin/../../etc/ruckusrd/build.conf'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`KERNEL_VERSION='${KVER}'`);
    const gone = run(['inspect', 'a.img', '--cat', '/etc/nothing'], { cwd });
    expect(gone.stderr).toBe('mkruckus: error: /etc/nothing: not in the image\n');
  });

  test('--extract DIR writes the tree; files equal --cat', () => {
    const dir = join(freshDir('ex'), 'tree');
    const r = run(['inspect', 'a.img', '--extract', dir], { cwd });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'init'))).toEqual(Buffer.from(run(['inspect', 'a.img', '--cat', '/init'], { cwd }).stdout));
    expect(existsSync(join(dir, 'usr/bin/busybox'))).toBe(true);
  });

  test('--extract never writes through a link entry of the image out of DIR', () => {
    const out = freshDir('victim');
    const mk = freshDir('hostile');
    mkdirSync(join(mk, 'one'));
    symlinkSync(out, join(mk, 'one/a'));
    mkdirSync(join(mk, 'two/a'), { recursive: true });
    writeFileSync(join(mk, 'two/a/evil'), 'written outside\n');
    // The second archive has no entry for a/ itself: the kernel would write a/evil through the link.
    const pack = (d: string) => Bun.spawnSync(['sh', '-c', 'find . -mindepth 1 ! -type d | LC_ALL=C sort | cpio --quiet -o -H newc'], { cwd: join(mk, d) }).stdout;
    writeFileSync(join(mk, 'hostile.img'), Buffer.concat([Buffer.from(pack('one')), Buffer.from(pack('two'))]));
    const r = run(['inspect', join(mk, 'hostile.img'), '--extract', join(mk, 'x')], { cwd });
    expect(existsSync(join(out, 'evil'))).toBe(false);
    expect(r.stderr).toContain('--extract: /a/evil not written');
  });

  test('--diff OLD NEW: the record, the kernel modules and the files that changed; exit 1, 0 when equal', () => {
    const r = run(['inspect', '--diff', 'a.img', 'b.img'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mkruckus: error: a\.img and b\.img differ: \d+ lines\n$/);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('addDrivers:  -> ext4');
    expect(lines.find((l) => l.startsWith('kernel modules added'))).toMatch(/ ext4\.ko .*jbd2\.ko/);
    expect(lines.some((l) => /^\+ \/usr\/lib\/modules\/.*\/ext4\.ko \(file 0644 \d+ bytes\)$/.test(l))).toBe(true);
    const same = run(['inspect', '--diff', 'a.img', 'a.img'], { cwd });
    expect([same.code, same.stdout]).toEqual([0, '']);
  });

  test('--report FILE: every file with owner and sha256, each kernel module with its reason, the steps timed', () => {
    const report = JSON.parse(readFileSync(join(cwd, 'b.json'), 'utf8')) as {
      record: { kernel: string };
      files: { path: string; owner: string; sha256?: string; source?: string }[];
      kernelModules: { name: string; reason: string }[];
      timings: { step: string; ms: number }[];
    };
    expect(report.record.kernel).toBe(KVER);
    const init = report.files.find((f) => f.path === '/init');
    expect(init?.owner).toBe('base');
    const tree = join(freshDir('rex'), 't');
    run(['inspect', 'b.img', '--extract', tree], { cwd });
    expect(init?.sha256).toBe(sha256(join(tree, 'init')));
    expect(report.files.find((f) => f.path === '/usr/bin/busybox')?.source).toMatch(/busybox$/);
    const reason = (n: string) => report.kernelModules.find((m) => m.name === n)?.reason;
    expect(reason('ext4')).toBe('--add-drivers');
    expect(reason('jbd2')).toBe('dependency of ext4');
    expect(report.timings.map((t) => t.step)).toContain('write cpio');
  });

  test('a missing or altered /boot second stage: the listing, then a non-zero exit naming the problem', () => {
    const d = freshDir('s2');
    expect(run(['--kernel', KARG, '--modules', 'base', '--second-stage', 'erofs', '--second-stage-placement', 'boot', '--second-stage-boot-dev', 'LABEL=b', 'o.img'], { cwd: d }).code).toBe(0);
    expect(run(['inspect', 'o.img'], { cwd: d }).code).toBe(0);
    // Named by its content: o.img.stage2-HASH.
    const s2 = readdirSync(d).find((n) => n.startsWith('o.img.stage2-'))!;
    const bytes = readFileSync(join(d, s2));
    bytes[100]! ^= 1;
    writeFileSync(join(d, s2), bytes);
    const altered = run(['inspect', '--json', 'o.img'], { cwd: d });
    expect(altered.code).toBe(1);
    expect(altered.stderr).toMatch(/^mkruckus: error: o\.img: the second stage o\.img\.stage2-[0-9a-f]{16} does not match/);
    const data = (JSON.parse(altered.stdout) as { secondStage: { data: { matches: boolean; found: string } } }).secondStage.data;
    expect(data).toMatchObject({ matches: false, found: s2 });
  });
});

describe('inspect --diff arguments', () => {
  test('a second image without --diff is one line', () => {
    const r = run(['inspect', 'a', 'b']);
    expect(r.stderr).toBe('mkruckus: error: cannot read image a: no such file\n');
  });
});
