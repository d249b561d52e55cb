// SPDX-License-Identifier: GPL-2.0-or-later
// Reads /etc/mkruckus.conf and /etc/mkruckus.conf.d/*.conf (in name order) under --base, through the
// base resolver. A file-valued key in a base's conf names a file of that base: it is resolved inside
// the base here, so `ucode = /etc/shadow` reads BASE/etc/shadow (or fails), never the host's.
// Only a file that is not there at all is skipped: one that is there but cannot be read (a dangling
// link, no permission, conf.d not a directory) is an error, since silently building without the
// settings the administrator wrote gives an image that differs from the one they asked for.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type FileConfig } from '../core/config.ts';
import { OPTIONS, optionField } from '../core/options.ts';
import { parseInclude } from '../core/request.ts';
import { errnoWords, UserError } from '../log.ts';
import { BaseFs } from './base.ts';

const FILE_KEYS = OPTIONS.filter((o) => 'complete' in o && o.complete === 'file' && 'config' in o).map((o) => o.name);
const CONF = '/etc/mkruckus.conf';
const CONF_D = '/etc/mkruckus.conf.d';

export function readConfigFiles(base: string): FileConfig {
  const fs = new BaseFs(base);
  const config: FileConfig = {};
  for (const name of [CONF, ...confDNames(fs)]) {
    const text = readConfFile(fs, name);
    if (text !== undefined) parseConfig(text, join(base, name), config);
  }
  return confineFileKeys(fs, config);
}

/** `*.conf` in conf.d, sorted; none when conf.d is not there at all. */
function confDNames(fs: BaseFs): string[] {
  const st = fs.stat(CONF_D);
  if (!st) {
    if (fs.lstat(CONF_D)) throw new UserError(`${fs.hostPath(CONF_D)} is a dangling symbolic link (in base ${fs.root})`);
    return [];
  }
  if (!st.isDirectory()) throw new UserError(`${fs.hostPath(CONF_D)} is not a directory`);
  const where = fs.resolve(CONF_D)?.path ?? CONF_D;
  try {
    accessSync(fs.hostPath(where), constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new UserError(`cannot read ${fs.hostPath(CONF_D)}: ${errnoWords(err) ?? (err as Error).message}`);
  }
  return fs.readdir(CONF_D).filter((n) => n.endsWith('.conf')).map((n) => `${CONF_D}/${n}`);
}

/** The file's text; undefined only when nothing is at that name. */
function readConfFile(fs: BaseFs, name: string): string | undefined {
  if (!fs.lstat(name)) return undefined;
  const resolved = fs.resolve(name);
  if (!resolved || !fs.lstat(resolved.path)) throw new UserError(`${fs.hostPath(name)} is a dangling symbolic link (in base ${fs.root})`);
  try {
    accessSync(fs.hostPath(resolved.path), constants.R_OK);
  } catch (err) {
    throw new UserError(`cannot read ${fs.hostPath(name)}: ${errnoWords(err) ?? (err as Error).message}`);
  }
  return fs.readFile(name).toString('utf8');
}

/** Each file-valued key → the host path of that file inside the base (a regular file, or an error). */
function confineFileKeys(fs: BaseFs, config: FileConfig): FileConfig {
  const out = config as Record<string, unknown>;
  for (const name of FILE_KEYS) {
    const field = optionField(name);
    const value = out[field];
    if (typeof value !== 'string') continue;
    const resolved = fs.resolveFile(value);
    if (!resolved) throw new UserError(`${name} = ${value} in the base's mkruckus.conf: not found in base ${fs.root}`);
    out[field] = fs.hostPath(resolved.path);
  }
  // `include` items name files of the base; DST keeps the path as written (SRC's default).
  const includes = out.include;
  if (Array.isArray(includes)) {
    out.include = includes.map((value: string) => {
      const { src, dst } = parseInclude(value);
      if (!src.startsWith('/')) throw new UserError(`include = ${value} in the base's mkruckus.conf: SRC must be an absolute path of the base`);
      const resolved = fs.resolve(src);
      if (!resolved) throw new UserError(`include = ${value} in the base's mkruckus.conf: ${src} not found in base ${fs.root}`);
      return `${fs.hostPath(resolved.path)}:${dst}`;
    });
  }
  return config;
}
