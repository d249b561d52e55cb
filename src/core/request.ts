// SPDX-License-Identifier: GPL-2.0-or-later
// Flags and config files → one validated BuildRequest. Flags win over files.
import { UserError } from '../log.ts';
import type { FileConfig } from './config.ts';

export const COMPRESSIONS = ['zstd', 'gzip', 'xz', 'lz4', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
export const SECOND_STAGES = ['none', 'erofs', 'squashfs'] as const;
export type SecondStage = (typeof SECOND_STAGES)[number];

export const DEFAULT_MODULES = ['base', 'kmod', 'rootfs', 'overlay'];
export const PLACEMENTS = ['embedded', 'boot'] as const;
export type Placement = (typeof PLACEMENTS)[number];
/** The module that mounts the second stage at boot, per placement. */
const PLACEMENT_MODULE: Record<Placement, string> = { embedded: 'squash', boot: 'storage-init' };

export interface CreateFlags {
  out: string;
  kernel?: string;
  base?: string;
  force?: boolean;
  dryRun?: boolean;
  compress?: string;
  add?: string[];
  omit?: string[];
  modules?: string[];
  secondStage?: string;
  secondStagePlacement?: string;
  secondStageOut?: string;
  ucode?: string;
  noUcode?: boolean;
}

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
  modules: { defaults: string[]; modules?: string[]; add: string[]; omit: string[] };
  /** an early microcode cpio to prepend; `false` for none; undefined: the base's microcode */
  ucode?: string | false;
  mtime: number;
}

/** Splits repeated/comma-separated list flags: `--add a,b --add c` → [a, b, c]. */
export function splitList(values: readonly string[] | undefined): string[] | undefined {
  return values?.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
}

function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError(`invalid ${what} '${value}'; expected one of: ${allowed.join(', ')}`);
}

export function buildRequest(flags: CreateFlags, file: FileConfig, env: Record<string, string | undefined>): BuildRequest {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && !/^[0-9]+$/.test(epoch)) {
    throw new UserError(`SOURCE_DATE_EPOCH must be a number of seconds, got '${epoch}'`);
  }
  // Flags win over files as a pair: `--ucode F` beats a file's `no-ucode = yes`, and vice versa.
  const ucode = flags.noUcode ? false : flags.ucode ?? (file.noUcode ? false : file.ucode);
  const secondStage = oneOf('--second-stage', flags.secondStage ?? file.secondStage ?? 'none', SECOND_STAGES);
  const placement = oneOf('--second-stage-placement', flags.secondStagePlacement ?? 'embedded', PLACEMENTS);
  const defaults = secondStage === 'none' ? DEFAULT_MODULES : [...DEFAULT_MODULES, PLACEMENT_MODULE[placement]];
  return {
    out: flags.out,
    base: flags.base ?? '/',
    kernel: flags.kernel,
    force: flags.force ?? false,
    dryRun: flags.dryRun ?? false,
    compress: oneOf('--compress', flags.compress ?? file.compress ?? 'zstd', COMPRESSIONS),
    secondStage,
    placement,
    secondStageOut: flags.secondStageOut ?? `${flags.out}.stage2`,
    modules: {
      defaults,
      modules: splitList(flags.modules) ?? file.modules,
      add: [...(file.add ?? []), ...(splitList(flags.add) ?? [])],
      omit: [...(file.omit ?? []), ...(splitList(flags.omit) ?? [])],
    },
    ucode,
    mtime: epoch === undefined ? 0 : Number(epoch),
  };
}
