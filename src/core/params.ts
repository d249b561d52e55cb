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
  | 'number' // decimal seconds
  | 'abspath' // absolute path without `..`
  | 'relpath' // relative directory without `..`
  | 'fstype' // a filesystem type name
  | 'options' // a mount option string: no whitespace
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
  { name: 'root_true_rw', kind: 'flag', help: 'keep /mnt/root-true read-write with ram_layer' },
  { name: 'var_layer', kind: 'sizeordevice', help: 'a writable /var overlay: tmpfs SIZE or a device' },
  { name: 'fwdev', kind: 'devices', help: 'devices holding fw.sqsh for /lib/firmware', cmdlineOnly: true },
  { name: 'modinject', kind: 'flag', help: "copy the initramfs's kernel modules into the new root" },
  { name: 'hoststamp', kind: 'flag', help: 'append the boot time to the host name (layered root)' },
  { name: 'initramsys', kind: 'flag', help: 'stay in the initramfs as a small system', cmdlineOnly: true },
  { name: 'stage2_dev', kind: 'device', help: 'the device holding the second stage (default: recorded at build)', cmdlineOnly: true },
  { name: 'stage2_path', kind: 'abspath', help: 'the second stage file on stage2_dev (default: recorded at build)', cmdlineOnly: true },
];

const NAME = /^[A-Za-z0-9._-]+$/;
const safeName = (v: string): boolean => NAME.test(v) && !v.includes('..');
const noDotDot = (v: string): boolean => !v.split('/').includes('..');

const VALIDATORS: Record<ParamKind, (v: string) => boolean> = {
  flag: () => true,
  device: (v) =>
    /^(LABEL|UUID|PARTUUID|PARTLABEL)=[^\s]+$/.test(v) ||
    (/^\/dev\/[A-Za-z0-9._\/:+-]+$/.test(v) && noDotDot(v)),
  name: safeName,
  names: (v) => v.split(':').every(safeName),
  list: (v) => v.split(',').every(safeName),
  size: (v) => /^[0-9]+[kKmMgG%]?$/.test(v),
  number: (v) => /^[0-9]+$/.test(v),
  abspath: (v) => /^\/[A-Za-z0-9._\/+-]*$/.test(v) && noDotDot(v),
  relpath: (v) => /^[A-Za-z0-9._\/+-]+$/.test(v) && !v.startsWith('/') && noDotDot(v),
  fstype: (v) => /^[a-z0-9_.]+$/.test(v),
  options: (v) => /^[^\s'"`$\\;|&<>()]+$/.test(v),
  sizeordevice: (v) => VALIDATORS.size(v) || VALIDATORS.device(v),
  devices: (v) => v.split(',').every(VALIDATORS.device),
};

const BY_NAME = new Map(PARAMS.map((p) => [p.name, p]));

export function findParam(name: string): ParamSpec | undefined {
  return BY_NAME.get(name);
}

export function isValidParam(name: string, value: string): boolean {
  const spec = BY_NAME.get(name);
  return spec !== undefined && VALIDATORS[spec.kind](value);
}

/** The allowlist /init reads: one `name kind [cmdline]` line per parameter. */
export function renderParamsAllowlist(): string {
  return PARAMS.map((p) => `${p.name} ${p.kind}${p.cmdlineOnly ? ' cmdline' : ''}\n`).join('');
}
