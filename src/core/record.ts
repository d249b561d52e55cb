// SPDX-License-Identifier: GPL-2.0-or-later
// The build record carried in every image (/etc/ruckusrd/build.json): what built it and how, so that
// `inspect` can show it and `inspect --diff` can explain two images. Only the request's data: no
// host paths of included files, no clock (two builds of the same inputs stay byte-identical).
import type { BuildRequest } from './request.ts';

export const RECORD_PATH = '/etc/ruckusrd/build.json';

export interface BuildRecord {
  builder: 'mkruckus';
  version: string;
  kernel: string;
  modules: string[];
  options: {
    compress: string;
    secondStage: string;
    placement?: string;
    ucode: 'base' | 'file' | 'none';
    addDrivers: string[];
    include: string[];
    install: string[];
    hostonly: boolean;
  };
  /** SOURCE_DATE_EPOCH of the build (0 without) */
  epoch: number;
}

export function makeRecord(req: BuildRequest, version: string, kernel: string, modules: readonly string[]): BuildRecord {
  return {
    builder: 'mkruckus',
    version,
    kernel,
    modules: [...modules],
    options: {
      compress: req.compress,
      secondStage: req.secondStage,
      ...(req.secondStage === 'none' ? {} : { placement: req.placement }),
      ucode: req.ucode === false ? 'none' : req.ucode === undefined ? 'base' : 'file',
      addDrivers: req.additions.drivers,
      include: req.additions.include.map((i) => i.dst),
      install: req.additions.binaries,
      hostonly: req.hostonly,
    },
    epoch: req.mtime,
  };
}

export function renderRecord(r: BuildRecord): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** The record from an image's bytes; undefined when absent or not ours. */
export function parseRecord(text: string): BuildRecord | undefined {
  try {
    const r = JSON.parse(text) as BuildRecord;
    return r && r.builder === 'mkruckus' && typeof r.kernel === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** One header line per field, as `inspect` prints them. */
export function renderRecordLines(r: BuildRecord): string[] {
  const o = r.options;
  const list = (xs: string[]) => (xs.length ? xs.join(' ') : '-');
  return [
    `built by mkruckus ${r.version} for kernel ${r.kernel} (SOURCE_DATE_EPOCH ${r.epoch})`,
    `modules: ${r.modules.join(' ')}`,
    `options: compress=${o.compress} second-stage=${o.secondStage}${o.placement ? `/${o.placement}` : ''} ucode=${o.ucode} hostonly=${o.hostonly ? 'yes' : 'no'}`,
    `additions: drivers ${list(o.addDrivers)}; include ${list(o.include)}; install ${list(o.install)}`,
  ];
}

/** Why a kernel module is in the image, from the requests that brought it (dependencies say so). */
export function moduleReason(module: { name: string; path: string }, requests: readonly { owner: string; request: string }[]): string {
  const norm = (s: string) => s.replace(/-/g, '_');
  const named = requests.find((r) => norm(r.request) === module.name);
  if (named) return `requested by ${named.owner}`;
  const dir = requests.find((r) => r.request.endsWith('/') && module.path.startsWith(r.request));
  if (dir) return `in ${dir.request}, requested by ${dir.owner}`;
  return 'a dependency, soft dependency or alias of a requested module';
}
