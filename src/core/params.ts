// SPDX-License-Identifier: GPL-2.0-or-later
// Every boot parameter /init understands (SPEC §2), in one table. It renders the allowlist the
// boot-time parser reads (/etc/ruckusrd/params), validates hooks' declared params at build time,
// and gives the layer commands the same validators for ruckusrd.conf.

/**
 * Kinds map 1:1 to a `case` arm of templates/lib/params.sh `param_valid`; shell and TS must agree
 * (test/shell/params.test.ts checks both on one table).
 */
export type ParamKind =
  | 'flag' // present or not; a value is ignored
  | 'device' // /dev/NAME, LABEL=, UUID=, PARTUUID=, PARTLABEL=
  | 'name' // a file-name-safe word
  | 'names' // NAME:NAME:... (colon list of names)
  | 'list' // NAME,NAME,... (comma list of names)
  | 'size' // tmpfs size: 512M, 2G, 50%
  | 'number' // decimal seconds: 0 or no leading zero, at most 6 digits
  | 'abspath' // absolute path without `..`
  | 'relpath' // relative directory without `..`
  | 'fstype' // a filesystem type name
  | 'options' // a mount option string: letters, digits and ._,=:/+@%~-
  | 'sizeordevice' // var_layer: a tmpfs size or a device
  | 'devices'; // DEV,DEV2,... (comma list of devices)

export interface ParamSpec {
  name: string;
  kind: ParamKind;
  help: string;
  /**
   * Read by /init before the root device (and so ruckusrd.conf) is mounted: the command line is
   * the only place it can come from, and ruckusrd.conf is refused to set it (with a warning).
   */
  cmdlineOnly?: true;
  /**
   * May be given more than once (`rd.luks.uuid=A rd.luks.uuid=B`): every value is kept, one per
   * line, in command-line order. Only for cmdlineOnly parameters (the allowlist's 4th column).
   */
  multi?: true;
}

export const PARAMS: readonly ParamSpec[] = [
  { name: 'root', kind: 'device', help: 'the root device', cmdlineOnly: true },
  { name: 'rootfstype', kind: 'fstype', help: 'filesystem type of the root device', cmdlineOnly: true },
  { name: 'rootflags', kind: 'options', help: 'mount options for the root device', cmdlineOnly: true },
  { name: 'ro', kind: 'flag', help: 'hand over the root read-only (default)' },
  { name: 'rw', kind: 'flag', help: 'hand over the root read-write' },
  { name: 'rootwait', kind: 'flag', help: 'wait for the root device forever', cmdlineOnly: true },
  { name: 'rootdelay', kind: 'number', help: 'wait this many seconds for devices', cmdlineOnly: true },
  { name: 'init', kind: 'abspath', help: 'program run after switch_root (default /sbin/init)' },
  { name: 'shell', kind: 'flag', help: 'a rescue shell before anything is done', cmdlineOnly: true },
  { name: 'maint', kind: 'flag', help: 'a shell just before switch_root' },
  { name: 'rescue', kind: 'name', help: 'console shells: open, password or off; never looser than the build (--rescue-shell)', cmdlineOnly: true },
  { name: 'quiet', kind: 'flag', help: 'print only errors', cmdlineOnly: true },
  { name: 'verbose', kind: 'flag', help: 'print every step', cmdlineOnly: true },
  { name: 'modules-early', kind: 'list', help: 'kernel modules loaded first', cmdlineOnly: true },
  { name: 'blacklist', kind: 'list', help: 'kernel modules never loaded', cmdlineOnly: true },
  { name: 'sqsh_layers', kind: 'names', help: 'layer files NAME.sqsh, leftmost on top' },
  { name: 'sqsh_layerdir', kind: 'relpath', help: 'directory of the layer files on their device' },
  { name: 'sqsh_layerdev', kind: 'device', help: 'a read-only device holding layers' },
  { name: 'sqshfstype', kind: 'fstype', help: 'filesystem type of sqsh_layerdev' },
  { name: 'ram_layer', kind: 'size', help: 'tmpfs upper layer of this size' },
  { name: 'to_ram', kind: 'flag', help: 'copy the layers into RAM, release the root device' },
  { name: 'overlayflags', kind: 'options', help: 'extra OverlayFS mount options' },
  { name: 'sqsh_verity', kind: 'name', help: 'off, auto or require: dm-verity for layers (never below the build)', cmdlineOnly: true },
  { name: 'sqsh_verity_roots', kind: 'options', help: 'NAME=ROOTHASH,...: trusted dm-verity root hashes of layers', cmdlineOnly: true },
  { name: 'root_true_rw', kind: 'flag', help: 'keep /mnt/root-true read-write with ram_layer' },
  { name: 'var_layer', kind: 'sizeordevice', help: 'a writable /var overlay: tmpfs SIZE or a device' },
  { name: 'fwdev', kind: 'devices', help: 'devices holding fw.sqsh for /lib/firmware', cmdlineOnly: true },
  { name: 'modinject', kind: 'flag', help: "copy the initramfs's kernel modules into the new root" },
  { name: 'hoststamp', kind: 'flag', help: 'append the boot time to the host name (layered root)' },
  { name: 'initramsys', kind: 'flag', help: 'stay in the initramfs as a small system', cmdlineOnly: true },
  { name: 'stage2_dev', kind: 'device', help: 'the device holding the second stage (default: recorded at build)', cmdlineOnly: true },
  { name: 'stage2_path', kind: 'abspath', help: 'the second stage file on stage2_dev (default: recorded at build)', cmdlineOnly: true },
  // Storage (modules crypt, lvm, mdraid, resume): the spellings of systemd/dracut, mkinitcpio and the kernel.
  { name: 'rd.luks', kind: 'name', help: '0 or no: unlock nothing', cmdlineOnly: true },
  { name: 'rd.luks.uuid', kind: 'name', help: 'unlock the LUKS device of this UUID as luks-UUID', cmdlineOnly: true, multi: true },
  { name: 'rd.luks.name', kind: 'options', help: 'UUID=NAME: unlock the LUKS device of this UUID as NAME', cmdlineOnly: true, multi: true },
  { name: 'rd.luks.options', kind: 'options', help: '[UUID=]OPTIONS (discard, readonly, tries=N, header=/PATH) for the LUKS devices, crypttab entries and found ones too', cmdlineOnly: true, multi: true },
  { name: 'rd.luks.key', kind: 'options', help: '[UUID=]/KEYFILE[:DEVICE]: unlock with a key file of the image, or of DEVICE (mounted read-only); the passphrase is asked if it fails', cmdlineOnly: true, multi: true },
  { name: 'cryptdevice', kind: 'options', help: 'DEV:NAME[:allow-discards] (mkinitcpio): unlock DEV as NAME', cmdlineOnly: true },
  { name: 'rd.lvm', kind: 'name', help: '0 or no: activate no LVM volume', cmdlineOnly: true },
  { name: 'rd.lvm.vg', kind: 'name', help: 'activate this volume group (only the named ones)', cmdlineOnly: true, multi: true },
  { name: 'rd.lvm.lv', kind: 'relpath', help: 'VG/LV: activate this logical volume (only the named ones)', cmdlineOnly: true, multi: true },
  { name: 'rd.md', kind: 'name', help: '0 or no: assemble no MD RAID array', cmdlineOnly: true },
  { name: 'rd.md.uuid', kind: 'options', help: 'assemble the MD RAID array of this UUID (only the named ones)', cmdlineOnly: true, multi: true },
  { name: 'resume', kind: 'device', help: 'resume from the hibernation image on this swap device', cmdlineOnly: true },
  { name: 'noresume', kind: 'flag', help: 'do not resume from hibernation', cmdlineOnly: true },
];

const NAME = /^[A-Za-z0-9._-]+$/;
const safeName = (v: string): boolean => NAME.test(v) && !v.includes('..');
const noDotDot = (v: string): boolean => !v.split('/').includes('..');
/** 0 or digits without a leading zero (busybox ash reads 010 as 8, and 08 is an error ending PID 1). */
const decimal = (digits: number): RegExp => new RegExp(`^(0|[1-9][0-9]{0,${digits - 1}})$`);
const NUMBER = decimal(6);
const SIZE_DIGITS = decimal(12);
/**
 * The most a value may hold (templates/lib/params.sh RD_MAX_VALUE): a command line is 2048 bytes on
 * x86, an OverlayFS option string one page. Every kind but flag is a positive ASCII class, so UTF-16
 * length, characters and bytes agree wherever a value can be valid.
 */
export const MAX_VALUE = 4096;

const VALIDATORS: Record<ParamKind, (v: string) => boolean> = {
  flag: () => true,
  device: (v) =>
    /^(LABEL|UUID|PARTUUID|PARTLABEL)=[A-Za-z0-9._:+\/@%~-]+$/.test(v) ||
    (/^\/dev\/[A-Za-z0-9._\/:+-]+$/.test(v) && noDotDot(v)),
  name: safeName,
  names: (v) => v.split(':').every(safeName),
  list: (v) => v.split(',').every(safeName),
  size: (v) => SIZE_DIGITS.test(v.replace(/[kKmMgG%]$/, '')),
  number: (v) => NUMBER.test(v),
  abspath: (v) => /^\/[A-Za-z0-9._\/+-]*$/.test(v) && noDotDot(v),
  relpath: (v) => /^[A-Za-z0-9._\/+-]+$/.test(v) && !v.startsWith('/') && noDotDot(v),
  fstype: (v) => /^[a-z0-9_.]+$/.test(v),
  options: (v) => /^[A-Za-z0-9._,=:\/+@%~-]+$/.test(v),
  sizeordevice: (v) => VALIDATORS.size(v) || VALIDATORS.device(v),
  devices: (v) => v.split(',').every(VALIDATORS.device),
};

const BY_NAME = new Map(PARAMS.map((p) => [p.name, p]));

export function findParam(name: string): ParamSpec | undefined {
  return BY_NAME.get(name);
}

export function isValidParam(name: string, value: string): boolean {
  const spec = BY_NAME.get(name);
  if (spec === undefined) return false;
  return spec.kind === 'flag' || (value.length <= MAX_VALUE && VALIDATORS[spec.kind](value));
}

/** The allowlist /init reads: one `name kind [cmdline [multi]]` line per parameter. */
export function renderParamsAllowlist(): string {
  return PARAMS.map((p) => `${p.name} ${p.kind}${p.cmdlineOnly ? ' cmdline' : ''}${p.multi ? ' multi' : ''}\n`).join('');
}
