// SPDX-License-Identifier: GPL-2.0-or-later
// OUT and its /boot second stage are replaced as a pair (issue 12, item 7): a build killed between
// the two renames, out of space while writing OUT, or racing another build to the same OUT, leaves
// an OUT whose recorded second stage is beside it (`mkruckus verify OUT` passes), and a successful
// build leaves no second stage that nothing records.
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeNeeding, missing, testNeeding } from '../unit/need.ts';
import { BIN, CAN_MOUNT, expectUserError, freshDir, KARG, KVER, mountTmpfs, run, useScratch } from './helpers.ts';

useScratch();

const KERNEL = KVER ? [] : ['an installed kernel'];
// A tiny build whose second stage holds /etc/pair (its content chosen per build).
const S2 = ['--modules', 'base', '--no-ucode', '--second-stage', 'erofs', '--second-stage-placement', 'boot', '--second-stage-boot-dev', 'LABEL=boot'];

function argsFor(cwd: string, tag: string, extra: string[] = []): string[] {
  writeFileSync(join(cwd, `${tag}.txt`), `content ${tag}\n`.repeat(64));
  return ['--kernel', KARG, ...S2, '--force', '--include', `${join(cwd, `${tag}.txt`)}:/etc/pair`, ...extra, 'out.img'];
}

const stage2s = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('out.img.stage2')).sort();
const verifies = (dir: string): boolean => run(['verify', 'out.img'], { cwd: dir }).code === 0;

/** The second stage OUT records, by `inspect --json`. */
function recorded(dir: string): string {
  const r = run(['inspect', '--json', 'out.img'], { cwd: dir });
  return (JSON.parse(r.stdout) as { secondStage: { data: { found?: string } } }).secondStage.data.found ?? '';
}

describe('the /boot second stage is named by its content', () => {
  testNeeding(KERNEL, 'a rebuild with other content writes a new name, then deletes the old one', () => {
    const dir = freshDir('names');
    expect(run(argsFor(dir, 'a'), { cwd: dir }).code).toBe(0);
    const [first] = stage2s(dir);
    expect(first).toMatch(/^out\.img\.stage2-[0-9a-f]{16}$/);
    expect(run(argsFor(dir, 'b'), { cwd: dir }).code).toBe(0);
    expect(stage2s(dir)).toHaveLength(1);
    expect(stage2s(dir)[0]).not.toBe(first!);
    expect(recorded(dir)).toBe(stage2s(dir)[0]!);
    expect(verifies(dir)).toBe(true);
  });
});

describeNeeding([...KERNEL, ...missing('strace')], 'killed between the two renames', () => {
  test('SIGKILL as OUT is renamed: the old OUT and its second stage still verify; the next build leaves no orphan', () => {
    const dir = freshDir('kill');
    expect(run(argsFor(dir, 'old'), { cwd: dir }).code).toBe(0);
    const old = stage2s(dir);
    // The second rename of the build (OUT's; the first is the second stage's) never happens: strace
    // fails it and kills the build on the spot, as a power cut between the two would. No cache home
    // (one under /dev/null cannot be made): the caches' own renames of new entries would count too.
    const argv = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename,renameat,renameat2,link,linkat',
      '-e', 'inject=rename,renameat,renameat2,link,linkat:error=EIO:signal=KILL:when=2', BIN, ...argsFor(dir, 'new')];
    const env = { ...process.env, XDG_CACHE_HOME: '/dev/null/cache' };
    const r = Bun.spawnSync(argv, { cwd: dir, env, stdout: 'pipe', stderr: 'pipe' });
    expect(r.exitCode).not.toBe(0);
    expect(stage2s(dir)).toHaveLength(2);
    expect(stage2s(dir)).toEqual(expect.arrayContaining(old));
    expect(recorded(dir)).toBe(old[0]!);
    expect(verifies(dir)).toBe(true);
    expect(run(argsFor(dir, 'next'), { cwd: dir }).code).toBe(0);
    expect(stage2s(dir)).toEqual([recorded(dir)]);
    expect(verifies(dir)).toBe(true);
  });

  test.each(['SIGKILL', 'SIGTERM'] as const)('%s right after the --verbose step line of the second stage: old pair or new pair, never a mix', async (signal) => {
    const dir = freshDir('step');
    expect(run(argsFor(dir, 'old'), { cwd: dir }).code).toBe(0);
    const p = Bun.spawn([BIN, '--verbose', ...argsFor(dir, 'new')], { cwd: dir, stdout: 'pipe', stderr: 'pipe' });
    let seen = '';
    const decoder = new TextDecoder();
    for await (const chunk of p.stderr) {
      seen += decoder.decode(chunk);
      if (/^mkruckus: write second stage: /m.test(seen)) {
        p.kill(signal);
        break;
      }
    }
    await p.exited;
    expect(seen).toMatch(/^mkruckus: write second stage: /m);
    expect(verifies(dir)).toBe(true);
    // SIGTERM ends the build through its handlers: the second stage the OUT in place does not use goes.
    if (signal === 'SIGTERM') expect(stage2s(dir)).toEqual([recorded(dir)]);
    else expect(stage2s(dir)).toContain(recorded(dir));
  });
});

describeNeeding([...KERNEL, ...(CAN_MOUNT ? [] : ['root (tmpfs mounts)'])], 'a full filesystem while writing OUT', () => {
  test('the build fails with one line; the old OUT and its second stage stay and verify; the new second stage is gone', () => {
    // Sizes of this build, measured on a plain directory first.
    const probe = freshDir('probe');
    expect(run(argsFor(probe, 'old'), { cwd: probe }).code).toBe(0);
    const outSize = statSync(join(probe, 'out.img')).size;
    const s2Size = statSync(join(probe, stage2s(probe)[0]!)).size;
    const dir = freshDir('full');
    // Room for the old pair and a new second stage, but not for a second OUT beside the first.
    const kib = Math.ceil((outSize * 1.5 + s2Size * 2) / 1024) + 64;
    mountTmpfs(dir, `size=${kib}k`);
    const boot = ['--second-stage-boot-path', '/boot/out.img.stage2'];
    expect(run(argsFor(dir, 'old', boot), { cwd: dir }).code).toBe(0);
    const old = stage2s(dir);
    expect(old).toHaveLength(1);
    const r = run(argsFor(dir, 'new', boot), { cwd: dir });
    expectUserError(r, /out\.img/);
    expect(stage2s(dir)).toEqual(old);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(verifies(dir)).toBe(true);
  });
});

describeNeeding(KERNEL, 'concurrent builds to one OUT', () => {
  test('six at once: all succeed in turn, OUT verifies, one second stage is left', async () => {
    const dir = freshDir('race');
    expect(run(argsFor(dir, 'first'), { cwd: dir }).code).toBe(0);
    const procs = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((tag) => Bun.spawn([BIN, ...argsFor(dir, tag)], { cwd: dir, stdout: 'pipe', stderr: 'pipe' }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    expect(verifies(dir)).toBe(true);
    expect(stage2s(dir)).toEqual([recorded(dir)]);
  });
});

describeNeeding([...KERNEL, ...missing('dmsetup')], 'the /boot second stage with its dm-verity hash tree', () => {
  test('recorded, shown by inspect, checked by verify (a changed hash block is named); --omit stage2-verity records none', () => {
    const dir = freshDir('verity');
    const two = ['--kernel', KARG, '--no-ucode', '--second-stage', 'erofs', '--second-stage-placement', 'boot', '--second-stage-boot-dev', 'LABEL=boot'];
    const r = run([...two, 'out.img'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('dm-verity');
    const report = JSON.parse(run(['inspect', '--json', 'out.img'], { cwd: dir }).stdout) as { secondStage: { summary: string; data: { verityRoot?: string } } };
    expect(report.secondStage.data.verityRoot).toMatch(/^[0-9a-f]{64}$/);
    expect(report.secondStage.summary).toContain(`dm-verity root hash ${report.secondStage.data.verityRoot}`);
    expect(verifies(dir)).toBe(true);
    // The last byte of the file is in the hash tree: the data is intact, the tree is not.
    const file = join(dir, stage2s(dir)[0]!);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(file, bytes);
    const bad = run(['verify', 'out.img'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/dm-verity (hash tree does not match its data|root hash)/);
    const plain = freshDir('noverity');
    expect(run([...two, '--omit', 'stage2-verity', 'out.img'], { cwd: plain }).code).toBe(0);
    const data = (JSON.parse(run(['inspect', '--json', 'out.img'], { cwd: plain }).stdout) as { secondStage: { data: { verityRoot?: string } } }).secondStage.data;
    expect(data.verityRoot).toBeUndefined();
  });
});
