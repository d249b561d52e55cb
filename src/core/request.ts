// SPDX-License-Identifier: GPL-2.0-or-later
// Flags and config files → one validated BuildRequest. Which options exist, their defaults and how
// flags and files merge is the option table's (options.ts); this only shapes the result for build().
import { UserError } from '../log.ts';
import { parseTrustLayer, type LayerTrust } from './verity.ts';
import { mergeOptions, optionChoices, optionField, withDefaults, type ChoiceOf, type FileConfig, type OptionValues } from './options.ts';

export { splitList } from './options.ts';

export type Compression = ChoiceOf<'compress'>;
export type SecondStage = ChoiceOf<'second-stage'>;
export type Placement = ChoiceOf<'second-stage-placement'>;
export const COMPRESSIONS = optionChoices('compress');
export const SECOND_STAGES = optionChoices('second-stage');
export const PLACEMENTS = optionChoices('second-stage-placement');
export const DEFAULT_MODULES: readonly string[] = withDefaults({}).modules;

/** The module that mounts the second stage at boot, per placement. */
const PLACEMENT_MODULE: Record<Placement, string> = { embedded: 'squash', boot: 'storage-init' };

/** The command line: OUT and every option of the table. */
export type CreateFlags = { out: string } & OptionValues;

export interface BuildRequest {
  out: string;
  base: string;
  kernel?: string;
  force: boolean;
  dryRun: boolean;
  compress: Compression;
  secondStage: SecondStage;
  placement: Placement;
  /** where the /boot placement writes the second stage (default OUT.stage2) */
  secondStageOut: string;
  /** what the first stage records for the /boot second stage, when given (else found from where it is written) */
  secondStageBoot: { path?: string; dev?: string };
  modules: { defaults: string[]; modules?: string[]; add: string[]; omit: string[] };
  /** an early microcode cpio to prepend; `false` for none; undefined: the base's microcode */
  ucode?: string | false;
  mtime: number;
  /** --uki: OUT is a unified kernel image around the initramfs (files are host paths; unset: from the base) */
  uki?: UkiRequest;
  /** what the user adds beyond the modules: kernel modules, host files, binaries of the base */
  additions: Additions;
  /** --hostonly: only the drivers this machine's root needs */
  hostonly: boolean;
  /** --report FILE: where the JSON build report goes */
  report?: string;
  /** --rescue-shell: who gets a console shell at boot */
  rescueShell: ChoiceOf<'rescue-shell'>;
  /** --trust-layer, --layer-verity: dm-verity root hashes of layers, and whether every layer needs one */
  layerVerity: { policy: ChoiceOf<'layer-verity'>; trust: LayerTrust[] };
}

export interface Additions {
  drivers: string[];
  /** `src` a host path (a config file's was resolved inside the base), `dst` an image path */
  include: { src: string; dst: string }[];
  binaries: string[];
}

/** `SRC[:DST]` → { src, dst }; DST defaults to SRC and must be absolute (SRC may be relative to the working directory). */
export function parseInclude(value: string): { src: string; dst: string } {
  const i = value.indexOf(':');
  const src = i < 0 ? value : value.slice(0, i);
  const dst = i < 0 ? value : value.slice(i + 1);
  if (src === '' || !dst.startsWith('/')) throw new UserError(`--include ${value}: expected SRC[:DST] with DST (or SRC) an absolute image path`);
  if (dst.split('/').includes('..')) throw new UserError(`--include ${value}: DST must not contain '..'`);
  return { src, dst };
}

export interface UkiRequest {
  stub?: string;
  kernelImage?: string;
  cmdline?: string;
  splash?: string;
  sign?: { key: string; cert: string };
}

const UKI_ONLY = ['uki-stub', 'kernel-image', 'cmdline', 'splash', 'sign-key', 'sign-cert'] as const;

/** The --uki part of the request; a UKI-only flag without --uki, or half a key pair, is an error. */
function ukiRequest(flags: CreateFlags, o: ReturnType<typeof withDefaults>): UkiRequest | undefined {
  if (!o.uki) {
    const stray = UKI_ONLY.find((n) => (flags as Record<string, unknown>)[optionField(n)] !== undefined);
    if (stray) throw new UserError(`--${stray} needs --uki`);
    return undefined;
  }
  if ((o.signKey === undefined) !== (o.signCert === undefined)) throw new UserError('--sign-key and --sign-cert go together');
  return {
    stub: o.ukiStub,
    kernelImage: o.kernelImage,
    cmdline: o.cmdline,
    splash: o.splash,
    ...(o.signKey !== undefined && o.signCert !== undefined ? { sign: { key: o.signKey, cert: o.signCert } } : {}),
  };
}

export function buildRequest(flags: CreateFlags, file: FileConfig, env: Record<string, string | undefined>): BuildRequest {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && !/^[0-9]+$/.test(epoch)) {
    throw new UserError(`SOURCE_DATE_EPOCH must be a number of seconds, got '${epoch}'`);
  }
  const given = mergeOptions(flags, file);
  const o = withDefaults(given);
  const defaults = o.secondStage === 'none' ? [...DEFAULT_MODULES] : [...DEFAULT_MODULES, PLACEMENT_MODULE[o.secondStagePlacement]];
  return {
    out: flags.out,
    base: o.base,
    kernel: o.kernel,
    force: o.force,
    dryRun: o.dryRun,
    compress: o.compress,
    secondStage: o.secondStage,
    placement: o.secondStagePlacement,
    secondStageOut: o.secondStageOut ?? `${flags.out}.stage2`,
    secondStageBoot: { path: o.secondStageBootPath, dev: o.secondStageBootDev },
    // `modules` given (by a flag or a file) replaces the default set.
    // Verified layers need veritysetup and dm-verity in the image: the verity module.
    modules: { defaults, modules: given.modules, add: [...o.add, ...(o.trustLayer.length || o.layerVerity === 'require' ? ['verity'] : [])], omit: o.omit },
    ucode: o.noUcode ? false : o.ucode,
    mtime: epoch === undefined ? 0 : Number(epoch),
    uki: ukiRequest(flags, o),
    additions: { drivers: o.addDrivers, include: o.include.map(parseInclude), binaries: o.install },
    hostonly: o.hostonly,
    report: o.report,
    rescueShell: o.rescueShell,
    layerVerity: { policy: o.layerVerity, trust: o.trustLayer.map(parseTrustLayer) },
  };
}
