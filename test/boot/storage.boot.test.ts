// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 13, complex storage: LUKS2, LVM, LVM on LUKS, LUKS on LVM, RAID1 (whole and degraded), RAID5,
// layers on an LV and on a LUKS device, a detached LUKS header, rd.luks.key on another disk, a
// passphrase typed on the VT keyboard with a German keymap, resume=. The host has no device-mapper
// or md driver, so the disks are made inside QEMU: a "prep" boot of our own image (--add
// crypt,lvm,mdraid, `initramsys`) runs storage/prep.sh on blank disks. Nothing is cached across runs.
import { beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot, canBoot, kernel, section, type BootOptions } from './qemu.ts';
import { IDS, makeExt4, makeGuestRoot, randomToken, run, tempDir } from './disks.ts';
import { buildImage, CLI } from './build.ts';
import { makeLayerTrees, makeSquashfs, PROBE_ACTION } from './layers.ts';

const END = /=== end\n/;
const PASS = 'ruckus pass';
/** A third key of the LUKS disk: on a German keyboard z and y trade places, so on a US map these keys give "yebra zak". */
const KM_PASS = 'zebra yak';
const KM_KEYS = ['y', 'e', 'b', 'r', 'a', 'spc', 'z', 'a', 'k', 'ret'];
const ID = {
  luks: '1b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e01',
  lukslvm: '2b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e02',
  md: '3b1c0a4e:0d5c4f0e:9a516a2c:3b4d5e03',
  lvluks: '4b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e04',
  hdr: '5b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e05',
  md5: '6b1c0a4e:0d5c4f0e:9a516a2c:3b4d5e06',
};
const PROMPT = /passphrase for [^\n]*: $/;
const RESCUE = /starting rescue shell[^]*# /;
/**
 * Under TCG on a shared, loaded machine each lvm or cryptsetup run can take seconds: the default
 * 10-second device wait measures the machine, not /init. Tests that are about that wait leave it out.
 */
const SLOW = 'rootdelay=60';
/** A boot here runs lvm and cryptsetup: 20 s alone, over 100 s on this 2-core machine under a full test load. */
const TIMEOUT = 300_000;
const DISKS = ['luks', 'lvm', 'lukslvm', 'md1', 'md2', 'lvluks', 'hdr', 'md5a', 'md5b', 'md5c'] as const;
type Disk = (typeof DISKS)[number];

let dir = '';
let token = '';
let img = '';
let tabImg = '';
let keyImg = '';
let hdrImg = '';
let kmImg = '';
const disk = (d: Disk) => join(dir, `${d}.img`);

/** The guest root: the usual init and actions, plus the three layers for the layered boot. */
function makeRootImage(): string {
  const tree = join(dir, 'tree');
  makeGuestRoot(tree, token, {
    probe: PROBE_ACTION,
    resume: 'echo "RESUME=$(cat /sys/power/resume)"',
    dm: 'for d in /sys/block/dm-*; do echo "DM=$(cat $d/dm/name) $(cat $d/dm/uuid) ro=$(cat $d/ro)"; done',
    // Runs on until the hibernation, and again from there when the next boot resumes the image.
    hibernate: 'swapon /dev/vdb && echo SWAP-ON; echo disk > /sys/power/state; echo "AFTER-HIBERNATE token=$(cat /token)"',
  });
  // The same root without the layer files: the upper of the boot whose layers are on a LUKS device.
  makeExt4(tree, join(dir, 'plain.ext4'), { sizeMB: 32 });
  const trees = makeLayerTrees(join(dir, 'layers'), token);
  for (const name of ['base', 'server', 'extra'] as const) makeSquashfs(trees[name], join(tree, `${name}.sqsh`));
  const image = join(dir, 'tools/root.ext4');
  makeExt4(tree, image, { ...IDS.root, sizeMB: 32 });
  return image;
}

/** The prep boot: blank disks in, LUKS/LVM/RAID disks holding the guest root out. */
async function prepareDisks(): Promise<void> {
  const tools = join(dir, 'tools');
  mkdirSync(tools, { recursive: true });
  makeRootImage();
  copyFileSync(join(import.meta.dir, 'storage/prep.sh'), join(tools, 'prep.sh'));
  writeFileSync(join(tools, 'pass'), PASS);
  writeFileSync(join(tools, 'kmpass'), KM_PASS);
  copyFileSync(join(dir, 'root.key'), join(tools, 'root.key'));
  writeFileSync(join(tools, 'ids'), `LUKS_UUID=${ID.luks}\nLUKS2_UUID=${ID.lukslvm}\nMD_UUID=${ID.md}\nMD5_UUID=${ID.md5}\nLVLUKS_UUID=${ID.lvluks}\nHDR_UUID=${ID.hdr}\n`);
  // Labelled: the key device of rd.luks.key=/root.key:LABEL=KEYS.
  run(['mke2fs', '-t', 'ext4', '-q', '-F', '-L', 'KEYS', '-d', tools, join(dir, 'tools.img'), '64M']);
  for (const d of DISKS) run(['truncate', '-s', '80M', disk(d)]);
  const r = await boot({
    initrd: img,
    append: 'initramsys',
    disks: [join(dir, 'tools.img'), ...DISKS.map(disk)].map((file) => ({ file })),
    interact: [{
      when: /initramsys: [^]*# /,
      text: 'modprobe virtio_blk; until [ -b /dev/vdk ]; do sleep 0.2; done; modprobe ext4; ' +
        'mount -t ext4 /dev/vda /mnt && sh /mnt/prep.sh; echo PREP-RC=$?; poweroff -f\n',
    }],
    until: /PREP-RC=\d+/,
    timeoutMs: 2 * TIMEOUT,
  });
  if (!/PREP-RC=0/.test(r.console)) throw new Error(`prep boot failed:\n${r.console.slice(-3000)}`);
  // The detached header the prep boot wrote onto the tools disk, read back without mounting.
  run(['debugfs', '-R', `dump /hdr.img ${join(dir, 'vdh.hdr')}`, join(dir, 'tools.img')]);
}

/**
 * An image for a base whose /etc/default/keyboard says German: the file is bind-mounted over the
 * host's in a mount namespace of the build alone (nothing changes outside it).
 */
function buildKeymapImage(out: string): string {
  writeFileSync(join(dir, 'keyboard'), 'XKBMODEL="pc105"\nXKBLAYOUT="de"\nXKBVARIANT=""\nXKBOPTIONS=""\n');
  run(['unshare', '-m', 'sh', '-c', 'mount --bind "$1" /etc/default/keyboard && shift && exec "$@"', 'sh', join(dir, 'keyboard'),
    CLI, '--kernel', kernel!.version, '--force', '--add', 'crypt,keymap', out]);
  return out;
}

const bootOn = (disks: Disk[], append: string, more: Partial<BootOptions> = {}) =>
  boot({ initrd: img, append: `${append} ${SLOW}`, disks: disks.map((d) => ({ file: disk(d) })), until: END, timeoutMs: TIMEOUT, ...more });
const typePass = (...words: string[]) => words.map((w) => ({ when: PROMPT, text: `${w}\n` }));
const stateOf = (consoleText: string) => section(consoleText, 'state').trim().split('\n');

describe.if(canBoot)('complex storage (QEMU)', () => {
  beforeAll(async () => {
    dir = tempDir('storage');
    token = randomToken();
    img = buildImage(join(dir, 'storage.img'), '--add', 'crypt,lvm,mdraid,resume');
    // Debian's convention: the root's LUKS device in /etc/crypttab, no rd.luks parameter at all.
    writeFileSync(join(dir, 'crypttab'), `# <target> <source> <key> <options>\nvda_crypt UUID=${ID.luks} none luks,discard\n`);
    tabImg = buildImage(join(dir, 'tab.img'), '--add', 'crypt', '--include', `${join(dir, 'crypttab')}:/etc/crypttab`);
    writeFileSync(join(dir, 'root.key'), 'a key file, not a passphrase\n');
    writeFileSync(join(dir, 'crypttab-key'), `root_crypt UUID=${ID.luks} /etc/keys/root.key luks\n`);
    keyImg = buildImage(join(dir, 'key.img'), '--add', 'crypt', '--include', `${join(dir, 'crypttab-key')}:/etc/crypttab`,
      '--include', `${join(dir, 'root.key')}:/etc/keys/root.key`);
    kmImg = buildKeymapImage(join(dir, 'km.img'));
    await prepareDisks();
    // The data disk alone in crypttab; its header is a file of the image.
    writeFileSync(join(dir, 'crypttab-hdr'), 'hdr_crypt /dev/vda none luks,header=/etc/keys/vdh.hdr\n');
    hdrImg = buildImage(join(dir, 'hdr-initrd.img'), '--add', 'crypt', '--include', `${join(dir, 'crypttab-hdr')}:/etc/crypttab`,
      '--include', `${join(dir, 'vdh.hdr')}:/etc/keys/vdh.hdr`);
  });

  test('LUKS2 root by rd.luks.uuid: a prompt naming the device, the passphrase never echoed nor recorded', async () => {
    const r = await bootOn(['luks'], `root=/dev/mapper/luks-${ID.luks} rd.luks.uuid=${ID.luks}`, { interact: typePass(PASS) });
    expect(section(r.console, 'token').trim()).toBe(token);
    // The ciphers the kernel asks for (at its start and at the unlock) are cold modules: the image's
    // /sbin/modprobe decompresses them, so the kernel never refuses a compressed file on the console.
    expect(r.console).not.toContain('Invalid ELF header magic');
    expect(r.console).toMatch(new RegExp(`Enter passphrase for /dev/vda \\(luks-${ID.luks}\\): `));
    expect(section(r.console, 'mounts')).toContain(`/dev/mapper/luks-${ID.luks} / ext4 ro`);
    expect(stateOf(r.console)).toContain(`luks=luks-${ID.luks} /dev/vda passphrase`);
    expect(r.console).not.toContain(PASS);
  });

  test('wrong passphrases: three tries, then the fatal line and a rescue shell; the state holds no passphrase', async () => {
    const r = await bootOn(['luks'], `root=/dev/mapper/croot cryptdevice=UUID=${ID.luks}:croot`, {
      interact: [...typePass('wrong-1', 'wrong-2', 'wrong-3'), { when: RESCUE, text: 'cat /run/ruckusrd/state; echo STATE-END\n' }],
      until: /STATE-END\n/,
    });
    expect(r.console.match(/wrong passphrase for \/dev\/vda \(croot\), try \d of 3/g)?.length).toBe(3);
    expect(r.fatal).toBe('ruckusrd: fatal: cannot unlock /dev/vda (croot): wrong passphrase 3 times');
    expect(r.console).toMatch(/fatal=cannot unlock \/dev\/vda \(croot\)/);
    expect(r.console).not.toMatch(/wrong-\d/);
  });

  test("Debian's /etc/crypttab: the root's entry opened under its name, with no rd.luks parameter", async () => {
    const r = await boot({ initrd: tabImg, append: `root=/dev/mapper/vda_crypt test.action=dm ${SLOW}`, disks: [{ file: disk('luks') }],
      until: END, timeoutMs: TIMEOUT, interact: typePass(PASS) });
    expect(r.console).toContain('Enter passphrase for /dev/vda (vda_crypt): ');
    expect(section(r.console, 'mounts')).toContain('/dev/mapper/vda_crypt / ext4 ro');
    expect(stateOf(r.console)).toContain('luks=vda_crypt /dev/vda passphrase');
    // The device stays open after switch_root, under the name systemd and cryptdisks expect.
    expect(section(r.console, 'action')).toMatch(new RegExp(`DM=vda_crypt CRYPT-LUKS2-${ID.luks.replaceAll('-', '')}-vda_crypt`));
  });

  test('a key file in the image (crypttab): no prompt', async () => {
    const r = await boot({ initrd: keyImg, append: `root=/dev/mapper/root_crypt ${SLOW}`, disks: [{ file: disk('luks') }], until: END, timeoutMs: TIMEOUT });
    expect(r.console).not.toContain('passphrase');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(stateOf(r.console)).toContain('luks=root_crypt /dev/vda keyfile');
  });

  test('root=/dev/mapper/VG-LV with resume= on a swap LV: both activated, resume handed over before the root', async () => {
    const r = await bootOn(['lvm'], 'root=/dev/mapper/rvg-root resume=/dev/rvg/swap test.action=resume');
    expect(section(r.console, 'mounts')).toContain('/dev/mapper/rvg-root / ext4 ro');
    const state = stateOf(r.console);
    expect(state).toEqual(expect.arrayContaining(['lvm=rvg/root', 'lvm=rvg/swap']));
    const resume = state.findIndex((l) => l.startsWith('resume=/dev/rvg/swap /dev/rvg/swap '));
    expect(resume).toBeGreaterThanOrEqual(0);
    expect(resume).toBeLessThan(state.indexOf('root=/dev/mapper/rvg-root'));
    const majmin = state[resume]!.split(' ')[2]!;
    expect(section(r.console, 'action')).toContain(`RESUME=${majmin}`);
  });

  test('root=/dev/VG/LV alone activates that LV and no other', async () => {
    const r = await bootOn(['lvm'], 'root=/dev/rvg/root');
    expect(section(r.console, 'mounts')).toContain('/dev/rvg/root / ext4 ro');
    const lvm = stateOf(r.console).filter((l) => l.startsWith('lvm='));
    expect(lvm).toEqual(['lvm=rvg/root']);
  });

  test("LVM on LUKS (Debian installer's layout): any LUKS device unlocked, then its LV from root=", async () => {
    const r = await bootOn(['lukslvm'], 'root=/dev/cvg/root', { interact: typePass(PASS) });
    expect(r.console).toContain(`Enter passphrase for /dev/vda (luks-${ID.lukslvm}): `);
    expect(section(r.console, 'mounts')).toContain('/dev/cvg/root / ext4 ro');
    expect(stateOf(r.console)).toEqual(expect.arrayContaining([`luks=luks-${ID.lukslvm} /dev/vda passphrase`, 'lvm=cvg/root']));
  });

  test('RAID1 root by root=UUID=: assembled with mdadm --assemble --scan, no udev', async () => {
    const r = await bootOn(['md1', 'md2'], `root=UUID=${IDS.root.uuid}`);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/md\S+ \/ ext4 ro/m);
    const state = stateOf(r.console);
    expect(state.filter((l) => l.startsWith('md='))).toEqual([expect.stringMatching(/^md=\/dev\/md\S+ raid1$/)]);
    expect(state.filter((l) => l.startsWith('md_degraded='))).toEqual([]);
  });

  test('RAID5 root (three members): its personality (raid456, cold) loaded on the kernel\'s own request', async () => {
    // md_step loads md_mod and raid1 itself; raid5's module comes through the kernel's
    // request_module("md-level-5"), which the image's /sbin/modprobe resolves and decompresses.
    const r = await bootOn(['md5a', 'md5b', 'md5c'], `root=UUID=${IDS.root.uuid}`);
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'mounts')).toMatch(/^\/dev\/md\S+ \/ ext4 ro/m);
    const state = stateOf(r.console);
    expect(state.filter((l) => l.startsWith('md='))).toEqual([expect.stringMatching(/^md=\/dev\/md\S+ raid5$/)]);
    expect(state.filter((l) => l.startsWith('md_degraded='))).toEqual([]);
    expect(r.console).not.toContain('Invalid ELF header magic');
  });

  test('RAID1 with one member missing boots degraded, saying so', async () => {
    // The wait is part of this test (a degraded start after half of it), so it is given, not SLOW's.
    const r = await boot({ initrd: img, append: `root=UUID=${IDS.root.uuid} rootdelay=40`, disks: [{ file: disk('md2') }], until: END, timeoutMs: TIMEOUT });
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(r.console).toMatch(/ruckusrd: \/dev\/md\S+ runs degraded: 1 member\(s\) missing/);
    expect(stateOf(r.console)).toContainEqual(expect.stringMatching(/^md_degraded=\/dev\/md\S+ 1$/));
  });

  test('sqsh_layers on a root on LVM: three layers, the upper on the LV', async () => {
    const r = await bootOn(['lvm'], 'root=/dev/rvg/root rw sqsh_layers=extra:server:base test.action=probe test.arg=lvm');
    expect(section(r.console, 'token').trim()).toBe(token);
    const action = section(r.console, 'action');
    expect(action).toContain('WHO=extra');
    expect(action).toContain('DELETED=gone');
    expect(action).toContain('WRITE=ok');
    expect(stateOf(r.console)).toEqual(expect.arrayContaining(['mode=layered', 'lvm=rvg/root']));
  });

  test('LUKS on LVM, found with no rd.luks name: rd.luks.key on another disk (no prompt) and rd.luks.options=readonly', async () => {
    const r = await boot({ initrd: img, until: END, timeoutMs: TIMEOUT, disks: [{ file: disk('lvluks') }, { file: join(dir, 'tools.img') }],
      append: `root=/dev/mapper/luks-${ID.lvluks} rd.luks.key=/root.key:LABEL=KEYS rd.luks.options=readonly test.action=dm ${SLOW}` });
    expect(r.console).not.toContain('passphrase');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(section(r.console, 'mounts')).toContain(`/dev/mapper/luks-${ID.lvluks} / ext4 ro`);
    expect(stateOf(r.console)).toEqual(expect.arrayContaining([`luks=luks-${ID.lvluks} /dev/dm-0 keyfile`, 'lvm=lvg/crypt']));
    const dm = section(r.console, 'action');
    expect(dm).toMatch(new RegExp(`DM=luks-${ID.lvluks} CRYPT-LUKS2-\\S+ ro=1`));
    expect(dm).toMatch(/DM=lvg-crypt LVM-\S+ ro=0/);
    // The key's disk was let go: nothing of it is mounted after switch_root.
    expect(section(r.console, 'mounts')).not.toContain('/dev/vdb');
  });

  test('a 3-layer sqsh_layers root whose layers are on a LUKS device (sqsh_layerdev=), the upper on a plain disk', async () => {
    const r = await boot({ initrd: img, until: END, timeoutMs: TIMEOUT, interact: typePass(PASS),
      disks: [{ file: join(dir, 'plain.ext4') }, { file: disk('luks') }],
      append: `root=/dev/vda rw sqsh_layers=extra:server:base sqsh_layerdev=/dev/mapper/luks-${ID.luks} rd.luks.uuid=${ID.luks} test.action=probe test.arg=luks ${SLOW}` });
    expect(section(r.console, 'token').trim()).toBe(token);
    const action = section(r.console, 'action');
    expect(action).toContain('WHO=extra');
    expect(action).toContain('DELETED=gone');
    expect(action).toContain('WRITE=ok');
    expect(stateOf(r.console)).toEqual(expect.arrayContaining(['mode=layered', `luks=luks-${ID.luks} /dev/vdb passphrase`,
      `layerdev=/dev/mapper/luks-${ID.luks} /dev/mapper/luks-${ID.luks}`]));
  });

  test('a detached LUKS header (crypttab header=), with rd.luks.options=readonly added to the entry', async () => {
    const r = await boot({ initrd: hdrImg, until: END, timeoutMs: TIMEOUT, interact: typePass(PASS), disks: [{ file: disk('hdr') }],
      append: `root=/dev/mapper/hdr_crypt rd.luks.options=readonly test.action=dm ${SLOW}` });
    expect(r.console).toContain('Enter passphrase for /dev/vda (hdr_crypt): ');
    expect(section(r.console, 'mounts')).toContain('/dev/mapper/hdr_crypt / ext4 ro');
    expect(stateOf(r.console)).toContain('luks=hdr_crypt /dev/vda passphrase');
    expect(section(r.console, 'action')).toMatch(new RegExp(`DM=hdr_crypt CRYPT-LUKS2-${ID.hdr.replaceAll('-', '')}-hdr_crypt ro=1`));
  });

  test("a passphrase typed on the VT keyboard with the base's German keymap (QEMU sendkey, the prompt on every console)", async () => {
    // Serial input never passes through a keymap: the keys go to QEMU's PS/2 keyboard through the
    // monitor (Ctrl-A c switches the serial line to it and back). console=tty0 makes the VT an
    // active console, and ttyS0 last keeps /dev/console (and this test's view) on the serial line;
    // crypt.sh asks on every active console and takes the first answer.
    const keys = `\x01c${KM_KEYS.map((k) => `sendkey ${k}\n`).join('')}\x01c`;
    // A wrong passphrase (the keys read through the US map) ends the boot at once.
    const r = await boot({ initrd: kmImg, until: /=== end\n|wrong passphrase/, timeoutMs: TIMEOUT, monitor: true, disks: [{ file: disk('luks') }],
      interact: [{ when: PROMPT, text: keys }],
      append: `root=/dev/mapper/luks-${ID.luks} rd.luks.uuid=${ID.luks} console=tty0 console=ttyS0 ${SLOW}` });
    expect(r.console).not.toContain('wrong passphrase');
    expect(section(r.console, 'token').trim()).toBe(token);
    expect(stateOf(r.console)).toEqual(expect.arrayContaining(['keymap=de', `luks=luks-${ID.luks} /dev/vda passphrase`]));
    expect(r.console).not.toContain(KM_PASS);
  });

  test('hibernate and resume: the second boot hands the swap to the kernel, which restores the first system', async () => {
    const swap = join(dir, 'swap.img');
    run(['truncate', '-s', '128M', swap]);
    run(['mkswap', swap]);
    const opts = {
      initrd: img, append: `root=/dev/vda resume=/dev/vdb test.action=hibernate ${SLOW}`, memoryMB: 256, timeoutMs: TIMEOUT,
      disks: [{ file: join(dir, 'tools/root.ext4') }, { file: swap }],
    };
    const first = await boot(opts);
    expect(section(first.console, 'token').trim()).toBe(token);
    expect(first.console).toContain('SWAP-ON');
    expect(first.console).not.toContain('AFTER-HIBERNATE');
    const second = await boot({ ...opts, until: END });
    expect(second.console).toMatch(/ruckusrd: resuming from \/dev\/vdb \(\/dev\/vdb, \d+:\d+\)/);
    // The restored system goes on where it hibernated; this boot's /init never mounted a root.
    expect(second.console).toContain(`AFTER-HIBERNATE token=${token}`);
    expect(second.console).not.toContain('ruckusrd: mounted');
  });
});
