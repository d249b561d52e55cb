// SPDX-License-Identifier: GPL-2.0-or-later
// The applets of a busybox binary, read from its own data instead of running `busybox --list-full`:
// the base's busybox may be for another architecture, on a noexec mount, or hostile, and a build must
// never execute a binary of --base. Busybox embeds two tables (applet_tables.c): `applet_names`, the
// sorted NUL-separated names ("[\0[[\0acpid\0..."), and `applet_install_loc`, one nibble per applet
// (0 /, 1 /bin, 2 /sbin, 3 /usr/bin, 4 /usr/sbin), two applets per byte, low nibble first.

const INSTALL_DIRS = ['', '/bin', '/sbin', '/usr/bin', '/usr/sbin'] as const;
const NAME_RE = /^[a-z0-9_.[-][a-z0-9_.[\]-]*$/;
const MIN_APPLETS = 8;

/**
 * Where busybox 1.35 (Debian 12's) installs the applets that are not in /bin or /usr/bin: the fallback
 * when the install table cannot be found unambiguously in a binary whose names table was read.
 */
const SBIN_135 = new Set(
  ('acpid adjtimex arp blockdev depmod devmem fdisk findfs freeramdisk fstrim getty halt hwclock ifconfig ifdown ifup ' +
    'init insmod ip ipneigh klogd loadkmap logread losetup lsmod mdev mkdosfs mke2fs mkswap modinfo modprobe nameif ' +
    'pivot_root poweroff reboot rmmod route run-init start-stop-daemon sulogin swapoff swapon switch_root sysctl ' +
    'syslogd tc tunctl udhcpc uevent vconfig watchdog').split(' '),
);

/** The names table: the longest run of sorted applet-like names starting with "[\0[[\0" (or "[\0"). */
export function findAppletNames(bin: Uint8Array): string[] | undefined {
  const buf = Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength);
  for (const start of [buf.indexOf('\0[\0[[\0'), buf.indexOf('\0[\0a')]) {
    if (start < 0) continue;
    const names: string[] = [];
    let at = start + 1;
    for (;;) {
      const end = buf.indexOf(0, at);
      if (end <= at) break;
      const name = buf.toString('latin1', at, end);
      if (!NAME_RE.test(name) || (names.length > 0 && name <= names[names.length - 1]!)) break;
      names.push(name);
      at = end + 1;
    }
    if (names.length >= MIN_APPLETS) return names;
  }
  return undefined;
}

/**
 * The install table for `names`: the only window of ceil(n/2) bytes whose nibbles are all install
 * locations, with a 0 (the root) only where the applet is linuxrc or past the last applet. Anything
 * but exactly one such window is undefined: a guess would put switch_root or modprobe in the wrong place.
 */
export function findInstallDirs(bin: Uint8Array, names: readonly string[]): number[] | undefined {
  const len = Math.ceil(names.length / 2);
  const nibbleOk = (v: number, k: number): boolean => v <= 4 && (v !== 0 || k >= names.length || names[k] === 'linuxrc');
  const fits = (at: number): boolean => {
    for (let j = 0; j < len; j++) {
      const b = bin[at + j]!;
      if (!nibbleOk(b & 15, 2 * j) || !nibbleOk(b >> 4, 2 * j + 1)) return false;
    }
    return true;
  };
  let found: number | undefined;
  for (const [from, to] of runsOfSmallNibbles(bin, len)) {
    for (let at = from; at + len <= to; at++) {
      if (!fits(at)) continue;
      if (found !== undefined) return undefined;
      found = at;
    }
  }
  if (found === undefined) return undefined;
  return names.map((_, k) => (bin[found! + (k >> 1)]! >> ((k & 1) * 4)) & 15);
}

const smallNibbles = (b: number): boolean => (b & 15) <= 4 && b >> 4 <= 4;

/**
 * The maximal runs [from, to) of at least `len` bytes whose nibbles are all <= 4, in order: only
 * they can hold the install table. Every such run covers a multiple of `len`, so only those bytes
 * are looked at first; trying each window of the ~2 MiB binary cost ~50 ms of every build.
 */
export function runsOfSmallNibbles(bin: Uint8Array, len: number): [number, number][] {
  const runs: [number, number][] = [];
  if (len < 1) return runs;
  let done = 0;
  for (let probe = len - 1; probe < bin.length; probe += len) {
    if (probe < done || !smallNibbles(bin[probe]!)) continue;
    let from = probe;
    while (from > done && smallNibbles(bin[from - 1]!)) from--;
    let to = probe + 1;
    while (to < bin.length && smallNibbles(bin[to]!)) to++;
    if (to - from >= len) runs.push([from, to]);
    done = to;
  }
  return runs;
}

/** Version text ("1.35.0") from the banner busybox embeds. */
export function busyboxVersion(bin: Uint8Array): string | undefined {
  return /BusyBox v([0-9][0-9.]*)/.exec(Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength).toString('latin1'))?.[1];
}

/**
 * Applet paths (`/usr/bin/ls`, `/sbin/modprobe`), as `busybox --list-full` prints them with a leading
 * slash; linuxrc is left out. Undefined when the names table cannot be read.
 */
export function parseBusyboxApplets(bin: Uint8Array): string[] | undefined {
  const names = findAppletNames(bin);
  if (!names) return undefined;
  const dirs = findInstallDirs(bin, names);
  return names
    .map((name, k) => {
      const dir = dirs ? INSTALL_DIRS[dirs[k]!] : SBIN_135.has(name) ? '/sbin' : '/bin';
      return name === 'linuxrc' || dir === undefined ? '' : `${dir}/${name}`;
    })
    .filter(Boolean);
}
