// SPDX-License-Identifier: GPL-2.0-or-later
// Reads /etc/mkruckus.conf and /etc/mkruckus.conf.d/*.conf (in name order) under --base, through the
// base resolver. A file-valued key in a base's conf names a file of that base: it is resolved inside
// the base here, so `ucode = /etc/shadow` reads BASE/etc/shadow (or fails), never the host's.
import { join } from 'node:path';
import { parseConfig, type FileConfig } from '../core/config.ts';
import { OPTIONS, optionField } from '../core/options.ts';
import { parseInclude } from '../core/request.ts';
import { UserError } from '../log.ts';
import { BaseFs } from './base.ts';

const FILE_KEYS = OPTIONS.filter((o) => 'complete' in o && o.complete === 'file' && 'config' in o).map((o) => o.name);

export function readConfigFiles(base: string): FileConfig {
  const fs = new BaseFs(base);
  const names = ['/etc/mkruckus.conf', ...fs.readdir('/etc/mkruckus.conf.d').filter((n) => n.endsWith('.conf')).map((n) => `/etc/mkruckus.conf.d/${n}`)];
  const config: FileConfig = {};
  for (const name of names) {
    const text = fs.readOptional(name);
    if (text !== undefined) parseConfig(text.toString('utf8'), join(base, name), config);
  }
  return confineFileKeys(fs, config);
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
