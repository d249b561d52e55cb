// SPDX-License-Identifier: GPL-2.0-or-later
// A module manifest → the staging items it contributes (reads embedded assets and the base).
import type { ModuleManifest, PlanContext } from '../core/module.ts';
import { hookInstallPath } from '../core/render.ts';
import type { StageItem } from '../core/stage.ts';
import { moduleFilePath } from '../core/validate.ts';
import { warn } from '../log.ts';
import type { BaseFs } from './base.ts';
import { resolveBinaries } from './binaries.ts';
import { readModuleAsset } from './external-modules.ts';

const encoder = new TextEncoder();

function assetBytes(path: string): Uint8Array {
  const text = readModuleAsset(path);
  if (text === undefined) throw new Error(`embedded asset missing: ${path}`);
  return encoder.encode(text);
}

function fileItems(m: ModuleManifest): StageItem[] {
  return (m.files ?? []).map((f) => ({
    kind: 'bytes',
    path: f.to,
    mode: f.mode ?? 0o644,
    data: f.text !== undefined ? encoder.encode(f.text) : assetBytes(moduleFilePath(m.name, f.from!)),
  }));
}

function hookItems(m: ModuleManifest): StageItem[] {
  return Object.entries(m.hooks ?? {}).flatMap(([phase, files]) =>
    (files ?? []).map(
      (file): StageItem => ({
        kind: 'bytes',
        path: hookInstallPath(phase, m.name, file),
        mode: 0o644,
        data: assetBytes(`modules/${m.name}/hooks/${file}`),
      }),
    ),
  );
}

/** Resolves `names`; with `cold`, their files are marked so (the binaries themselves as `binary`). */
async function resolveGroup(m: ModuleManifest, base: BaseFs, names: string[], optional: boolean, cold: boolean): Promise<StageItem[]> {
  if (!names.length) return [];
  const r = await resolveBinaries(base, names, { optional });
  for (const name of r.missing) warn(`module '${m.name}': optional binary ${name} not in the base`);
  if (!cold) return r.items;
  // a stub stands in only for an executable run by name, never for a library something may load
  const runnable = (item: StageItem) => item.kind === 'file' && r.found.includes(item.path) && (item.mode & 0o111) !== 0;
  return r.items.map((item) => (item.kind === 'file' ? { ...item, cold: runnable(item) ? 'binary' : 'part' } : item));
}

async function binaryItems(m: ModuleManifest, base: BaseFs): Promise<StageItem[]> {
  const cold = new Set(m.coldBinaries ?? []);
  const groups = [
    [m.binaries ?? [], false],
    [m.optionalBinaries ?? [], true],
  ] as const;
  const lists = await Promise.all(groups.flatMap(([names, optional]) => [
    resolveGroup(m, base, names.filter((n) => !cold.has(n)), optional, false),
    resolveGroup(m, base, names.filter((n) => cold.has(n)), optional, true),
  ]));
  return lists.flat();
}

export async function collectModuleItems(
  m: ModuleManifest,
  base: BaseFs,
  ctx: PlanContext,
): Promise<StageItem[]> {
  const [binaries, planned] = await Promise.all([binaryItems(m, base), m.plan?.(ctx) ?? []]);
  return [...fileItems(m), ...hookItems(m), ...binaries, ...planned];
}
