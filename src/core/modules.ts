// SPDX-License-Identifier: GPL-2.0-or-later
// The module graph: which modules a build uses and in what order (dependencies first).
import { UserError } from '../log.ts';
import type { ModuleManifest } from './module.ts';

export interface ModuleSelection {
  /** the default set, replaced entirely by --modules */
  defaults: string[];
  modules?: string[];
  add?: string[];
  omit?: string[];
}

/** Resolves the selection against the registry; returns manifests ordered dependencies-first. */
export function resolveModules(
  registry: ReadonlyMap<string, ModuleManifest>,
  selection: ModuleSelection,
): ModuleManifest[] {
  const omit = new Set(selection.omit ?? []);
  const wanted = [...(selection.modules ?? selection.defaults), ...(selection.add ?? [])];
  for (const name of [...wanted, ...omit]) requireModule(registry, name, 'requested');
  const ordered: ModuleManifest[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const mark = state.get(name);
    if (mark === 'done') return;
    if (mark === 'visiting') {
      throw new UserError(`module dependency cycle: ${[...path, name].join(' -> ')}`);
    }
    const manifest = requireModule(registry, name, path.at(-1) ?? 'requested');
    if (omit.has(name)) {
      const by = path.at(-1);
      if (by) throw new UserError(`module '${by}' depends on omitted module '${name}'`);
      return;
    }
    state.set(name, 'visiting');
    for (const dep of [...(manifest.depends ?? [])].sort()) visit(dep, [...path, name]);
    state.set(name, 'done');
    ordered.push(manifest);
  };
  for (const name of [...new Set(wanted)].sort()) visit(name, []);
  return ordered;
}

function requireModule(
  registry: ReadonlyMap<string, ModuleManifest>,
  name: string,
  by: string,
): ModuleManifest {
  const manifest = registry.get(name);
  if (!manifest) {
    const known = [...registry.keys()].sort().join(', ');
    const who = by === 'requested' ? '' : ` (needed by '${by}')`;
    throw new UserError(`unknown module '${name}'${who}; available: ${known}`);
  }
  return manifest;
}

/**
 * What the resolved modules `want` (and the selection neither has nor omits) that `usable` accepts:
 * the host decides, by whether the base has the module's binaries. Names outside the registry are
 * an error, like a dependency's.
 */
export function wantedModules(
  registry: ReadonlyMap<string, ModuleManifest>,
  resolved: readonly ModuleManifest[],
  selection: ModuleSelection,
  usable: (m: ModuleManifest) => boolean,
): string[] {
  const skip = new Set([...resolved.map((m) => m.name), ...(selection.omit ?? [])]);
  const out = new Set<string>();
  for (const m of resolved) {
    for (const name of m.wants ?? []) {
      const wanted = requireModule(registry, name, m.name);
      if (!skip.has(name) && usable(wanted)) out.add(name);
    }
  }
  return [...out].sort();
}
