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

async function binaryItems(m: ModuleManifest, base: BaseFs): Promise<StageItem[]> {
  const required = m.binaries?.length ? (await resolveBinaries(base, m.binaries)).items : [];
  if (!m.optionalBinaries?.length) return required;
  const optional = await resolveBinaries(base, m.optionalBinaries, { optional: true });
  for (const name of optional.missing) warn(`module '${m.name}': optional binary ${name} not in the base`);
  return [...required, ...optional.items];
}

export async function collectModuleItems(
  m: ModuleManifest,
  base: BaseFs,
  ctx: PlanContext,
): Promise<StageItem[]> {
  const [binaries, planned] = await Promise.all([binaryItems(m, base), m.plan?.(ctx) ?? []]);
  return [...fileItems(m), ...hookItems(m), ...binaries, ...planned];
}
