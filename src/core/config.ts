// SPDX-License-Identifier: GPL-2.0-or-later
// /etc/mkruckus.conf and /etc/mkruckus.conf.d/*.conf: `key = value` lines, read as data.
import { UserError } from '../log.ts';
import { COMPRESSIONS, SECOND_STAGES } from './request.ts';

export interface FileConfig {
  compress?: string;
  modules?: string[];
  add?: string[];
  omit?: string[];
  secondStage?: string;
  ucode?: string;
  noUcode?: boolean;
}

const LIST_KEYS = new Set(['modules', 'add', 'omit']);
// Checked here, not only in buildRequest, so that a bad value names the file and line it came from.
const CHOICES: Record<string, readonly string[]> = { compress: COMPRESSIONS, 'second-stage': SECOND_STAGES };
const KEYS: Record<string, keyof FileConfig> = {
  compress: 'compress',
  modules: 'modules',
  add: 'add',
  omit: 'omit',
  'second-stage': 'secondStage',
  ucode: 'ucode',
  'no-ucode': 'noUcode',
};

/** Parses one file. Lists (`add`, `omit`) accumulate across files; scalars are replaced. */
export function parseConfig(text: string, file: string, into: FileConfig = {}): FileConfig {
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z-]+)\s*(\+?=)\s*(.*)$/.exec(line);
    if (!m) throw new UserError(`${file}:${i + 1}: expected key = value, got: ${line}`);
    const [, key = '', op, rawValue = ''] = m;
    const field = KEYS[key];
    if (!field) throw new UserError(`${file}:${i + 1}: unknown key '${key}'`);
    const value = unquote(rawValue.trim());
    const choices = CHOICES[key];
    if (choices && !choices.includes(value)) {
      throw new UserError(`${file}:${i + 1}: invalid ${key} '${value}'; expected one of: ${choices.join(', ')}`);
    }
    if (field === 'noUcode') into.noUcode = /^(1|yes|true)$/i.test(value);
    else if (LIST_KEYS.has(key)) {
      const items = value.split(/[\s,]+/).filter(Boolean);
      const list = field as 'modules' | 'add' | 'omit';
      into[list] = op === '+=' || list !== 'modules' ? [...(into[list] ?? []), ...items] : items;
    } else into[field as 'compress' | 'secondStage' | 'ucode'] = value;
  });
  return into;
}

function unquote(value: string): string {
  const m = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return m ? (m[1] ?? '') : value;
}
