// SPDX-License-Identifier: GPL-2.0-or-later
// The superblock and partition-table readers of the device lookup (templates/lib/blockid.sh,
// parttable.sh; issue 11) under busybox sh and dash, on filesystems and disks made here as files
// (mkfs -d / mkfs.vfat -C / sfdisk, nothing mounted), checked against host blkid -p (superblocks)
// and sfdisk -d (partition tables). Finding the root among 64 partitions in a real boot is
// test/boot/discovery.boot.test.ts.
import { beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHELLS } from './shells.ts';
import { missing, testNeeding } from '../unit/need.ts';
import { tempDir } from '../temp-dirs.ts';

const ROOT = join(import.meta.dir, '../..');
const dir = tempDir('blockid');

function sh(shell: string[], body: string): string {
  const script = `set -u
. ${ROOT}/templates/lib/blockid.sh
. ${ROOT}/templates/lib/parttable.sh
BI_DEV=${dir}/dev; PT_SYS=${dir}/sys
${body}
`;
  const p = Bun.spawnSync([...shell, '-c', script], { stdout: 'pipe', stderr: 'pipe' });
  return p.stdout.toString() + p.stderr.toString();
}

function run(argv: string[], stdin?: string): string {
  const p = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe', stdin: stdin === undefined ? undefined : new TextEncoder().encode(stdin) });
  if (p.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${p.stderr}`);
  return p.stdout.toString();
}

/** blkid's view of a superblock: TYPE, LABEL and UUID. */
function blkid(file: string): { TYPE?: string; LABEL?: string; UUID?: string } {
  const p = Bun.spawnSync(['blkid', '-p', '-o', 'export', file], { stdout: 'pipe' });
  const kv = Object.fromEntries(p.stdout.toString().trim().split('\n').filter(Boolean).map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]));
  return { TYPE: kv.TYPE, LABEL: kv.LABEL, UUID: kv.UUID };
}

/** Our hex fields as blkid prints them. */
function asText(type: string, label: string, uuid: string): { TYPE?: string; LABEL?: string; UUID?: string } {
  const text = (h: string) => Buffer.from(h, 'hex').toString('utf8');
  let u: string | undefined;
  if (!uuid) u = undefined;
  else if (type === 'crypto_LUKS') u = text(uuid);
  else if (type === 'vfat') u = `${uuid.slice(0, 4)}-${uuid.slice(4)}`.toUpperCase();
  else u = [8, 4, 4, 4, 12].reduce((acc, n) => ({ s: acc.s + uuid.slice(acc.i, acc.i + n) + (acc.i + n < 32 ? '-' : ''), i: acc.i + n }), { s: '', i: 0 }).s;
  return { TYPE: type || undefined, LABEL: label ? text(label) : undefined, UUID: u };
}

interface Image { name: string; tool: string; make: (path: string) => void }
const tree = join(dir, 'tree');
const IMAGES: Image[] = [
  { name: 'ext2', tool: 'mke2fs', make: (p) => run(['mke2fs', '-q', '-F', '-t', 'ext2', '-L', 'old-two', '-d', tree, p, '2M']) },
  { name: 'ext3', tool: 'mke2fs', make: (p) => run(['mke2fs', '-q', '-F', '-t', 'ext3', '-L', 'three', p, '4M']) },
  { name: 'ext4', tool: 'mke2fs', make: (p) => run(['mke2fs', '-q', '-F', '-t', 'ext4', '-L', 'sixteen-chars-ok', '-U', '3c5e7a9b-1d2f-4a6c-8e0b-2d4f6a8c0e1a', '-d', tree, p, '4M']) },
  { name: 'ext4-nolabel', tool: 'mke2fs', make: (p) => run(['mke2fs', '-q', '-F', '-t', 'ext4', p, '4M']) },
  { name: 'vfat16', tool: 'mkfs.vfat', make: (p) => run(['mkfs.vfat', '-C', '-n', 'MYFAT', '-i', '0a0b0c0d', p, '8192']) },
  { name: 'vfat32', tool: 'mkfs.vfat', make: (p) => run(['mkfs.vfat', '-F', '32', '-C', '-n', 'BIGFAT', p, '40000']) },
  { name: 'vfat-nolabel', tool: 'mkfs.vfat', make: (p) => run(['mkfs.vfat', '-C', p, '4096']) },
  { name: 'swap', tool: 'mkswap', make: (p) => { run(['truncate', '-s', '4M', p]); run(['mkswap', '-L', 'swp', '-U', '0b7d3c1a-2e4f-4a6b-8c9d-0e1f2a3b4c5d', p]); } },
  { name: 'erofs', tool: 'mkfs.erofs', make: (p) => run(['mkfs.erofs', '--quiet', '-U', '5f1f9a3e-7c1b-4f5e-9c2a-1d2e3f4a5b6c', p, tree]) },
  { name: 'squashfs', tool: 'mksquashfs', make: (p) => run(['mksquashfs', tree, p, '-quiet', '-noappend', '-all-root']) },
  { name: 'xfs', tool: 'mkfs.xfs', make: (p) => run(['mkfs.xfs', '-q', '-L', 'xfsl', '-m', 'uuid=8a3c6e1f-4b2d-4c7e-9f1a-2b3c4d5e6f70', '-d', 'file,name=' + p + ',size=300m']) },
  { name: 'luks2', tool: 'cryptsetup', make: (p) => { run(['truncate', '-s', '20M', p]); run(['cryptsetup', '-q', 'luksFormat', '--type', 'luks2', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--label', 'cryptl', '--uuid', '1b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e01', '--key-file', '-', p], 'pw'); } },
  { name: 'luks1', tool: 'cryptsetup', make: (p) => { run(['truncate', '-s', '20M', p]); run(['cryptsetup', '-q', 'luksFormat', '--type', 'luks1', '--pbkdf-force-iterations', '1000', '--uuid', '2b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e02', '--key-file', '-', p], 'pw'); } },
];

beforeAll(() => {
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'file'), 'hello\n');
  mkdirSync(join(dir, 'dev'));
  for (const img of IMAGES) if (missing(img.tool).length === 0) img.make(join(dir, 'dev', img.name));
});

for (const [name, shell] of SHELLS) {
  describe(`blockid.sh under ${name}`, () => {
    for (const img of IMAGES) {
      testNeeding(missing(img.tool), `${img.name}: TYPE, LABEL and UUID as blkid -p reads them`, () => {
        const out = sh(shell, `l=$(bi_dump "$BI_DEV/${img.name}"); bi_parse $l; echo "T=$BI_TYPE L=$BI_LABEL U=$BI_UUID"`);
        const m = /T=(\S*) L=(\S*) U=(\S*)/.exec(out);
        expect(m).not.toBeNull();
        expect(asText(m![1]!, m![2]!, m![3]!)).toEqual(blkid(join(dir, 'dev', img.name)));
      });
    }

    testNeeding(missing('mke2fs'), 'bi_by_fs: the device with the exact LABEL= or UUID= among several, in one read; a miss fails', () => {
      const devs = ['ext2', 'ext4-nolabel', 'ext3', 'ext4'].map((d) => `"$BI_DEV/${d}"`).join(' ');
      const find = (spec: string) => sh(shell, `bi_by_fs '${spec}' ${devs}; echo "rc=$? $REPLY $BI_FOUND"`).trim().replaceAll(`${dir}/dev/`, '');
      expect(find('LABEL=sixteen-chars-ok')).toBe('rc=0 ext4 ext4 ext4');
      expect(find('LABEL=three')).toBe('rc=0 ext3 ext3 ext3');
      expect(find('LABEL=thre')).toBe('rc=1');
      expect(find('UUID=3C5E7A9B-1D2F-4A6C-8E0B-2D4F6A8C0E1A')).toBe('rc=0 ext4 ext4 ext4');
      expect(find('UUID=3c5e7a9b-1d2f-4a6c-8e0b-2d4f6a8c0e1b')).toBe('rc=1');
    });

    // The try made while drivers load (no device yet) already turns the value into its printed
    // form: the try after the disk appears only reads (bi_hex broken after the first try changes
    // nothing), and another value is never taken for the kept one.
    testNeeding(missing('mke2fs'), 'bi_by_fs: the value\'s printed form is kept from a try without devices; another value is not taken for it', () => {
      const devs = ['ext2', 'ext3', 'ext4'].map((d) => `"$BI_DEV/${d}"`).join(' ');
      const out = sh(shell, `PT_SYS=${dir}/nosys; bi_by_fs LABEL=three; echo "rc=$?"; PT_SYS=${dir}/sys
        bi_hex() { REPLY=00; }; bi_lower() { REPLY=00; }
        bi_by_fs LABEL=three ${devs}; echo "rc=$? $REPLY"
        bi_by_fs LABEL=sixteen-chars-ok ${devs}; echo "rc=$?"`).trim().replaceAll(`${dir}/dev/`, '');
      expect(out).toBe('rc=1\nrc=0 ext3\nrc=1');
      const mixed = sh(shell, `for s in LABEL=three UUID=3c5e7a9b-1d2f-4a6c-8e0b-2d4f6a8c0e1a LABEL=old-two LABEL=three; do
        bi_by_fs "$s" ${devs}; echo "$REPLY"; done`).trim().replaceAll(`${dir}/dev/`, '');
      expect(mixed).toBe('ext3\next4\next2\next3');
    });

    testNeeding(missing('mke2fs', 'cryptsetup', 'mkfs.vfat'), 'bi_by_fs: LUKS and FAT UUIDs; a short read before the match makes the answer unsure (2)', () => {
      writeFileSync(join(dir, 'dev', 'short'), 'x'.repeat(1000));
      const find = (spec: string, devs: string[]) =>
        sh(shell, `bi_by_fs '${spec}' ${devs.map((d) => `"$BI_DEV/${d}"`).join(' ')}; echo "rc=$? $REPLY"`).trim().replaceAll(`${dir}/dev/`, '');
      expect(find('UUID=1b1c0a4e-0d5c-4f0e-9a51-6a2c3b4d5e01', ['ext4', 'luks2'])).toBe('rc=0 luks2');
      expect(find('LABEL=cryptl', ['ext4', 'luks2'])).toBe('rc=0 luks2');
      expect(find('UUID=0A0B-0C0D', ['ext4', 'vfat16'])).toBe('rc=0 vfat16');
      expect(find('LABEL=MYFAT', ['ext4', 'vfat16'])).toBe('rc=0 vfat16');
      expect(find('LABEL=three', ['short', 'ext3'])).toBe('rc=2');
    });

    test('bi_candidates: from sysfs and /dev globs, without CD drives, stubs, empty devices and partitioned disks', () => {
      // /sys/block/NAME/{size,NAMEn/size} and /dev/NAME as files; sizes in 512-byte sectors.
      const sys = join(dir, 'csys');
      const dev = join(dir, 'cdev');
      rmSync(sys, { recursive: true, force: true });
      rmSync(dev, { recursive: true, force: true });
      mkdirSync(dev);
      const disk = (name: string, size: number, parts: [string, number][] = []) => {
        mkdirSync(join(sys, 'block', name), { recursive: true });
        writeFileSync(join(sys, 'block', name, 'size'), `${size}\n`);
        writeFileSync(join(dev, name), '');
        for (const [p, s] of parts) {
          mkdirSync(join(sys, 'block', name, p));
          writeFileSync(join(sys, 'block', name, p, 'size'), `${s}\n`);
          writeFileSync(join(sys, 'block', name, p, 'partition'), `${p.replace(/^.*\D/, '')}\n`);
          writeFileSync(join(dev, p), '');
        }
      };
      // vda: an MBR disk with its extended partition's 2-sector stub (vda2) and a logical vda5.
      disk('vda', 614400, [['vda1', 8192], ['vda2', 2], ['vda5', 8192], ['vda10', 8192]]);
      disk('sr0', 2097150);
      disk('loop0', 0);
      disk('dm-0', 8192);
      // nvme0n1p1 is nvme0n1's, nvme0n10 a namespace of its own; mmcblk0boot0 is a disk of its own.
      disk('nvme0n1', 16384, [['nvme0n1p1', 8192]]);
      disk('nvme0n10', 16384);
      disk('mmcblk0', 16384);
      disk('mmcblk0boot0', 8192);
      disk('sda', 7);
      const cands = () => sh(shell, `PT_SYS=${sys}; BI_DEV=${dev}; bi_candidates; echo "$REPLY"`).trim().replaceAll(`${dev}/`, '');
      expect(cands()).toBe('dm-0 mmcblk0 mmcblk0boot0 nvme0n1p1 nvme0n10 vda1 vda10 vda5');
      // A GPT disk (no stub among 1-4) takes every partition by one glob.
      rmSync(join(sys, 'block/vda/vda2'), { recursive: true });
      expect(cands()).toBe('dm-0 mmcblk0 mmcblk0boot0 nvme0n1p1 nvme0n10 vda1 vda10 vda2 vda5');
      // A disk whose nodes are not made yet is left to the next try, never passed on as a pattern.
      rmSync(join(dev, 'nvme0n1p1'));
      rmSync(join(dev, 'mmcblk0'));
      expect(cands()).toBe('dm-0 mmcblk0boot0 nvme0n10 vda1 vda10 vda2 vda5');
      // No block device yet (drivers still loading): nothing, and no fork.
      rmSync(join(sys, 'block'), { recursive: true });
      mkdirSync(join(sys, 'block'));
      expect(cands()).toBe('');
    });

    // Every type the word dump reads, found among all the images by the LABEL and UUID blkid -p
    // reads, with its type; the reads counted: one head for all devices (BI_HEAD bytes each), and a
    // second (4 KiB of one device) only for swap and vfat, whose magic or boot sector the words lack.
    for (const key of ['LABEL', 'UUID'] as const) {
      testNeeding(missing('mke2fs'), `bi_by_fs ${key}=: every type read here, with its type, in one head (vfat, swap: one more)`, () => {
        const made = IMAGES.filter((i) => missing(i.tool).length === 0);
        const devs = made.map((i) => `"$BI_DEV/${i.name}"`).join(' ');
        let tried = 0;
        for (const img of made) {
          const want = blkid(join(dir, 'dev', img.name));
          const value = want[key];
          if (!value || !want.TYPE) continue;
          tried++;
          const calls = join(dir, `calls-${img.name}`);
          rmSync(calls, { force: true });
          const out = sh(shell, `head() { printf "%s\\n" "$*" >> ${calls}; command head "$@"; }
            bi_by_fs '${key}=${value}' ${devs}; echo "rc=$? $BI_FOUND"`).trim().replaceAll(`${dir}/dev/`, '');
          expect(out).toBe(`rc=0 ${img.name} ${want.TYPE}`);
          const reads = readFileSync(calls, 'utf8').trim().split('\n');
          const full = ['swap', 'vfat'].includes(want.TYPE) ? [`-q -c 4096 ${dir}/dev/${img.name}`] : [];
          expect(reads).toEqual([`-q -c 1160 ${made.map((i) => `${dir}/dev/${i.name}`).join(' ')}`, ...full]);
        }
        expect(tried).toBeGreaterThanOrEqual(key === 'LABEL' ? 5 : 8);
      });
    }

    test('bi_nth: the Nth word, or nothing past the end (shift past it would end the shell)', () => {
      expect(sh(shell, 'bi_nth 3 a b c; echo "$? $REPLY"; bi_nth 4 a b c; echo "$? $REPLY"; echo alive').trim()).toBe('0 c\n1 \nalive');
    });

    test('bi_glob: how the word dump prints bytes at an offset, in either byte order', () => {
      const glob = (order: string, off: number, hex: string) => sh(shell, `BI_ORDER=${order}; bi_glob ${off} ${hex}; echo "$REPLY"`).trim();
      expect(glob('little', 0, '4c554b53babe0001')).toBe('534b554c 0100beba');
      expect(glob('big', 0, '4c554b53babe0001')).toBe('4c554b53 babe0001');
      expect(glob('little', 3, 'aabbccdd')).toBe('aa?????? ??ddccbb');
      expect(glob('big', 3, 'aabbccdd')).toBe('??????aa bbccdd??');
      expect(glob('little', 1080, '53ef')).toBe('????ef53');
      // An odd digit left over is no byte (a value from the command line is not always hex).
      expect(glob('little', 0, 'aab')).toBe('??????aa');
    });

    testNeeding(missing('mke2fs'), 'bi_hex: printable ASCII without a fork, other bytes through hexdump', () => {
      expect(sh(shell, `bi_hex ' ~aZ\\'; echo "$REPLY"; bi_hex 'é'; echo "$REPLY"`).trim()).toBe('207e615a5c\nc3a9');
    });
  });

  describe(`parttable.sh under ${name}`, () => {
    /** A fake /sys/block for one disk file whose partitions are numbered `parts`. */
    function fakeSys(disk: string, file: string, parts: number[], names: Record<number, string> = {}) {
      const sys = join(dir, 'sys');
      rmSync(sys, { recursive: true, force: true });
      mkdirSync(join(sys, 'block', disk, 'queue'), { recursive: true });
      mkdirSync(join(sys, 'class/block'), { recursive: true });
      writeFileSync(join(sys, 'block', disk, 'queue/logical_block_size'), '512\n');
      writeFileSync(join(sys, 'block', disk, 'uevent'), `MAJOR=254\nMINOR=0\nDEVNAME=${disk}\nDEVTYPE=disk\n`);
      rmSync(join(dir, 'dev', disk), { force: true });
      symlinkSync(file, join(dir, 'dev', disk));
      for (const n of parts) {
        const p = join(sys, 'block', disk, `${disk}${n}`);
        mkdirSync(p);
        writeFileSync(join(p, 'partition'), `${n}\n`);
        const uevent = `MAJOR=254\nMINOR=${n}\nDEVNAME=${disk}${n}\nDEVTYPE=partition\nPARTN=${n}\n${names[n] ? `PARTNAME=${names[n]}\n` : ''}`;
        writeFileSync(join(p, 'uevent'), uevent);
        symlinkSync(p, join(sys, 'class/block', `${disk}${n}`));
      }
    }
    const sfdiskDump = (file: string) =>
      run(['sfdisk', '-d', file]).split('\n').filter((l) => l.includes(' : ')).map((l) => ({
        n: Number(/(\d+) : /.exec(l)![1]), uuid: /uuid=([0-9A-F-]+)/.exec(l)?.[1], name: /name="([^"]*)"/.exec(l)?.[1],
      }));

    testNeeding(missing('sfdisk'), 'GPT: every PARTUUID sfdisk -d lists finds its partition; PARTLABEL from PARTNAME; misses fail', () => {
      const file = join(dir, 'gpt.img');
      run(['truncate', '-s', '40M', file]);
      const lines = Array.from({ length: 12 }, (_, i) => `size=2MiB, type=linux, name=part-${i + 1}`).join('\n');
      run(['sfdisk', '-q', file], `label: gpt\n${lines}\n`);
      const table = sfdiskDump(file);
      expect(table.length).toBe(12);
      fakeSys('vdb', file, table.map((t) => t.n), Object.fromEntries(table.map((t) => [t.n, t.name!])));
      for (const t of [table[0]!, table[6]!, table[11]!]) {
        const out = sh(shell, `pt_by_partuuid '${t.uuid!.toLowerCase()}'; echo "rc=$? $REPLY"`).trim();
        expect(out).toBe(`rc=0 ${dir}/dev/vdb${t.n}`);
      }
      expect(sh(shell, `pt_by_partuuid '${table[3]!.uuid}'; echo "rc=$? $REPLY"`).trim()).toBe(`rc=0 ${dir}/dev/vdb4`);
      expect(sh(shell, 'pt_by_partuuid 00000000-1111-2222-3333-444444444444; echo "rc=$?"').trim()).toBe('rc=1');
      expect(sh(shell, 'pt_by_partlabel part-1; echo "rc=$? $REPLY"').trim()).toBe(`rc=0 ${dir}/dev/vdb1`);
      expect(sh(shell, 'pt_by_partlabel part-11; echo "rc=$? $REPLY"').trim()).toBe(`rc=0 ${dir}/dev/vdb11`);
      expect(sh(shell, 'pt_by_partlabel part; echo "rc=$?"').trim()).toBe('rc=1');
    });

    // One read of the table: the header and 128 entries from one hexdump (counted); a table of
    // 256 entries lies past that read and is read again where the header says.
    testNeeding(missing('sfdisk'), 'GPT: one hexdump per disk for PARTUUID; a longer table read where the header says', () => {
      for (const entries of [128, 256]) {
        const file = join(dir, `gpt${entries}.img`);
        run(['truncate', '-s', '40M', file]);
        const lines = Array.from({ length: 9 }, () => 'size=2MiB, type=linux').join('\n');
        run(['sfdisk', '-q', file], `label: gpt\ntable-length: ${entries}\n${lines}\n`);
        const table = sfdiskDump(file);
        fakeSys('vdd', file, table.map((t) => t.n));
        const calls = join(dir, `calls-gpt${entries}`);
        rmSync(calls, { force: true });
        const out = sh(shell, `hexdump() { printf "%s\\n" "$*" >> ${calls}; command hexdump "$@"; }
          pt_by_partuuid '${table[8]!.uuid}'; echo "rc=$? $REPLY"`).trim();
        expect(out).toBe(`rc=0 ${dir}/dev/vdd9`);
        const reads = readFileSync(calls, 'utf8').trim().split('\n');
        expect(reads.length).toBe(entries === 128 ? 1 : 2);
        expect(reads[0]).toStartWith('-v -n 17408 ');
      }
    });

    // The GUID's block is found by bisection over the read (entries 1 and 128 are its ends); where
    // the GUID's words first appear elsewhere (here in entry 1's name, UTF-16 "abcdefgh" being
    // partition 2's GUID as stored) the entries are read again and compared field by field.
    testNeeding(missing('sfdisk'), 'GPT: entries 1 and 128 in one read; a GUID whose words appear first outside a GUID field is read again', () => {
      const file = join(dir, 'ends.img');
      rmSync(file, { force: true });
      run(['truncate', '-s', '8M', file]);
      run(['sfdisk', '-q', file], `label: gpt
${file}1 : start=2048, size=2048, type=linux, name="xxxxxxxxabcdefgh", uuid=11111111-2222-3333-4444-555555555555
${file}2 : start=4096, size=2048, type=linux, uuid=00620061-0063-0064-6500-660067006800
${file}128 : start=6144, size=2048, type=linux, uuid=11111111-2222-3333-4444-555555555580
`);
      fakeSys('vdf', file, [1, 2, 128]);
      const find = (uuid: string) => {
        const calls = join(dir, 'calls-ends');
        rmSync(calls, { force: true });
        const out = sh(shell, `hexdump() { printf "%s\\n" "$*" >> ${calls}; command hexdump "$@"; }
          pt_by_partuuid ${uuid}; echo "rc=$? [$REPLY]"`).trim().replace(`${dir}/dev/`, '');
        return `${out} reads=${readFileSync(calls, 'utf8').trim().split('\n').length}`;
      };
      expect(find('11111111-2222-3333-4444-555555555555')).toBe('rc=0 [vdf1] reads=1');
      expect(find('11111111-2222-3333-4444-555555555580')).toBe('rc=0 [vdf128] reads=1');
      expect(find('00620061-0063-0064-6500-660067006800')).toBe('rc=0 [vdf2] reads=2');
      // A miss leaves no node behind (find_device_once would take the disk itself for the root).
      expect(find('11111111-2222-3333-4444-555555555581')).toBe('rc=1 [] reads=1');
    });

    // As for bi_by_fs: the GUID's printed form is kept from a try without disks (bi_glob broken
    // afterwards changes nothing), and another GUID is never taken for it. The usual header is
    // known by its words (bi_wval broken changes nothing).
    testNeeding(missing('sfdisk'), 'GPT: the GUID\'s printed form is kept from a try without disks; another GUID is not taken for it', () => {
      const file = join(dir, 'ends.img');
      fakeSys('vdf', file, [1, 2, 128]);
      const a = '11111111-2222-3333-4444-555555555555';
      const b = '11111111-2222-3333-4444-555555555580';
      const out = sh(shell, `PT_SYS=${dir}/nosys; pt_by_partuuid ${a}; echo "rc=$?"; PT_SYS=${dir}/sys
        pt_by_partuuid ${b}; echo "$REPLY"; pt_by_partuuid ${a}; echo "$REPLY"
        bi_glob() { REPLY=00; }; bi_lower() { REPLY=00; }; bi_wval() { REPLY=0; }
        pt_by_partuuid ${a}; echo "rc=$? $REPLY"`).trim().replaceAll(`${dir}/dev/`, '');
      expect(out).toBe('rc=1\nvdf128\nvdf1\nrc=0 vdf1');
    });

    // A partition is looked for under its usual names first; one named otherwise (sysfs names a
    // partition as its driver does) is still found among the disk's entries by its number.
    test('pt_part_node: a partition by number, under its usual name or another', () => {
      const sys = join(dir, 'pnsys');
      rmSync(sys, { recursive: true, force: true });
      for (const [name, n] of [['dsk2', 2], ['other-name', 3]] as const) {
        mkdirSync(join(sys, 'block/dsk', name), { recursive: true });
        writeFileSync(join(sys, 'block/dsk', name, 'partition'), `${n}\n`);
      }
      mkdirSync(join(sys, 'block/dsk/queue'), { recursive: true });
      const node = (n: number) => sh(shell, `REPLY=; pt_part_node ${sys}/block/dsk ${n}; echo "rc=$? [$REPLY]"`).trim().replace(`${dir}/dev/`, '');
      expect(node(2)).toBe('rc=0 [dsk2]');
      expect(node(3)).toBe('rc=0 [other-name]');
      expect(node(4)).toBe('rc=1 []');
    });

    test('GPT: a disk cut short inside its header is no GPT (no unset word under set -u: PID 1 would end)', () => {
      const file = join(dir, 'cut.img');
      writeFileSync(file, Buffer.concat([Buffer.alloc(512), Buffer.from('EFI PART'), Buffer.alloc(70)]));
      fakeSys('vde', file, [1]);
      expect(sh(shell, 'pt_by_partuuid 6e2a4c8d-0b1f-4e3a-9c5d-7f1a3b5d7e9f; echo "rc=$?"').trim()).toBe('rc=1');
    });

    testNeeding(missing('sfdisk'), 'MBR: SIGNATURE-NN, logical partitions included', () => {
      const file = join(dir, 'mbr.img');
      run(['truncate', '-s', '40M', file]);
      run(['sfdisk', '-q', file], 'label: dos\nlabel-id: 0x1a2b3c4d\nsize=4MiB, type=83\nsize=20MiB, type=5\nsize=4MiB, type=83\nsize=4MiB, type=83\n');
      fakeSys('vdc', file, [1, 2, 5, 6]);
      expect(sh(shell, 'pt_by_partuuid 1a2b3c4d-01; echo "rc=$? $REPLY"').trim()).toBe(`rc=0 ${dir}/dev/vdc1`);
      expect(sh(shell, 'pt_by_partuuid 1A2B3C4D-06; echo "rc=$? $REPLY"').trim()).toBe(`rc=0 ${dir}/dev/vdc6`);
      expect(sh(shell, 'pt_by_partuuid 1a2b3c4e-01; echo "rc=$?"').trim()).toBe('rc=1');
    });
  });
}
