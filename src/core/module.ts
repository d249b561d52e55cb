// SPDX-License-Identifier: GPL-2.0-or-later
// The shape of a build module's manifest (modules/<name>/module.ts).
import type { StageItem } from './stage.ts';

/** Boot phases, in the order /init runs them. */
/** `stage2` mounts a second-stage image before anything else runs (two-stage images only). */
export const HOOK_PHASES = ['stage2', 'early', 'devices', 'mount', 'pre-pivot', 'emergency'] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];

export interface ModuleFile {
  /** a file beside the manifest (modules/<name>/<from>) or under templates/ when it starts with `templates/` */
  from?: string;
  /** literal content instead of `from` */
  text?: string;
  to: string;
  mode?: number;
}

/** What a module's plan() sees: facts about the build, never a handle to write with. */
export interface PlanContext {
  kernelVersion: string;
  base: string;
  /** names of every module in this build */
  modules: readonly string[];
  /** applet paths (`/usr/bin/ls`, ...) of the base's busybox */
  busyboxApplets: () => Promise<string[]>;
}

export interface ModuleManifest {
  name: string;
  description: string;
  depends?: string[];
  /**
   * Modules added along with this one when the base has every binary they require (storage-all
   * takes crypt, lvm and mdraid only where cryptsetup, lvm and mdadm are installed).
   */
  wants?: string[];
  /** module names, aliases, or directory prefixes ending in `/` relative to /lib/modules/KVER */
  kernelModules?: string[];
  /**
   * Requested like kernelModules, but in a one-cpio image the modules only these reach are kept
   * compressed (the base's .ko.xz/.ko.gz as they are, else gzip) in an uncompressed archive of their
   * own: the kernel unpacks every file of an initramfs before /init, so drivers for hardware the
   * machine lacks would cost every boot; insmod decompresses the few a machine loads.
   */
  coldKernelModules?: string[];
  /** kernel modules loaded at boot before anything else (e.g. the root filesystem's driver) */
  bootKernelModules?: string[];
  /**
   * Of the kernel modules above, those only some kernels have (md's `linear` left in 6.8): taken
   * where the kernel has them, with no warning where it does not.
   */
  kernelModulesNotInEveryKernel?: string[];
  /** binaries resolved inside --base with their shared libraries; missing ones are an error */
  binaries?: string[];
  /** binaries taken when the base has them */
  optionalBinaries?: string[];
  /**
   * Of binaries and optionalBinaries, those only a rarely taken boot step runs (unlocking, a pending
   * layer commit): a one-cpio image keeps them and the libraries only they need in a gzip'd archive,
   * their paths holding a stub that unpacks it on first use (templates/lib/cold.sh).
   */
  coldBinaries?: string[];
  files?: ModuleFile[];
  /** phase → hook files in ./hooks; installed as /lib/ruckusrd/hooks/<phase>/<NN-module-name.sh> */
  hooks?: Partial<Record<HookPhase, string[]>>;
  /** boot parameters the hooks read; each must exist in src/core/params.ts */
  params?: string[];
  /**
   * With a second stage, this module's files, binaries and kernel modules go into the first stage:
   * what must work before the second stage is mounted. Everything else goes into the second.
   */
  firstStage?: boolean;
  /** image paths this module may overwrite when another module also provides them */
  overrides?: string[];
  /** host-dependent additions; returns items, never writes */
  plan?: (ctx: PlanContext) => StageItem[] | Promise<StageItem[]>;
}

export function defineModule(manifest: ModuleManifest): ModuleManifest {
  return manifest;
}

/**
 * A module's kernel-module requests: `hot` stored as they load, `cold` kept compressed in a one-cpio
 * image. With --hostonly, kmod's generic sets give way to the drivers detected on the machine, and
 * nothing is cold: what a host-only image has, that machine loads.
 */
export function kernelModuleRequests(m: ModuleManifest, hostonly: boolean): { hot: string[]; cold: string[] } {
  const boot = m.bootKernelModules ?? [];
  if (hostonly && m.name === 'kmod') return { hot: [...boot], cold: [] };
  const hot = [...(m.kernelModules ?? []), ...boot];
  const cold = m.coldKernelModules ?? [];
  return hostonly ? { hot: [...hot, ...cold], cold: [] } : { hot, cold: [...cold] };
}
