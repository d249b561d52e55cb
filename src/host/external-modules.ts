// SPDX-License-Identifier: GPL-2.0-or-later
// Modules shipped by packages, found at run time: /usr/lib/mkruckus/modules.d/NAME/ and (winning
// over it, as systemd's /etc does over /usr/lib) /etc/mkruckus/modules.d/NAME/, under --base. The
// manifest is data, `module.json`, not TypeScript: built-in manifests are compiled into the binary,
// and loading code from a base would execute the base (and a compiled binary cannot import .ts).
// The JSON holds the declarative fields of a manifest (no `plan()`); hooks and files are read
// through the base resolver and validated exactly like the built-in ones (validateManifest).
import { readAsset } from '../assets.ts';
import { HOOK_PHASES, type ModuleFile, type ModuleManifest } from '../core/module.ts';
import { UserError } from '../log.ts';
import type { BaseFs } from './base.ts';

export const MODULE_DIRS = ['/usr/lib/mkruckus/modules.d', '/etc/mkruckus/modules.d'];
const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
const LISTS = ['depends', 'kernelModules', 'coldKernelModules', 'bootKernelModules', 'kernelModulesNotInEveryKernel', 'binaries', 'optionalBinaries', 'coldBinaries', 'params', 'overrides'] as const;

/** Text of external modules' files, keyed like embedded assets (`modules/NAME/hooks/X`). */
const externalAssets = new Map<string, string>();

/** An embedded asset, or a file of an external module read for this build. */
export function readModuleAsset(path: string): string | undefined {
  return readAsset(path) ?? externalAssets.get(path);
}

function stringList(v: unknown, where: string, key: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new UserError(`${where}: '${key}' must be a list of strings`);
  return v as string[];
}

function parseFiles(v: unknown, where: string): ModuleFile[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new UserError(`${where}: 'files' must be a list of {from, to, mode}`);
  return v.map((f: { from?: unknown; to?: unknown; mode?: unknown }) => {
    if (typeof f?.from !== 'string' || typeof f.to !== 'string' || !f.to.startsWith('/') || f.from.includes('..') || f.from.startsWith('/')) {
      throw new UserError(`${where}: each file needs 'from' (a path in the module directory) and an absolute 'to'`);
    }
    if (f.mode !== undefined && (typeof f.mode !== 'number' || f.mode < 0 || f.mode > 0o777)) throw new UserError(`${where}: file ${f.from}: 'mode' must be 0..0o777 (a number)`);
    return { from: f.from, to: f.to, ...(f.mode === undefined ? {} : { mode: f.mode }) };
  });
}

/** module.json → a manifest; every field checked, unknown ones refused (a typo must not pass silently). */
export function parseModuleJson(text: string, name: string, where: string): ModuleManifest {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${where}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new UserError(`${where}: expected a JSON object`);
  const known = new Set<string>(['name', 'description', 'files', 'hooks', 'firstStage', ...LISTS]);
  const unknown = Object.keys(j).find((k) => !known.has(k));
  if (unknown) throw new UserError(`${where}: unknown key '${unknown}'`);
  if (j.name !== name) throw new UserError(`${where}: 'name' must be the directory's name, '${name}'`);
  if (typeof j.description !== 'string') throw new UserError(`${where}: 'description' (a string) is required`);
  const m: ModuleManifest = { name, description: j.description };
  for (const key of LISTS) {
    const list = stringList(j[key], where, key);
    if (list) m[key] = list;
  }
  const files = parseFiles(j.files, where);
  if (files) m.files = files;
  if (j.firstStage !== undefined) {
    if (typeof j.firstStage !== 'boolean') throw new UserError(`${where}: 'firstStage' must be true or false`);
    m.firstStage = j.firstStage;
  }
  if (j.hooks !== undefined) {
    if (typeof j.hooks !== 'object' || j.hooks === null) throw new UserError(`${where}: 'hooks' must map phases (${HOOK_PHASES.join(', ')}) to hook files`);
    m.hooks = Object.fromEntries(Object.entries(j.hooks).map(([phase, list]) => [phase, stringList(list, where, `hooks.${phase}`) ?? []]));
  }
  return m;
}

/** The external modules of the base, read (manifest, hooks, files) through the base resolver. */
export function readExternalModules(base: BaseFs, builtin: ReadonlySet<string>): ModuleManifest[] {
  const found = new Map<string, { dir: string; m: ModuleManifest }>();
  for (const root of MODULE_DIRS) {
    for (const name of base.readdir(root)) {
      const dir = `${root}/${name}`;
      if (!base.stat(dir)?.isDirectory()) continue;
      if (!NAME_RE.test(name)) throw new UserError(`${dir} in base ${base.root}: a module name is lower-case letters, digits and '-'`);
      if (builtin.has(name)) throw new UserError(`${dir} in base ${base.root}: '${name}' is a built-in module`);
      const json = base.readOptional(`${dir}/module.json`);
      if (!json) throw new UserError(`${dir} in base ${base.root}: no module.json`);
      found.set(name, { dir, m: parseModuleJson(json.toString('utf8'), name, `${dir}/module.json`) });
    }
  }
  for (const { dir, m } of found.values()) {
    const wanted = [...Object.values(m.hooks ?? {}).flat().map((f) => `hooks/${f}`), ...(m.files ?? []).map((f) => f.from!)];
    for (const rel of wanted) {
      if (!/^[A-Za-z0-9._/-]+$/.test(rel) || rel.includes('..')) throw new UserError(`${dir}: bad file name '${rel}'`);
      const data = base.readOptional(`${dir}/${rel}`);
      if (data) externalAssets.set(`modules/${m.name}/${rel}`, data.toString('utf8'));
    }
  }
  return [...found.values()].map((f) => f.m);
}
