// SPDX-License-Identifier: GPL-2.0-or-later
// Layer lifecycle (SPEC §3, issue 8) on the Debian kernel in QEMU:
// - CI: a container image (OCI archive, made here) → `layer build` → the layers and ruckusrd.conf
//   on a root disk → booted;
// - a RuckusRD user: traditional root → sqsh-init → layered; change → sqsh-commit → a power cut
//   while /init squashes the upper → the next boot finishes it → change → sqsh-commit --merge=1
//   (/init merges the upper with c1) cut twice → the next boot finishes it → sqsh-merge cut
//   twice → fewer layers, the same files, deletions still in force, the replaced files gone.
// Power cuts in QEMU land where the state on disk changes: the new layer in place with the old conf
// (commit-squash, of c1), the conf replaced with the upper still full (conf-written), the upper
// renamed away (clean-renamed), a merged layer complete under its temp name (merge-build-written),
// the conf of a merge replaced before its sweep (merge-conf; the sweep is then /init's). Recording a
// step only appends done= to the journal, so a cut just before or after a marker leaves the same
// files; a cut inside a step finds only temp names and scratch trees, which the redo removes. Every
// marker of both executors is cut in test/unit/layers-journal.test.ts (with real mounts for /init's
// --merge), so QEMU proves the distinct disk states on the real kernel, one boot each.
// The guest runs the test binary (dist/mkruckus-test: it reads MKRUCKUS_TEST_FREEZE_AT, the shipped
// one does not); GNU tar, tar2sqfs and sqfs2tar sit on a second
// disk (/tools, another filesystem, so sqsh-init leaves it out); their libraries are copied into
// the root (/lib, /lib64), which is busybox-static otherwise.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN, ROOT } from '../binary.ts';
import { makeOciArchive, makeTar } from '../unit/layers-fixtures.ts';
import { buildImage } from './build.ts';
import { makeExt4, makeGuestRoot, randomToken, run, tempDir } from './disks.ts';
import { boot, canBoot, section } from './qemu.ts';

const END = /=== end\n/;
const TOOLS = ['tar', 'tar2sqfs', 'sqfs2tar'];
let dir = '';
let img = '';

/** The action's KEY=value lines. */
function report(consoleText: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of section(consoleText, 'action').matchAll(/^([A-Z_0-9]+)=(.*)$/gm)) out[m[1]!] = m[2]!.trim();
  return out;
}

const PRELUDE = `
mkdir -p /tools && mount -t ext4 -o ro /dev/vdb /tools
export PATH=/tools/bin:$PATH HOME=/tmp
echo "MODE=$(sed -n 's/^mode=//p' /run/ruckusrd/state)"
echo "STACK=$(sed -n 's/^layers=//p' /run/ruckusrd/state)"
# the upper's files (directories aside: /init creates the new layers' mount points in it)
echo "UPPER=$(cd /mnt/root-true/upper/upper 2>/dev/null && find . ! -type d | tr '\\n' ' ')"
echo "NEW=$(cat /etc/new 2>/dev/null)"
echo "KEPT=$(cat /etc/kept)"
[ -e /etc/gone ] && echo GONE=present || echo GONE=gone
`;

const VIEW = `
echo "TWO=$(cat /etc/two 2>/dev/null)"
[ -e /etc/base2 ] && echo BASE2=present || echo BASE2=gone
echo "OLD=$(ls /opt/old | tr '\\n' ' ')"
echo "FILES=$(cd /mnt/root-true && ls *.sqsh | tr '\\n' ' ')"
`;

const ACTIONS = {
  init: `${PRELUDE}
t0=$(cut -d' ' -f1 /proc/uptime)
mkruckus sqsh-init --reboot base /dev/vda; echo "RC=$?"
echo "SECONDS_INIT=$t0 $(cut -d' ' -f1 /proc/uptime)"
echo "CONF=$(grep -v '^#' /ruckusrd.conf | tr '\\n' ' ')"
sync`,
  commit: `${PRELUDE}
echo new > /etc/new && echo changed > /etc/kept && rm /etc/gone
rm -r /opt/old && mkdir /opt/old && echo n > /opt/old/newf
mkruckus sqsh-commit --reboot c1; echo "RC=$?"
echo "JOURNAL=$(grep -c . /mnt/root-true/ruckusrd.journal)"
sync`,
  // c1 is finished by /init; a second change set is committed merged with c1, over base
  commitmerge: `${PRELUDE}${VIEW}
echo two > /etc/two && rm /etc/base2 /etc/new
mkruckus sqsh-commit --merge=1 --reboot c2; echo "RC=$?"
sync`,
  merge: `${PRELUDE}${VIEW}
MKRUCKUS_TEST_FREEZE_AT=merge-build-written mkruckus sqsh-merge 2 all; echo "RC=$?"
sync`,
  finish: `${PRELUDE}
MKRUCKUS_TEST_FREEZE_AT=merge-conf mkruckus layers; echo "RC=$?"
sync`,
  check: `${PRELUDE}${VIEW}
mkruckus layers
echo "CONF=$(grep -v '^#' /mnt/root-true/ruckusrd.conf | tr '\\n' ' ')"
echo "LAST=$(grep ^result= /mnt/root-true/ruckusrd.last)"`,
  // the built image's stack: no tools needed
  view: `
echo "MODE=$(sed -n 's/^mode=//p' /run/ruckusrd/state)"
echo "STACK=$(sed -n 's/^layers=//p' /run/ruckusrd/state)"
echo "NEW=$(cat /etc/new 2>/dev/null)"
echo "KEPT=$(cat /etc/kept)"
[ -e /etc/gone ] && echo GONE=present || echo GONE=gone
echo "OPT=$(ls /opt | tr '\\n' ' ')"`,
};

const TEST_BIN = join(ROOT, 'dist/mkruckus-test');

/**
 * dist/mkruckus-test: the sources now in the tree (buildImage generated their assets), compiled as
 * scripts/build-binary.ts does but with MKRUCKUS_TEST_HOOKS defined true (src/host/layer-testhooks.ts).
 */
async function buildTestBinary(): Promise<void> {
  const r = await Bun.build({
    entrypoints: [join(ROOT, 'src/main.ts')],
    compile: { outfile: TEST_BIN, autoloadBunfig: false, autoloadDotenv: false } as never,
    minify: true,
    define: { MKRUCKUS_VERSION: JSON.stringify('test'), MKRUCKUS_TEST_HOOKS: 'true' },
  });
  if (!r.success) throw new Error(`test binary: ${r.logs.join('\n')}`);
}

/** /tools: the binary and the tools it runs; their libraries into the root tree. */
function makeTools(tools: string, root: string): void {
  mkdirSync(join(tools, 'bin'), { recursive: true });
  copyFileSync(TEST_BIN, join(tools, 'bin/mkruckus'));
  const paths = [TEST_BIN, ...TOOLS.map((t) => run(['sh', '-c', `command -v ${t}`]).trim())];
  for (const t of TOOLS) copyFileSync(run(['sh', '-c', `command -v ${t}`]).trim(), join(tools, 'bin', t));
  run(['chmod', '755', ...[...TOOLS, 'mkruckus'].map((t) => join(tools, 'bin', t))]);
  const libs = new Set<string>();
  for (const p of paths) for (const m of run(['ldd', p]).matchAll(/(\/[^\s]+\.so[^\s]*)/g)) libs.add(m[1]!);
  for (const lib of libs) {
    const real = run(['readlink', '-f', lib]).trim();
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(real, join(root, lib));
  }
}

describe.if(canBoot)('layer lifecycle (QEMU)', () => {
  let rootDisk = '';
  let toolsDisk = '';
  let token = '';
  beforeAll(async () => {
    dir = tempDir('lifecycle');
    token = randomToken();
    const root = join(dir, 'root');
    makeGuestRoot(root, token, ACTIONS);
    for (const d of ['mnt/root-true', 'opt/old', 'tools']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'etc/kept'), 'base\n');
    writeFileSync(join(root, 'etc/gone'), 'base\n');
    writeFileSync(join(root, 'etc/base2'), 'base\n');
    writeFileSync(join(root, 'opt/old/file'), 'old\n');
    img = buildImage(join(dir, 'initrd.img'));
    await buildTestBinary();
    const tools = join(dir, 'tools');
    makeTools(tools, root);
    rootDisk = join(dir, 'root.img');
    makeExt4(root, rootDisk, { sizeMB: 160 });
    toolsDisk = join(dir, 'tools.img');
    makeExt4(tools, toolsDisk, { sizeMB: 256 });
  });
  const disks = () => [{ file: rootDisk }, { file: toolsDisk, readonly: true }];
  const bootWith = async (action: string, until = END) => {
    const r = await boot({ initrd: img, append: `root=/dev/vda rw test.action=${action}`, disks: disks(), until, memoryMB: 1024, cpu: 'max', timeoutMs: 300_000 });
    if (process.env.LIFECYCLE_DEBUG) console.log(r.console);
    return r;
  };

  test('traditional → sqsh-init: the next boot is layered on the new layer, without a bootloader change', async () => {
    const a = await bootWith('init');
    expect(section(a.console, 'token').trim()).toBe(token);
    expect(report(a.console)).toMatchObject({ MODE: 'traditional', RC: '0', CONF: 'sqsh_layers=base' });
    expect(section(a.console, 'action')).toContain('kernel command line (if you keep layers there): root=/dev/vda sqsh_layers=base');
    const b = await bootWith('commit');
    expect(section(b.console, 'token').trim()).toBe(token);
    expect(report(b.console)).toMatchObject({ MODE: 'layered', STACK: 'base', KEPT: 'base', GONE: 'present', RC: '0' });
    expect(Number(report(b.console).JOURNAL)).toBeGreaterThan(3);
  }, 900_000);

  const cutAt = async (marker: string) => {
    const r = await bootWith('none', new RegExp(`(ruckusrd|mkruckus): layer-op: ${marker}\\r?\\n`));
    expect(r.fatal).toBeUndefined();
    expect(r.console, `a cut at ${marker}`).not.toContain('=== token');
    return r;
  };

  test('sqsh-commit: a power cut while /init squashes the upper; the next boot finishes, nothing lost; sqsh-commit --merge=1 recorded', async () => {
    const cut = await cutAt('commit-squash');
    expect(cut.console).toContain('finishing layer operation: commit c1');
    const d = await bootWith('commitmerge');
    expect(d.console).toContain('ruckusrd: layer-op: commit-finished');
    expect(d.console).not.toContain('layer-op: commit-squash-written'); // recorded before the cut
    expect(report(d.console)).toMatchObject({ MODE: 'layered', STACK: 'c1:base', UPPER: '', NEW: 'new', KEPT: 'changed', GONE: 'gone', OLD: 'newf', BASE2: 'present', RC: '0' });
    expect(section(d.console, 'action')).toContain('commit of the upper merged with c1 as c2 recorded; /init finishes it at the next boot: c2:base');
  }, 900_000);

  test('sqsh-commit --merge=1 finished by /init, cut after the conf and the upper\'s rename: c2 over base keeps every deletion', async () => {
    // each boot goes on from the step the last one recorded, and is cut at the next marker
    for (const marker of ['commit-conf-written', 'commit-clean-renamed']) await cutAt(marker);
    const e = await bootWith('merge', /mkruckus: layer-op: merge-build-written\r?\n/);
    expect(e.console).toContain('ruckusrd: layer-op: commit-finished');
    expect(e.console).not.toContain('rolled back');
    // c1's whiteout (etc/gone) and opaque dir (opt/old), the upper's whiteout of a base file (etc/base2) and of a c1 file (etc/new)
    expect(report(e.console)).toMatchObject({ MODE: 'layered', STACK: 'c2:base', UPPER: '', NEW: '', KEPT: 'changed', GONE: 'gone', OLD: 'newf', BASE2: 'gone', TWO: 'two', FILES: 'base.sqsh c2.sqsh' });
  }, 900_000);

  test('sqsh-merge cut twice (its layer written; its conf replaced): `layers`, then /init finish it; one layer, the same files, old layer files gone', async () => {
    const f = await bootWith('finish', /mkruckus: layer-op: merge-conf\r?\n/);
    expect(f.console).toContain('finishing: pending operation: merge all (c2:base → all): done nothing; to do build, conf, sweep; boots c2:base');
    const g = await bootWith('check');
    expect(g.console).toContain('finishing layer operation: merge all (sweep)');
    expect(report(g.console)).toMatchObject({
      MODE: 'layered', STACK: 'all', UPPER: '', NEW: '', KEPT: 'changed', GONE: 'gone', OLD: 'newf', BASE2: 'gone', TWO: 'two',
      FILES: 'all.sqsh', CONF: 'sqsh_layers=all', LAST: 'result=done',
    });
    expect(section(g.console, 'action')).not.toContain('leftover:');
    expect(section(g.console, 'state')).toContain('layer=all squashfs /mnt/root-true/all.sqsh /mnt/sqsh_layer-all');
  }, 900_000);

  test('layer build from a two-layer OCI archive (a deletion, an opaque dir) boots as sqsh_layers from its ruckusrd.conf', async () => {
    const root = join(dir, 'oci-root');
    makeGuestRoot(root, token, ACTIONS);
    mkdirSync(join(root, 'opt/old'), { recursive: true });
    writeFileSync(join(root, 'opt/old/file'), 'old\n');
    writeFileSync(join(root, 'etc/kept'), 'base\n');
    writeFileSync(join(root, 'etc/gone'), 'base\n');
    const baseTar = Bun.spawnSync(['tar', '-C', root, '--numeric-owner', '-cf', '-', '.']).stdout;
    const oci = join(dir, 'image.oci.tar');
    writeFileSync(oci, await makeOciArchive([
      new Uint8Array(baseTar),
      [{ name: 'etc/.wh.gone', body: '' }, { name: 'opt/', type: 'directory' }, { name: 'opt/.wh..wh..opq', body: '' }, { name: 'opt/new', body: 'n' }, { name: 'etc/new', body: 'new\n' }],
    ]));
    const top = join(dir, 'oci-top');
    mkdirSync(top);
    const out = run([BIN, 'layer', 'build', 'img', '--from', oci, '--out', top, '--conf', join(top, 'ruckusrd.conf')]);
    expect(out).toBe('sqsh_layers=img-2:img-1\n');
    const first = await Bun.file(join(top, 'img-2.sqsh')).bytes();
    run([BIN, 'layer', 'build', 'img', '--from', oci, '--out', top, '--force']);
    expect(Buffer.compare(first, await Bun.file(join(top, 'img-2.sqsh')).bytes())).toBe(0);
    // a hostile tarball: one error line from the binary, nothing written
    writeFileSync(join(dir, 'evil.tar'), await makeTar([{ name: 'ok', body: 'x' }, { name: '../../etc/cron.d/evil', body: 'x' }]));
    const evil = Bun.spawnSync([BIN, 'layer', 'build', 'evil', '--from', join(dir, 'evil.tar'), '--out', top]);
    expect(evil.exitCode).toBe(1);
    expect(evil.stderr.toString()).toMatch(/^mkruckus: error: .*evil\.tar: refused: "\.\.\/\.\.\/etc\/cron\.d\/evil": `\.\.` in the name\n$/);
    expect(readdirSync(top).sort()).toEqual(['img-1.sqsh', 'img-2.sqsh', 'ruckusrd.conf']);
    rootDisk = join(dir, 'oci-root.img');
    makeExt4(top, rootDisk, { sizeMB: 96 });
    const r = await boot({ initrd: img, append: `root=/dev/vda test.action=view`, disks: [{ file: rootDisk }], until: END });
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(report(r.console)).toMatchObject({ MODE: 'layered', STACK: 'img-2:img-1', NEW: 'new', KEPT: 'base', GONE: 'gone', OPT: 'new' });
  }, 900_000);
});
