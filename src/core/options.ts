// SPDX-License-Identifier: GPL-2.0-or-later
// Every build option of `mkruckus create`, in one table: what params.ts is for boot parameters.
// The yargs flags (src/cli/create.ts), the mkruckus.conf keys (config.ts), the request defaults and
// the flags-over-files merge (here), the man page, the bash completion and README's option table
// (scripts/gen-docs.ts) are all derived from it. A new flag is one row plus its use in request.ts.
import { UserError } from '../log.ts';

export type OptionType = 'string' | 'boolean' | 'list';

export interface OptionSpec {
  /** the long flag, without `--`; its camelCase form is the field of OptionValues */
  readonly name: string;
  readonly alias?: string;
  readonly type: OptionType;
  readonly choices?: readonly string[];
  /** the mkruckus.conf key; absent for a command-line-only option */
  readonly config?: string;
  /**
   * Lists only. `append`: every file and the flags add to the list (add, omit). `replace`: the flags
   * replace the files' list and `key = v` replaces an earlier file's, `key += v` appends (modules).
   */
  readonly merge?: 'append' | 'replace';
  readonly default?: string | boolean | readonly string[];
  /** the default in words, when it is computed at build time (markdown `code` spans) */
  readonly defaultText?: string;
  /** the other half of an exclusive pair: a source that sets one (to anything but false) drops the other */
  readonly conflicts?: string;
  /** the value's placeholder in help, man page and README */
  readonly arg?: string;
  /** what the bash completion offers for the value (choices, when there are any, win) */
  readonly complete?: 'file' | 'dir' | 'kernel' | 'module';
  /** one line for --help */
  readonly help: string;
  /** the longer text of the man page and README (markdown `code` spans); defaults to help */
  readonly doc?: string;
}

export const OPTIONS = [
  {
    name: 'kernel', alias: 'k', type: 'string', arg: 'VER', complete: 'kernel', defaultText: 'the running kernel, if its modules are installed',
    help: 'kernel version or unique prefix',
    doc: 'kernel version; a prefix ending on a version component is enough when it names one kernel (`-k 6.12`; `-k 6.1` never names 6.12)',
  },
  {
    name: 'base', type: 'string', arg: 'DIR', complete: 'dir', default: '/',
    help: 'system to take files (and mkruckus.conf) from',
    doc: 'take binaries, libraries, `/lib/modules`, firmware and `/etc/mkruckus.conf` from DIR; symlinks resolve inside DIR',
  },
  { name: 'force', type: 'boolean', default: false, help: 'overwrite existing output', doc: 'overwrite OUT (otherwise an existing OUT is never touched)' },
  {
    name: 'dry-run', type: 'boolean', default: false,
    help: 'resolve and print; write nothing',
    doc: 'resolve everything, print the plan (kernel modules, every entry and the module that adds it), write nothing',
  },
  {
    name: 'compress', type: 'string', arg: 'ALG', config: 'compress', default: 'zstd', choices: ['zstd', 'gzip', 'xz', 'lz4', 'none'],
    help: 'compression of the image',
    doc: '`zstd` (level 3), `gzip`, `xz` (crc32, as the kernel needs), `lz4` (legacy frames) or `none`',
  },
  {
    name: 'modules', type: 'list', arg: 'M,...', config: 'modules', merge: 'replace', complete: 'module',
    default: ['base', 'kmod', 'rootfs', 'overlay'],
    help: 'use exactly these build modules (repeat or comma-separate)',
    doc: 'use exactly these build modules (repeat or comma-separate); a second stage adds its placement module to the default',
  },
  { name: 'add', type: 'list', arg: 'M', config: 'add', merge: 'append', complete: 'module', default: [], help: 'add build modules (repeat or comma-separate)' },
  { name: 'omit', type: 'list', arg: 'M', config: 'omit', merge: 'append', complete: 'module', default: [], help: 'leave build modules out (repeat or comma-separate)' },
  {
    name: 'second-stage', type: 'string', arg: 'TYPE', config: 'second-stage', default: 'none', choices: ['none', 'erofs', 'squashfs'],
    help: 'second-stage image type',
    doc: '`erofs` or `squashfs`: a small first-stage cpio plus a second-stage image; `none` for one cpio',
  },
  {
    name: 'second-stage-placement', type: 'string', arg: 'P', config: 'second-stage-placement', default: 'embedded', choices: ['embedded', 'boot'],
    help: 'embedded: inside OUT (squash module); boot: beside OUT (storage-init module)',
    doc: '`embedded` (the image inside OUT, `squash` module) or `boot` (beside OUT, `storage-init` module)',
  },
  {
    // Not a config key: OUT differs per kernel, and one fixed path for all of them would make every
    // build overwrite the others' second stage. The default follows OUT.
    name: 'second-stage-out', type: 'string', arg: 'PATH', complete: 'file', defaultText: '`OUT.stage2`',
    help: 'second stage file for --second-stage-placement boot',
    doc: 'where `boot` placement writes the second stage: `PATH-HASH`, HASH the first 16 hex digits of its sha256, so that a build never replaces the file the image in place records (the old one is deleted once OUT is replaced)',
  },
  {
    // Where the file will be when the first stage looks for it, when that differs from where it is
    // written: a kernel-install staging area, or a --base tree that becomes a disk later.
    name: 'second-stage-boot-path', type: 'string', arg: 'PATH', defaultText: 'its path on the filesystem it is written to (`findmnt`)',
    help: 'path of the /boot second stage on its device at boot',
    doc: 'the path the first stage records for the `boot` second stage, on its device at boot, to which `-HASH` is added as to the file (`stage2_path=` overrides it at boot)',
  },
  {
    name: 'second-stage-boot-dev', type: 'string', arg: 'DEV', config: 'second-stage-boot-dev',
    defaultText: 'the UUID of the filesystem it is written to, unless that is a directory of --base',
    help: 'device holding the /boot second stage at boot (UUID=..., LABEL=..., /dev/...)',
    doc: 'the device the first stage records for the `boot` second stage (`UUID=`, `LABEL=`, `PARTUUID=`, `/dev/NAME`; `stage2_dev=` overrides it at boot)',
  },
  {
    name: 'ucode', type: 'string', arg: 'FILE', config: 'ucode', conflicts: 'no-ucode', complete: 'file',
    defaultText: "the base's `/lib/firmware/{intel,amd}-ucode`",
    help: 'early microcode cpio to prepend',
    doc: 'prepend FILE (an uncompressed microcode cpio)',
  },
  { name: 'no-ucode', type: 'boolean', config: 'no-ucode', conflicts: 'ucode', help: 'no early microcode', doc: 'prepend no microcode at all' },
  {
    name: 'add-drivers', type: 'list', arg: 'M,...', config: 'add-drivers', merge: 'append', default: [],
    help: 'also include these kernel modules (names, aliases or directories ending in /)',
    doc: 'also include these kernel modules and their dependencies and firmware: names, aliases, or directories of `/lib/modules/KVER` ending in `/` (repeat or comma-separate)',
  },
  {
    name: 'include', type: 'list', arg: 'SRC[:DST]', config: 'include', merge: 'append', complete: 'file', default: [],
    help: 'copy a file or directory into the image (at DST, default SRC)',
    doc: 'copy the file or directory SRC into the image at DST (default: SRC); on the command line SRC is a host path, in a config file a path of the base (repeat)',
  },
  {
    name: 'install', type: 'list', arg: 'BINARY', config: 'install', merge: 'append', default: [],
    help: 'add binaries of the base with their libraries',
    doc: "add binaries of the base (bare names are searched in `/usr/sbin /usr/bin /sbin /bin`) with their interpreter and libraries (repeat or comma-separate)",
  },
  {
    name: 'rescue-shell', type: 'string', arg: 'POLICY', config: 'rescue-shell', default: 'auto', choices: ['auto', 'open', 'password', 'off'],
    help: 'who gets a console shell: the rescue shell, shell, maint, init=',
    doc: "`open`: a root shell on the console after a fatal error, and `shell`, `maint`, `init=` work (RuckusRD's behaviour); `password`: the shells ask for root's password (the base's `/etc/shadow` root entry goes into the image, which is then written 0600) and `init=` is ignored; `off`: no shell, a reboot 10 s after a fatal error, `init=` ignored. `auto` is `open` until a disk is unlocked without a person (a key in the image), then `off`. The boot parameter `rescue=` can only make it stricter",
  },
  {
    name: 'trust-layer', type: 'list', arg: 'NAME=ROOTHASH', config: 'trust-layer', merge: 'append', default: [],
    help: 'trust layer NAME with this dm-verity root hash (repeat)',
    doc: "mount layer NAME through dm-verity with this root hash (as `veritysetup format` prints it; the hash tree is `NAME.sqsh.verity` beside the layer); adds the `verity` module (repeat or comma-separate)",
  },
  {
    name: 'layer-verity', type: 'string', arg: 'POLICY', config: 'layer-verity', default: 'auto', choices: ['auto', 'require'],
    help: 'auto: verify the layers with a trusted hash; require: refuse any other',
    doc: '`auto`: layers with a trusted root hash (`--trust-layer`, or `sqsh_verity_roots=` on the command line) are verified, others mounted as they are; `require`: a layer without one is `ruckusrd: fatal`. The boot parameter `sqsh_verity=` can turn `auto` into `off` or `require`, never `require` into less',
  },
  {
    name: 'hostonly', type: 'boolean', config: 'hostonly', default: false,
    help: 'only the drivers this machine needs for its root',
    doc: "only the kernel modules this machine needs instead of kmod's generic set: the drivers of the devices under the root filesystem (modaliases, through dm/md slaves), its filesystem, and the storage and console modules already loaded; recorded in `/etc/ruckusrd/hostonly` and shown by `inspect`. Needs --base `/`",
  },
  {
    // Not a config key: a report describes one build, and one fixed path would be overwritten by the next.
    name: 'report', type: 'string', arg: 'FILE', complete: 'file',
    help: 'write a JSON build report to FILE',
    doc: 'write a JSON build report to FILE: the build record, every file with its source, owner, size and sha256, each kernel module with the reason it was included, the time of each step',
  },
  {
    name: 'uki', type: 'boolean', config: 'uki', default: false,
    help: 'write OUT as a unified kernel image (an EFI stub with kernel, initramfs, cmdline)',
    doc: 'write OUT as a unified kernel image: the EFI stub, the kernel, the initramfs, `.cmdline`, `.osrel`, `.uname` (and `.splash`) in one PE file',
  },
  {
    name: 'uki-stub', type: 'string', arg: 'FILE', config: 'uki-stub', complete: 'file',
    defaultText: "the base's `/usr/lib/systemd/boot/efi/linuxx64.efi.stub` (`systemd-boot-efi`)",
    help: 'EFI stub of the UKI', doc: 'the EFI stub the UKI is built on (`--uki`)',
  },
  {
    // Not a config key: the kernel image differs per kernel, as OUT does.
    name: 'kernel-image', type: 'string', arg: 'FILE', complete: 'file', defaultText: "the base's `/boot/vmlinuz-KVER`",
    help: 'kernel image of the UKI', doc: 'the kernel image put in the UKI (`--uki`)',
  },
  {
    name: 'cmdline', type: 'string', arg: 'TEXT', config: 'cmdline', defaultText: "the base's `/etc/kernel/cmdline`",
    help: 'kernel command line embedded in the UKI',
    doc: 'the kernel command line embedded in the UKI (`--uki`); under Secure Boot it is the only one',
  },
  { name: 'splash', type: 'string', arg: 'FILE', config: 'splash', complete: 'file', help: 'BMP splash image of the UKI', doc: 'a BMP image shown by the stub while booting (`--uki`)' },
  {
    name: 'sign-key', type: 'string', arg: 'KEY', config: 'sign-key', complete: 'file',
    help: 'sign the UKI with this private key (PEM, with --sign-cert)',
    doc: 'sign the UKI (Authenticode, RSA, no signing time: reproducible) with this PEM private key; the signature is checked with `sbverify` before OUT is replaced. Needs `--sign-cert`',
  },
  { name: 'sign-cert', type: 'string', arg: 'CERT', config: 'sign-cert', complete: 'file', help: 'certificate of --sign-key (PEM)', doc: 'the PEM certificate of `--sign-key`' },
] as const satisfies readonly OptionSpec[];

/**
 * Options of `update` only (besides the build options). Not config keys: the kernel hooks give
 * their own destination, and `--all` is a per-run choice.
 */
export const UPDATE_OPTIONS = [
  { name: 'all', type: 'boolean', conflicts: 'kernel', help: 'update every installed kernel', doc: '`update`: every kernel installed under --base (default: the newest)' },
  {
    name: 'dest', type: 'string', arg: 'PATTERN', default: '/boot/initrd.img-{kver}', complete: 'file',
    help: 'update/remove: image path under --base, {kver} is the kernel version',
    doc: '`update` and `remove`: the image of each kernel, a path under --base where `{kver}` is the kernel version; its second stage is `PATTERN.stage2-HASH`',
  },
] as const satisfies readonly OptionSpec[];

/** Options of every command; main.ts registers them. */
export const GLOBAL_OPTIONS = [
  { name: 'verbose', alias: 'v', type: 'boolean', help: 'explain each step', doc: 'log every build step and its time; a stack trace with internal errors' },
] as const satisfies readonly OptionSpec[];

type Row = (typeof OPTIONS)[number];
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Raw<R extends Row> = R['type'] extends 'boolean' ? boolean : R['type'] extends 'list' ? string[] : string;
type Checked<R extends Row> = R extends { choices: readonly (infer C)[] } ? (R['type'] extends 'list' ? C[] : C) : Raw<R>;

/** Option values as flags or files give them: choices not yet checked. */
export type OptionValues = { [R in Row as Camel<R['name']>]?: Raw<R> };
/** What config files may set: the options that have a config key. */
export type FileConfig = { [R in Row as R extends { config: string } ? Camel<R['name']> : never]?: Raw<R> };
/** Merged and checked, with the table's defaults. */
export type ResolvedOptions = { [R in Row as Camel<R['name']>]: R extends { default: unknown } ? Checked<R> : Checked<R> | undefined };
export type ChoiceOf<N extends Row['name']> = Extract<Row, { name: N; choices: readonly string[] }>['choices'][number];

/** `second-stage-placement` → `secondStagePlacement`: the field name, as yargs' camel-case expansion makes it. */
export function optionField(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const BY_NAME = new Map<string, OptionSpec>(OPTIONS.map((o) => [o.name, o]));
const BY_CONFIG_KEY = new Map<string, OptionSpec>(
  OPTIONS.flatMap((o: OptionSpec) => (o.config === undefined ? [] : [[o.config, o] as const])),
);

export function findOption(name: string): OptionSpec | undefined {
  return BY_NAME.get(name);
}

export function findConfigKey(key: string): OptionSpec | undefined {
  return BY_CONFIG_KEY.get(key);
}

export function configKeys(): string[] {
  return [...BY_CONFIG_KEY.keys()];
}

export function optionChoices<N extends Row['name']>(name: N): readonly ChoiceOf<N>[] {
  return (BY_NAME.get(name)?.choices ?? []) as readonly ChoiceOf<N>[];
}

/** Splits repeated/comma-separated list values: `--add a,b --add c` → [a, b, c]. */
export function splitList(values: readonly string[] | undefined): string[] | undefined {
  return values?.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
}

/** Whether `value` (a list's items each) is one of the option's choices; true when it has none. */
export function isChoice(o: OptionSpec, value: string | readonly string[]): boolean {
  const choices = o.choices;
  return choices === undefined || [value].flat().every((v) => choices.includes(v));
}

/**
 * Flags over files, option by option; the pair of a `conflicts` option counts as one setting, so
 * `--ucode F` beats a file's `no-ucode = yes` and `--no-ucode` a file's `ucode = F`. `append` lists
 * take the files' items, then the flags'. Choices are checked here too, for callers other than the
 * CLI (yargs and the config parser check them first, with better context). Defaults are not applied.
 */
export function mergeOptions(flags: OptionValues, file: FileConfig): OptionValues {
  const from = (values: object, o: OptionSpec): unknown => (values as Record<string, unknown>)[optionField(o.name)];
  const merged: Record<string, unknown> = {};
  for (const o of OPTIONS as readonly OptionSpec[]) {
    const partner = o.conflicts === undefined ? undefined : BY_NAME.get(o.conflicts);
    const partnerFlag = partner === undefined ? undefined : from(flags, partner);
    const flag = o.type === 'list' ? splitList(from(flags, o) as string[] | undefined) : from(flags, o);
    const inFile = partnerFlag !== undefined && partnerFlag !== false ? undefined : from(file, o);
    const value = o.type === 'list' && o.merge === 'append' && (flag !== undefined || inFile !== undefined)
      ? [...((inFile as string[] | undefined) ?? []), ...((flag as string[] | undefined) ?? [])]
      : flag ?? inFile;
    if (value === undefined) continue;
    if (!isChoice(o, value as string | string[])) {
      throw new UserError(`invalid --${o.name} '${String(value)}'; expected one of: ${o.choices?.join(', ')}`);
    }
    merged[optionField(o.name)] = value;
  }
  return merged as OptionValues;
}

/** The table's defaults under `given` (which mergeOptions has checked). */
export function withDefaults(given: OptionValues): ResolvedOptions {
  const all: Record<string, unknown> = {};
  // Copies: a request's lists must never alias the table's.
  for (const o of OPTIONS as readonly OptionSpec[]) all[optionField(o.name)] = Array.isArray(o.default) ? [...o.default] : o.default;
  for (const [k, v] of Object.entries(given)) if (v !== undefined) all[k] = v;
  return all as ResolvedOptions;
}

/**
 * The default as documentation shows it, markdown `code` for a value; undefined when there is
 * nothing worth saying (a false flag, an empty list).
 */
export function defaultText(o: OptionSpec): string | undefined {
  if (o.defaultText !== undefined) return o.defaultText;
  if (o.default === undefined || o.default === false) return undefined;
  if (Array.isArray(o.default)) return o.default.length ? `\`${o.default.join(' ')}\`` : undefined;
  return `\`${String(o.default)}\``;
}
