// SPDX-License-Identifier: GPL-2.0-or-later
// The --rescue-shell image files: with `password`, root's entry comes from the base's /etc/shadow,
// read through the base's resolver (never the host's file through a link).
import { rescueItems, rootShadowEntry, type RescuePolicy } from '../core/rescue.ts';
import type { StageItem } from '../core/stage.ts';
import type { BaseFs } from './base.ts';

export function readRescueItems(policy: RescuePolicy, base: BaseFs, baseDir: string): StageItem[] {
  if (policy !== 'password') return rescueItems(policy);
  const where = `${baseDir.replace(/\/$/, '')}/etc/shadow`;
  return rescueItems(policy, rootShadowEntry(base.readOptional('/etc/shadow')?.toString('utf8'), where));
}
