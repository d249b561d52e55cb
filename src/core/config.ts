// SPDX-License-Identifier: GPL-2.0-or-later
// /etc/mkruckus.conf and /etc/mkruckus.conf.d/*.conf: `key = value` lines, read as data. The keys,
// their types and choices come from the option table (options.ts).
import { printable, quoted, UserError } from '../log.ts';
import { configKeys, findConfigKey, isChoice, optionField, type FileConfig, type OptionSpec } from './options.ts';

export type { FileConfig } from './options.ts';

const TRUE = ['yes', 'true', '1', 'on'];
const FALSE = ['no', 'false', '0', 'off'];

/**
 * Parses one file into `into`, so that files read in order layer: a later scalar replaces an earlier
 * one, `append` lists (add, omit) accumulate, a `replace` list (modules) is replaced by `=` and
 * extended by `+=`. Every error names the file and line: values are checked here, not only later.
 */
export function parseConfig(text: string, file: string, into: FileConfig = {}): FileConfig {
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${i + 1}`;
    const m = /^([A-Za-z][A-Za-z0-9-]*)\s*(\+?=)\s*(.*)$/.exec(line);
    if (!m) throw new UserError(`${where}: expected key = value, got: ${printable(line)}`);
    const [, key = '', op = '=', rawValue = ''] = m;
    const option = findConfigKey(key);
    if (!option) throw new UserError(`${where}: unknown key ${quoted(key)}; known keys: ${configKeys().join(', ')}`);
    setValue(into as Record<string, unknown>, option, op, unquote(rawValue.trim()), where);
  });
  return into;
}

function setValue(into: Record<string, unknown>, o: OptionSpec, op: string, value: string, where: string): void {
  const key = o.config ?? o.name;
  if (op === '+=' && o.type !== 'list') throw new UserError(`${where}: '+=' needs a list key; ${key} takes one value`);
  if (o.type === 'string' && value === '') throw new UserError(`${where}: ${key} needs a value`);
  const items = o.type === 'list' ? value.split(/[\s,]+/).filter(Boolean) : [];
  if (!isChoice(o, o.type === 'list' ? items : value)) {
    throw new UserError(`${where}: invalid ${key} ${quoted(value)}; expected one of: ${o.choices?.join(', ')}`);
  }
  const field = optionField(o.name);
  const earlier = (into[field] as string[] | undefined) ?? [];
  const parsed =
    o.type === 'boolean' ? parseBoolean(key, value, where)
    : o.type === 'string' ? value
    : op === '+=' || o.merge === 'append' ? [...earlier, ...items]
    : items;
  into[field] = parsed;
  // One of an exclusive pair (ucode / no-ucode) set later replaces the other, as a scalar would.
  if (o.conflicts !== undefined && parsed !== false) delete into[optionField(o.conflicts)];
}

function parseBoolean(key: string, value: string, where: string): boolean {
  const v = value.toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new UserError(`${where}: invalid ${key} ${quoted(value)}; expected one of: ${[...TRUE, ...FALSE].join(', ')}`);
}

function unquote(value: string): string {
  const m = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return m ? (m[1] ?? '') : value;
}
