// SPDX-License-Identifier: GPL-2.0-or-later
// Data files /init reads, rendered from the build: never code.
import { shQuote } from './shquote.ts';

export interface BuildInfo {
  version: string;
  kernelVersion: string;
  modules: readonly string[];
  compress: string;
}

/** /etc/ruckusrd/build.conf: KEY='value' lines, for people and tools reading the image. */
export function renderBuildConf(info: BuildInfo): string {
  const rows: [string, string][] = [
    ['MKRUCKUS_VERSION', info.version],
    ['KERNEL_VERSION', info.kernelVersion],
    ['MODULES', info.modules.join(' ')],
    ['COMPRESS', info.compress],
  ];
  return rows.map(([k, v]) => `${k}=${shQuote(v)}\n`).join('');
}

/** One kernel module name per line, loaded in this order at boot. */
export function renderModulesLoad(names: readonly string[]): string {
  return names.map((n) => `${n}\n`).join('');
}

/** `/lib/ruckusrd/hooks/<phase>/NN-<module>-<rest>` for a hook file `NN-<rest>`. */
export function hookInstallPath(phase: string, module: string, file: string): string {
  const m = /^(\d\d)-(.+)$/.exec(file);
  return `/lib/ruckusrd/hooks/${phase}/${m?.[1]}-${module}-${m?.[2]}`;
}
