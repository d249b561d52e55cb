// SPDX-License-Identifier: GPL-2.0-or-later
// Reject at build time what /init would choke on at boot.
import { UserError } from '../log.ts';
import { HOOK_PHASES, type ModuleManifest } from './module.ts';
import { findParam } from './params.ts';

/** `assetExists` answers whether modules/<name>/<file> or templates/<file> is embedded. */
export function validateManifest(m: ModuleManifest, assetExists: (path: string) => boolean): void {
  const where = `module '${m.name}'`;
  for (const p of m.params ?? []) {
    if (!findParam(p)) throw new UserError(`${where} reads boot parameter '${p}', which src/core/params.ts does not define`);
  }
  for (const [phase, files] of Object.entries(m.hooks ?? {})) {
    if (!(HOOK_PHASES as readonly string[]).includes(phase)) {
      throw new UserError(`${where} has hooks for unknown phase '${phase}' (phases: ${HOOK_PHASES.join(', ')})`);
    }
    for (const file of files ?? []) {
      if (!/^\d\d-[a-z0-9-]+\.sh$/.test(file)) {
        throw new UserError(`${where}: hook '${file}' must be named NN-verb-noun.sh`);
      }
      if (!assetExists(`modules/${m.name}/hooks/${file}`)) {
        throw new UserError(`${where}: hook file hooks/${file} is missing`);
      }
    }
  }
  const requested = new Set([...(m.kernelModules ?? []), ...(m.coldKernelModules ?? []), ...(m.bootKernelModules ?? [])]);
  for (const k of m.kernelModulesNotInEveryKernel ?? []) {
    if (!requested.has(k)) throw new UserError(`${where}: kernel module '${k}' of kernelModulesNotInEveryKernel is not among its kernel modules`);
  }
  const listed = new Set([...(m.binaries ?? []), ...(m.optionalBinaries ?? [])]);
  for (const b of m.coldBinaries ?? []) {
    if (!listed.has(b)) throw new UserError(`${where}: cold binary '${b}' is not among its binaries or optionalBinaries`);
  }
  for (const f of m.files ?? []) {
    if (f.text === undefined && (f.from === undefined || !assetExists(moduleFilePath(m.name, f.from)))) {
      throw new UserError(`${where}: file '${f.from ?? '(no from/text)'}' for ${f.to} is missing`);
    }
  }
}

export function moduleFilePath(module: string, from: string): string {
  return from.startsWith('templates/') ? from : `modules/${module}/${from}`;
}
