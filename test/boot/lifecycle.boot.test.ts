// SPDX-License-Identifier: GPL-2.0-or-later
// Layer lifecycle (SPEC §3, issue 8) on the Debian kernel in QEMU:
// - CI: a container image (OCI archive, made here) → `layer build` → the layers and ruckusrd.conf
//   on a root disk → booted;
// - a RuckusRD user: traditional root → sqsh-init → layered; change → sqsh-commit → a power cut
//   while /init squashes the upper → the next boot finishes it → sqsh-merge → fewer layers, the
//   same files, deletions still in force.
// The guest runs the real binary: dist/mkruckus, GNU tar, tar2sqfs and sqfs2tar sit on a second
// disk (/tools, another filesystem, so sqsh-init leaves it out); their libraries are copied into
// the root (/lib, /lib64), which is busybox-static otherwise.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN } from '../binary.ts';
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

const ACTIONS = {
  init: `${PRELUDE}
t0=$(cut -d' ' -f1 /proc/uptime)
mkruckus sqsh-init --reboot base /dev/vda; echo "RC=$?"
echo "SECONDS_INIT=$t0 $(cut -d' ' -f1 /proc/uptime)"
echo "CONF=$(grep -v '^#' /ruckusrd.conf | tr '\\n' ' ')"
sync`,
  commit: `${PRELUDE}
echo new > /etc/new && echo changed > /etc/kept && rm /etc/gone
mkruckus sqsh-commit --reboot c1; echo "RC=$?"
echo "JOURNAL=$(grep -c . /mnt/root-true/ruckusrd.journal)"
sync`,
  merge: `${PRELUDE}
MKRUCKUS_TEST_FREEZE_AT=merge-build-written mkruckus sqsh-merge 2 all; echo "RC=$?"
mkruckus layers
sync`,
  finish: `${PRELUDE}
mkruckus layers; echo "RC=$?"
echo "CONF=$(grep -v '^#' /mnt/root-true/ruckusrd.conf | tr '\\n' ' ')"
sync`,
  check: `${PRELUDE}
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

/** /tools: the binary and the tools it runs; their libraries into the root tree. */
function makeTools(tools: string, root: string): void {
  mkdirSync(join(tools, 'bin'), { recursive: true });
  copyFileSync(BIN, join(tools, 'bin/mkruckus'));
  const paths = [BIN, ...TOOLS.map((t) => run(['sh', '-c', `command -v ${t}`]).trim())];
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
  beforeAll(() => {
    dir = tempDir('lifecycle');
    token = randomToken();
    const root = join(dir, 'root');
    makeGuestRoot(root, token, ACTIONS);
    for (const d of ['mnt/root-true', 'opt', 'tools']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'etc/kept'), 'base\n');
    writeFileSync(join(root, 'etc/gone'), 'base\n');
    const tools = join(dir, 'tools');
    makeTools(tools, root);
    rootDisk = join(dir, 'root.img');
    makeExt4(root, rootDisk, { sizeMB: 160 });
    toolsDisk = join(dir, 'tools.img');
    makeExt4(tools, toolsDisk, { sizeMB: 256 });
    img = buildImage(join(dir, 'initrd.img'));
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

  test('sqsh-commit: a power cut while /init squashes the upper; the next boot finishes, nothing lost', async () => {
    const cut = await bootWith('none', /ruckusrd: layer-op: commit-squash\r?\n/);
    expect(cut.console).toContain('finishing layer operation: commit c1');
    expect(cut.console).not.toContain('=== token');
    // the merge is cut too: QEMU killed once its new layer is written, before the conf names it
    const d = await bootWith('merge', /mkruckus: layer-op: merge-build-written\r?\n/);
    expect(d.fatal).toBeUndefined();
    expect(d.console).toContain('ruckusrd: layer-op: commit-finished');
    expect(d.console).not.toContain('layer-op: commit-squash-written'); // recorded before the cut
    expect(report(d.console)).toMatchObject({ MODE: 'layered', STACK: 'c1:base', UPPER: '', NEW: 'new', KEPT: 'changed', GONE: 'gone' });
  }, 900_000);

  test('sqsh-merge cut by a power loss: `layers` finishes it; the next boot has one layer, the same files, the deletion in force', async () => {
    const f = await bootWith('finish');
    expect(report(f.console)).toMatchObject({ MODE: 'layered', STACK: 'c1:base', NEW: 'new', GONE: 'gone', RC: '0', CONF: 'sqsh_layers=all' });
    expect(section(f.console, 'action')).toContain('finishing: pending operation: merge all (c1:base → all): done nothing; to do build, conf; boots c1:base');
    expect(section(f.console, 'action')).toContain('last operation: merge all (c1:base → all): done');
    const e = await bootWith('check');
    expect(report(e.console)).toMatchObject({ MODE: 'layered', STACK: 'all', UPPER: '', NEW: 'new', KEPT: 'changed', GONE: 'gone', LAST: 'result=done' });
    expect(section(e.console, 'state')).toContain('layer=all squashfs /mnt/root-true/all.sqsh /mnt/sqsh_layer-all');
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
