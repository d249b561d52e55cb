// SPDX-License-Identifier: GPL-2.0-or-later
// The only place that knows where modules/ and templates/ come from: a generated map, inlined into
// the compiled binary (scripts/gen-assets.ts), so the binary needs no files beside it.
import { ASSETS, MODULES } from './generated/assets.ts';
import type { ModuleManifest } from './core/module.ts';

export function moduleRegistry(): Map<string, ModuleManifest> {
  return new Map(MODULES.map((m) => [m.name, m]));
}

/** The text of `modules/...` or `templates/...`, or undefined. */
export function readAsset(path: string): string | undefined {
  return ASSETS[path];
}
